"""A build commits its outputs together: a failure (strict check included) or an interrupt never mixes old and new."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bookmaker import output
from bookmaker.errors import OutputError
from bookmaker.layoutcache import CACHE_NAME
from bookmaker.output import JOURNAL_NAME, STAGING_PREFIX, Interrupted, Staging, recover_commits
from conftest import REPO, run_cli, write_book

EPOCH = {"SOURCE_DATE_EPOCH": "1780000000"}
YAML = "title: Old Roads\nauthor: Mara Quill\nlanguage: en\ndate: 2026-02-01\n"
OLD = {"old-roads.pdf": b"%PDF-1.7 the previous print edition", "old-roads.epub": b"PK the previous ebook"}


def _seed(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, data in OLD.items():
        (out / name).write_bytes(data)


def _assert_old(out: Path) -> None:
    for name, data in OLD.items():
        assert (out / name).read_bytes() == data, name
    # Nothing else left behind; the layout cache (a folder of laid-out sections, README) may stay.
    assert sorted(p.name for p in out.iterdir() if p.name != CACHE_NAME) == sorted(OLD), "nothing else left behind"


def test_strict_failure_keeps_the_old_outputs(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"book.yaml": YAML, "a.md": "# One\n\nA claim.[^gone]\n"})
    out = tmp_path / "out"
    _seed(out)
    result = run_cli("build", str(book), "-o", str(out), "--format", "epub", "--strict", env=EPOCH, timeout=120)
    assert result.returncode == 6, result.stderr
    assert "previous outputs were left untouched" in result.stderr
    _assert_old(out)


def test_failure_in_the_epub_stage_keeps_the_old_pdf(tmp_path: Path) -> None:
    """The PDF is laid out first; an EPUB theme template that fails must not leave a new PDF beside the old EPUB."""
    book = write_book(tmp_path / "book", {
        "book.yaml": YAML + "styles: theme\n",
        "a.md": "# One\n\nText.\n",
        "theme/templates/titlepage.xhtml.j2": "{% include 'missing-part.j2' %}\n",
    })
    out = tmp_path / "out"
    _seed(out)
    result = run_cli("build", str(book), "-o", str(out), env=EPOCH, timeout=300)
    assert "Traceback" not in result.stderr
    assert result.returncode == 4, result.stderr
    assert "titlepage.xhtml.j2" in result.stderr and "missing-part.j2" in result.stderr, result.stderr
    _assert_old(out)


def _staged(tmp_path: Path) -> tuple[Path, Staging]:
    out = tmp_path / "out"
    _seed(out)
    staging = Staging(out)
    for name in OLD:
        (staging.dir / name).write_bytes(b"new " + name.encode())
    return out, staging


def test_interrupt_during_the_commit_completes_it_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, staging = _staged(tmp_path)
    real_replace = os.replace

    def replace_then_ctrl_c(src: Path, dst: Path) -> None:
        real_replace(src, dst)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C right after the first output's rename

    monkeypatch.setattr(output.os, "replace", replace_then_ctrl_c)
    with pytest.raises(Interrupted, match="holds the new outputs"):
        staging.commit(sorted(OLD))
    staging.close()
    monkeypatch.undo()
    for name in OLD:
        assert (out / name).read_bytes() == b"new " + name.encode()
    assert sorted(p.name for p in out.iterdir()) == sorted(OLD)


def test_failed_rename_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, staging = _staged(tmp_path)
    real_replace = os.replace
    calls = []

    def second_fails(src: Path, dst: Path) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", second_fails)
    with pytest.raises(OutputError, match="previous ones were restored"):
        staging.commit(sorted(OLD))
    monkeypatch.undo()
    staging.close()
    _assert_old(out)


_KILL_MIDWAY = """
import os, sys
from pathlib import Path
from bookmaker import output
out = Path(sys.argv[1])
staging = output.Staging(out)
for name in sys.argv[2:]:
    (staging.dir / name).write_bytes(b"new " + name.encode())
