"""Reproducible PDFs: the same sources and SOURCE_DATE_EPOCH give byte-identical files from separate processes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bookgen import generate_book
from conftest import run_cli

EPOCH = "1780000000"  # 2026-05-28 20:26:40 UTC


def test_same_sources_same_epoch_same_pdf(tmp_path: Path) -> None:
    import pymupdf

    book = generate_book(tmp_path / "manuscript", chapters=3, paragraphs=4, parts=1)
    outs = [tmp_path / "first", tmp_path / "second"]

    def build(out: Path) -> bytes:
        # Separate processes: different hash seeds, different temporary names, different start times.
        result = run_cli("build", str(book), "-o", str(out), "--format", "pdf", env={"SOURCE_DATE_EPOCH": EPOCH}, timeout=240)
        assert result.returncode == 0, result.stderr
        (pdf,) = out.glob("*.pdf")
        return pdf.read_bytes()

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(build, outs)
    assert first == second
    with pymupdf.open(stream=first, filetype="pdf") as doc:
        meta = doc.metadata
    # The dates come from SOURCE_DATE_EPOCH, not the clock.
    assert meta["creationDate"].startswith("D:20260528202640")
    assert meta["modDate"].startswith("D:20260528202640")
