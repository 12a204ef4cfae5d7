"""Outputs are never lost or half-written: atomic renames, interrupted builds, concurrent builds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bookgen import generate_book
from bookmaker import output
from bookmaker.output import atomic_output
from conftest import REPO, run_cli, write_book

EPOCH = {"SOURCE_DATE_EPOCH": "1780000000"}
OLD = {"a-generated-life.pdf": b"%PDF-1.7 the previous print edition", "a-generated-life.epub": b"PK the previous ebook"}


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- atomic_output ---------------------------------------------------------------------------------

def test_atomic_output_replaces_on_success(tmp_path: Path) -> None:
    target = tmp_path / "book.pdf"
    target.write_bytes(b"old")
    with atomic_output(target) as tmp:
        assert tmp.parent == target.parent  # same folder: os.replace is an atomic rename
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible before the end
    assert target.read_bytes() == b"new"
    assert _temporaries(tmp_path) == []
    assert (target.stat().st_mode & 0o777) == 0o644


@pytest.mark.parametrize("failure", [RuntimeError("crash in the renderer"), KeyboardInterrupt()])
def test_atomic_output_keeps_the_old_file_on_failure(failure: BaseException, tmp_path: Path) -> None:
    target = tmp_path / "book.pdf"
    target.write_bytes(b"old")
    with pytest.raises(type(failure)), atomic_output(target) as tmp:
        tmp.write_bytes(b"half a PDF")
        raise failure
    assert target.read_bytes() == b"old"
    assert _temporaries(tmp_path) == []


def test_atomic_output_temporary_names_are_unique(tmp_path: Path) -> None:
    target = tmp_path / "book.pdf"
    with atomic_output(target) as first, atomic_output(target) as second:
        assert first != second
        first.write_bytes(b"first")
        second.write_bytes(b"second")
    # The outer one finished last and wins; neither wrote over the other's temporary file.
    assert target.read_bytes() == b"first"
    assert _temporaries(tmp_path) == []


# -- a real build, interrupted during PDF rendering ------------------------------------------------

@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_interrupted_build_leaves_old_outputs(how: signal.Signals, tmp_path: Path) -> None:
    book = generate_book(tmp_path / "manuscript", chapters=10, paragraphs=10)
    out = tmp_path / "build"
    out.mkdir()
    for name, data in OLD.items():
        (out / name).write_bytes(data)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bookmaker", "build", str(book), "-o", str(out), "-v"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **EPOCH, "TMPDIR": str(scratch)},
    )
    seen: list[str] = []
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        seen.append(line)
        if "Laying out the print edition" in line or time.monotonic() > deadline:
            break
    time.sleep(0.5)
    assert proc.poll() is None, "the build ended before it could be interrupted:\n" + "".join(seen)
    proc.send_signal(how)
    _, rest = proc.communicate(timeout=60)
    stderr = "".join(seen) + rest
    if how in (signal.SIGINT, signal.SIGTERM):
        # Ctrl-C or kill: a clean message, the documented exit code, and the temporary files
        # removed, the workers' included.  130, or death by SIGINT (what a shell also shows as
        # 130): CPython re-raises the signal at exit when the interrupt landed inside code run
        # by a C extension (cffi, loading WeasyPrint).
        assert proc.returncode in (130, -signal.SIGINT), stderr
        assert "interrupted; previous outputs were left untouched" in stderr
        assert "Traceback" not in stderr
        assert sorted(p.name for p in scratch.iterdir()) == []
    else:
        assert proc.returncode == -signal.SIGKILL
    for name, data in OLD.items():
        assert (out / name).read_bytes() == data, name
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(OLD)
    assert _temporaries(out) == []


# -- two builds at once into the same folder -------------------------------------------------------

def test_concurrent_builds_do_not_corrupt_each_other(tmp_path: Path) -> None:
    """Two PDF builds of different books with one slug, at once, into one folder (the PDF is the big, slow write)."""
    books = {
        marker: write_book(tmp_path / marker, {
            "book.yaml": "title: Same Book\nauthor: Jane Doe\nlanguage: en\ndate: 2026-01-15\nslug: same\n",
            "a.md": f"# One\n\nThis is the {marker} edition.\n\n" + "A paragraph of text. " * 300 + "\n",
        })
        for marker in ("Alpha", "Bravo")
    }
    out = tmp_path / "build"

    def build(book: Path) -> subprocess.CompletedProcess[str]:
        return run_cli("build", str(book), "-o", str(out), "--format", "pdf", env=EPOCH, timeout=180)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(build, books.values()))
    for result in results:
        assert result.returncode == 0, result.stderr
    # No temporary file left (the layout cache, which the two builds share, stays).
    assert sorted(p.name for p in out.iterdir() if p.name != ".bookmaker-cache") == ["same.pdf"]

    # The output is whole and comes from one build, never a mix of two.
    import pymupdf

    with pymupdf.open(out / "same.pdf") as doc:
        assert not doc.is_repaired
        text = " ".join(page.get_text() for page in doc)
    assert ("Alpha edition" in text) != ("Bravo edition" in text), text[:500]


def test_stale_temporaries_are_removed_recent_ones_kept(tmp_path: Path) -> None:
    """A build killed during its write leaves a temporary file; a later build removes it once it is old."""
    from bookmaker.output import STALE_SECONDS, prepare_outdir

    with atomic_output(tmp_path / "book.pdf") as live:
        live.write_bytes(b"a build still running")
        stale = tmp_path / ".book.epub.k1ll3d_x.tmp"
        stale.write_bytes(b"left by kill -9")
        old = time.time() - STALE_SECONDS - 60
        os.utime(stale, (old, old))
        mine = tmp_path / ".notes.tmp"  # not ours: never touched
        mine.write_bytes(b"the author's")
        os.utime(mine, (old, old))
        prepare_outdir(tmp_path)
        assert live.exists() and not stale.exists() and mine.exists()


def test_a_starting_build_never_removes_a_staging_folder_being_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another build's clean-up runs in the moment between a staging folder's creation and its lock."""
    real_mkdtemp = output.tempfile.mkdtemp
    cleaners: list[threading.Thread] = []

    def mkdtemp_then_clean_up(*args: object, **kwargs: object) -> str:
        folder = real_mkdtemp(*args, **kwargs)
        cleaner = threading.Thread(target=output.recover_commits, args=(tmp_path,))
        cleaner.start()
        cleaner.join(timeout=0.5)  # without the output folder's lock held, it removes the folder now
        cleaners.append(cleaner)
        return folder

    monkeypatch.setattr(output.tempfile, "mkdtemp", mkdtemp_then_clean_up)
    staging = output.Staging(tmp_path)
    cleaners[0].join(timeout=10)
    assert not cleaners[0].is_alive()
    assert staging.dir.is_dir(), "the other build's clean-up removed a live staging folder"
    (staging.dir / "book.pdf").write_bytes(b"%PDF")
    assert staging.commit(["book.pdf"]) == [tmp_path / "book.pdf"]
    staging.close()