real = os.replace
def replace_then_die(src, dst):
    real(src, dst)
    if Path(dst).parent == out:
        os._exit(9)  # like SIGKILL or a power cut: no cleanup runs
output.os.replace = replace_then_die
staging.commit(sys.argv[2:])
"""


def test_a_commit_killed_midway_is_completed_by_the_next_build(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _seed(out)
    names = sorted(OLD)
    killed = subprocess.run([sys.executable, "-c", _KILL_MIDWAY, str(out), *names], cwd=REPO, capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    # Half done: one new, one old, and the journal that says what to finish.
    assert (out / names[0]).read_bytes().startswith(b"new ")
    assert (out / names[1]).read_bytes() == OLD[names[1]]
    (journal,) = out.glob(f"{STAGING_PREFIX}*/{JOURNAL_NAME}")
    assert json.loads(journal.read_text())["files"] == names
    messages = recover_commits(out)
    assert len(messages) == 1 and "completed it" in messages[0], messages
    for name in names:
        assert (out / name).read_bytes() == b"new " + name.encode()
    assert sorted(p.name for p in out.iterdir()) == names


def test_a_commit_that_cannot_be_completed_is_rolled_back(tmp_path: Path) -> None:
    out, staging = _staged(tmp_path)
    names = sorted(OLD)
    # As a killed commit would leave it, then the staged files lost (someone cleaned up by hand).
    (staging.dir / "old").mkdir()
    for name in names:
        os.link(out / name, staging.dir / "old" / name)
    output._write_journal(staging.dir, names)
    os.replace(staging.dir / names[0], out / names[0])
    (staging.dir / names[1]).unlink()
    (out / names[1]).unlink()
    os.close(staging._fd)  # the build is gone: its lock with it
    staging._fd = None
    messages = recover_commits(out)
    assert len(messages) == 1 and "restored the previous" in messages[0], messages
    _assert_old(out)


def test_a_running_build_staging_folder_is_left_alone(tmp_path: Path) -> None:
    out, staging = _staged(tmp_path)
    assert recover_commits(out) == []
    assert staging.dir.is_dir()
    staging.close()
    assert not staging.dir.exists()


def _file_size_limit() -> None:
    # A tiny file-size limit with SIGXFSZ ignored makes writes fail with EFBIG, as a full disk fails with ENOSPC.
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def test_a_full_disk_is_an_output_error(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"book.yaml": YAML, "a.md": "# One\n\n" + "Words on a page. " * 800 + "\n"})
    out = tmp_path / "out"
    _seed(out)
    result = subprocess.run(
        [sys.executable, "-m", "bookmaker", "build", str(book), "-o", str(out), "--format", "epub"],
        cwd=tmp_path, capture_output=True, text=True, preexec_fn=_file_size_limit, env={**os.environ, **EPOCH}, timeout=120,
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 5, result.stderr
    assert "out: cannot write the outputs" in result.stderr, result.stderr
    _assert_old(out)


def test_an_output_name_taken_by_a_folder(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"book.yaml": YAML, "a.md": "# One\n\nText.\n"})
    out = tmp_path / "out"
    (out / "old-roads.epub").mkdir(parents=True)
    result = run_cli("build", str(book), "-o", str(out), "--format", "epub", cwd=tmp_path, timeout=120)
    assert result.returncode == 5, result.stderr
    assert "out/old-roads.epub: cannot write the output: a folder has this name" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["old-roads.epub"]


def test_empty_output_option_is_a_usage_error(tmp_path: Path) -> None:
    book = write_book(tmp_path / "book", {"book.yaml": YAML, "a.md": "# One\n\nText.\n"})
    result = run_cli("build", str(book), "-o", "", "--format", "epub", cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "'-o' / '--output': is empty" in result.stderr
    assert not list(tmp_path.glob("*.epub"))
