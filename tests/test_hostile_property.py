"""Property test (issue 14, class 3): random book.yaml and Markdown never end in exit 1 or a traceback.

``build`` (EPUB only, to stay fast), ``check`` and ``stats`` are run in-process through the CLI
on manuscripts made of YAML-ish and Markdown-ish fragments, hostile characters included.  Any
outcome is fine but one: exit 1 ("unexpected error") or an exception that escaped the CLI.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookmaker.cli import main

YAML_PIECES = [
    "title", "author", "language", "subtitle", "date", "contents", "limits", "pdf", "slug", "notes", "kind",
    ": ", ":", "- ", "[", "]", "{", "}", "&a ", "*a", "!!python/object ", "!!binary ", "? ", "|", ">", "'", '"',
    "#", ",", "%YAML 1.1", "---", "...", "\n", "\n  ", "\t", " ", "en", "No", "12:30", "007", "0x1F", "3.10",
    "2026-13-45", "~", "null", "\x00", "\x07", "\\ud800", "\u200b", "\ufeff", "a.md", "../x.md", "x" * 90,
]
MD_PIECES = [
    "# Title", "## Part", "text", "[^1]", "[^1]: note", "![", "](", "[", "]", "(", ")", "<", ">", "<svg>", "</svg>",
    "<use xlink:href=\"#a\"/>", "<math>", "<div>", "</div>", "<font>", "<script>", "{#contents}", "{.x}", "> ",
    "- ", "    - ", "1. ", "|", "---", "***", "`", "```", "\n", "\n\n", "\r", "\x00", "\x0b", "\u200d", "&#0;",
    "&bogus;", "<a href=\"javascript:x\">", "<img src=\"http://127.0.0.1:9/x.png\">", "\\75 rl(", "雷军",
]
yaml_text = st.lists(st.sampled_from(YAML_PIECES), max_size=30).map("".join)
md_text = st.lists(st.sampled_from(MD_PIECES), max_size=40).map("".join)
BASE_YAML = "title: Random\nauthor: R. Andom\nlanguage: en\n"


@contextmanager
def _logging_restored() -> Iterator[None]:
    """The CLI configures the 'bookmaker' loggers for its process (level, handlers, propagate);
    run in-process, that would silence the warnings later tests in this session count."""
    loggers = [logging.getLogger(name) for name in ("bookmaker", "weasyprint", "weasyprint.progress", "fontTools")]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    try:
        yield
    finally:
        for lg, level, handlers, propagate in saved:
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate = propagate


def _run(book: Path, out: Path, command: str) -> tuple[int, str, BaseException | None]:
    args = {"build": ["build", str(book), "-o", str(out), "--format", "epub", "-q"],
            "check": ["check", str(book), "-q"], "stats": ["stats", str(book)]}[command]
    with _logging_restored():
        result = CliRunner().invoke(main, args, catch_exceptions=True, env={"SOURCE_DATE_EPOCH": "1780000000"})
    escaped = result.exception if result.exception is not None and not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, escaped


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_extra=yaml_text, whole_yaml=st.booleans(), markdown=md_text, front=yaml_text)
def test_random_manuscripts_never_crash(yaml_extra: str, whole_yaml: bool, markdown: str, front: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "book"
        book.mkdir()
        config = yaml_extra if whole_yaml else BASE_YAML + yaml_extra
        (book / "book.yaml").write_bytes(config.encode("utf-8", "surrogatepass"))
        (book / "a.md").write_bytes((f"---\n{front}\n---\n" if front else "").encode("utf-8", "surrogatepass") + markdown.encode("utf-8", "surrogatepass"))
        for command in ("build", "check", "stats"):
            code, output, escaped = _run(book, Path(tmp) / "out", command)
            assert escaped is None, f"{command}: {escaped!r}\n{output}"
            assert code != 1, f"{command} exit 1:\n{output}"
            assert "Traceback" not in output, output
