"""Output conventions of every subcommand: help with an example, colour and progress only on a terminal, --watch."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import MINIMAL_YAML, REPO, run_cli, write_book

COMMANDS = ["build", "check", "new", "preview", "stats"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help_with_an_example(command):
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert "Example:" in result.stdout and f"bookmaker {command}" in result.stdout
    for option in ("--verbose", "--quiet"):
        assert option in result.stdout


def test_top_level_help_lists_the_workbench():
    result = run_cli("--help")
    for command in COMMANDS:
        assert f"  {command} " in result.stdout


class Terminal:
    """Run bookmaker with a pseudo-terminal as stdout and stderr, as in an interactive shell."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        master, slave = pty.openpty()
        full_env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
        full_env.update({"TERM": "xterm", "COLUMNS": "100"}, **(env or {}))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bookmaker", *args], cwd=REPO, stdin=slave, stdout=slave, stderr=slave, env=full_env
        )
        os.close(slave)
        self.master = master
        self.output = ""

    def read_until(self, text: str, timeout: float = 120, since: int = 0) -> str:
        """Read until ``text`` appears after position ``since`` of the output."""
        deadline = time.monotonic() + timeout
        while text not in self.output[since:]:
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} not seen in {self.output!r}")
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.output += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:  # the process ended and closed the terminal
                    if self.process.poll() is not None and text not in self.output[since:]:
                        pytest.fail(f"{text!r} not seen in {self.output!r}")
        return self.output

    def wait(self) -> int:
        code = self.process.wait(timeout=60)
        try:
            self.read_until("\x00", timeout=0.5)
        except pytest.fail.Exception:
            pass
        os.close(self.master)
        return code

    def stop(self) -> None:
        self.process.terminate()
        self.wait()


@pytest.fixture
def warned_book(make_book) -> Path:
    return make_book({"book.yaml": MINIMAL_YAML + "colour: blue\n", "01.md": "# One\n\nText.\n"})


def test_colour_on_a_terminal_unless_no_color(warned_book):
    plain = run_cli("check", str(warned_book))
    assert "warning: BM101" in plain.stdout and "\x1b[" not in plain.stdout + plain.stderr
    colour = Terminal("check", str(warned_book))
    assert colour.wait() == 0
    assert "\x1b[33m\x1b[1mwarning\x1b[0m: BM101" in colour.output
    no_colour = Terminal("check", str(warned_book), env={"NO_COLOR": "1"})
    assert no_colour.wait() == 0
    assert "warning: BM101" in no_colour.output and "\x1b[" not in no_colour.output


def test_quiet_prints_nothing_but_problems(warned_book, tmp_path):
    result = run_cli("build", str(warned_book), "-o", str(tmp_path / "out"), "--format", "pdf", "-q")
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr.startswith("warning: ") and "'colour': unknown key" in result.stderr


def test_watch_shows_progress_on_a_terminal_and_rebuilds_on_save(tmp_path):
    root = write_book(tmp_path / "manuscript", {"book.yaml": MINIMAL_YAML, "01.md": "# One\n\nText.\n"})
    out = tmp_path / "out"
    term = Terminal("build", str(root), "-o", str(out), "--format", "pdf", "--watch")
    try:
        term.read_until("watching ")
        # The progress line: stages and chapters, drawn in place, then erased.
        assert "\r\x1b[2K" in term.output and "Reading 01.md" in term.output
        assert "Laying out the print edition: page 1" in term.output
        first = (out / "a-small-life.pdf").stat().st_mtime_ns
        time.sleep(0.5)
        (root / "01.md").write_text("# One\n\nText, changed.\n", encoding="utf-8")
        before = len(term.output)
        term.read_until("changed: ", since=before)
        term.read_until("done in", since=before)
        assert (out / "a-small-life.pdf").stat().st_mtime_ns > first
    finally:
        term.stop()


def test_watch_keeps_running_after_a_failed_build(tmp_path):
    root = write_book(tmp_path / "manuscript", {"book.yaml": "title: [\n", "01.md": "# One\n"})
    process = subprocess.Popen(
        [sys.executable, "-m", "bookmaker", "build", str(root), "-o", str(tmp_path / "out"), "--watch"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert "book.yaml:2" in process.stderr.readline()
        assert process.stderr.readline().startswith("watching ")
        assert process.poll() is None
    finally:
        process.terminate()
        process.wait(timeout=30)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "progress", "colour"),
    [({}, True, True), ({"CI": "true"}, False, True), ({"NO_COLOR": "1"}, True, False), ({"TERM": "dumb"}, False, False)],
)
def test_progress_and_colour_rules(monkeypatch, env, progress, colour):
    from bookmaker.terminal import use_color, wants_progress

    for name in ("CI", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert wants_progress(FakeTerminal()) is progress
    assert use_color(FakeTerminal()) is colour
    assert not wants_progress(io.StringIO()) and not use_color(io.StringIO())


@pytest.mark.parametrize("args", [["preview", "nowhere"], ["build", "nowhere", "--watch"]])
def test_a_missing_manuscript_is_one_line_and_exit_3(tmp_path, args):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr == "error: nowhere: manuscript folder not found\n"
