"""The ``bookmaker`` command: parse arguments, call the pipeline, report, map errors to exit codes."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bookmaker import __version__
from bookmaker.errors import (
    EXIT_CONFIG,
    EXIT_MANUSCRIPT,
    EXIT_STRICT,
    EXIT_UNEXPECTED,
    BookmakerError,
    StrictModeError,
    display_path,
)
from bookmaker.log import WarningCounter, logger
from bookmaker.terminal import ProgressLine, use_color, wants_progress


class _Formatter(logging.Formatter):
    def __init__(self, color: bool) -> None:
        super().__init__()
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.WARNING:
            return f"{click.style('warning:', fg='yellow', bold=True) if self.color else 'warning:'} {record.getMessage()}"
        return record.getMessage()


def _setup_logging(verbose: int, quiet: bool, progress: bool = False) -> WarningCounter:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(use_color(sys.stderr)))
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    handler.setLevel(level)
    counter = WarningCounter()
    handlers: list[logging.Handler] = [handler, counter]
    logger.setLevel(min(level, logging.WARNING))
    progress_logger = logging.getLogger("weasyprint.progress")
    progress_logger.handlers[:] = []
    # -v already prints each stage as a line; a progress line on top would garble it.
    if progress and not quiet and not verbose and wants_progress(sys.stderr):
        line = ProgressLine(sys.stderr)
        handlers.insert(0, line)
        logger.setLevel(logging.DEBUG)
        progress_logger.setLevel(logging.INFO)
        progress_logger.addHandler(line)
        progress_logger.propagate = False
    logger.handlers[:] = handlers
    logger.propagate = False
    # WeasyPrint logs every CSS it does not support; only its errors concern the author.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return counter


def _clear_progress() -> None:
    for handler in logger.handlers:
        if isinstance(handler, ProgressLine):
            handler.clear()


def _error(message: str) -> None:
    label = click.style("error:", fg="red", bold=True) if use_color(sys.stderr) else "error:"
    click.echo(f"{label} {message}", err=True)


def _guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected errors into one line and their exit code; unexpected ones into a short report."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BookmakerError as exc:
            _clear_progress()
            _error(str(exc))
            sys.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            _clear_progress()
            # bookmaker.output.Interrupted says what the output folder holds when the commit was under way.
            _error(getattr(exc, "message", "interrupted; previous outputs were left untouched"))
            sys.exit(130)
        except MemoryError:
            # The machine, not bookmaker: 'limits: {max_memory_mb: N}' turns this into a named limit.
            _clear_progress()
            _error("out of memory: the book needs more than this machine allows (see 'limits:' in book.yaml)")
            sys.exit(EXIT_MANUSCRIPT)
        except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
            _clear_progress()
            if kwargs.get("debug"):
                traceback.print_exc()
            _error(f"unexpected {exc.__class__.__name__}: {exc} (run with --debug for a traceback)")
            sys.exit(EXIT_UNEXPECTED)

    return run


def _output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """-v, -q and --debug, the same for every subcommand."""
    command = click.option("--debug", is_flag=True, help="Show a traceback for unexpected errors.")(command)
    command = click.option("-q", "--quiet", is_flag=True, help="Only print warnings and errors.")(command)
    return click.option("-v", "--verbose", count=True, help="Show each stage (-vv for debug output).")(command)


_MANUSCRIPT = click.argument("manuscript", default="manuscript", type=click.Path(path_type=Path))


def _output_folder(value: str) -> Path:
    # An empty -o (an unset shell variable) would otherwise mean the current folder.
    if not value.strip():
        raise click.BadParameter("is empty; name the output folder, such as -o build")
    return Path(value)


def _parse_formats(value: str | None) -> tuple[str, ...] | None:
    from bookmaker.pipeline import ALL_FORMATS

    if value is None:
        return None  # the defaults: pdf,epub (and cover when pdf.printer is set)
    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in ALL_FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"expected a comma-separated list of {', '.join(ALL_FORMATS)}, got {value!r}")
    return formats


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bookmaker")
def main() -> None:
    """bookmaker: Markdown chapters in, a print-ready PDF and an EPUB 3 out.

    \b
    Start a book, write with a live preview, check it, build it:
      bookmaker new my-book && cd my-book
      bookmaker preview
      bookmaker check
      bookmaker build
    """
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (kill, a CI job's timeout) ends a build as Ctrl-C does: the previous outputs
        # stay, the workers stop and the temporary files go (by default the process would just
        # vanish, leaving the workers' folder of font copies behind).
        signal.signal(signal.SIGTERM, _terminated)
    _skip_final_collection()


@functools.cache
def _skip_final_collection() -> None:
    """Keep the interpreter's last garbage collection, at exit, off what the command made.

    At exit Python collects once more before it frees the modules, walking every object still
    alive (a whole Book, its trees, the EPUB): 0.06-0.1 s after a 40-chapter build has written
    and committed everything, a twentieth of a rebuild.  Frozen (``gc.freeze``) in an atexit
    handler, which runs before that collection, they are freed without it as the modules go.
    """
    import atexit
    import gc

    atexit.register(gc.freeze)


def _terminated(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


@main.command()
@_MANUSCRIPT
@click.option("-o", "--output", "outdir", default="build", callback=lambda _ctx, _param, value: _output_folder(value), help="Output folder (default: build/).")
@click.option("--format", "formats", default=None,
              help="Formats to build, comma-separated: pdf, epub, cover, kepub, kindle-epub (default: pdf,epub, plus cover when pdf.printer is set).")
@click.option("--strict", is_flag=True, help="Fail (exit 6) if any warning was reported.")
@click.option("--watch", is_flag=True, help="Build again each time a manuscript or style file is saved (Ctrl-C stops).")
@click.option("-j", "--jobs", "jobs", type=click.IntRange(min=1), default=None, help="Layout processes (default: one per core; 1 lays out in this process).")
@click.option("--no-cache", "no_cache", is_flag=True, help="Lay every chapter out afresh, and keep nothing for the next build.")
@_output_options
def build(manuscript: Path, outdir: Path, formats: str | None, strict: bool, watch: bool, jobs: int | None,
          no_cache: bool, verbose: int, quiet: bool, debug: bool) -> None:
    """Build the book in MANUSCRIPT (default: manuscript/) into OUT (default: build/).

    \b
    Example:
      bookmaker build manuscript -o build --format pdf,epub
      bookmaker build --format epub --watch
    """
    if jobs != 1 and (formats is None or "pdf" in formats):
        from bookmaker.pool import start_server

        # Before anything else is imported: the layout workers need WeasyPrint loaded.
        with contextlib.suppress(OSError):  # no worker processes: LayoutPool lays out here
            start_server()
    selected = _parse_formats(formats)
    if not watch:
        _guarded(_build_once)(manuscript, outdir, selected, strict, verbose, quiet, debug=debug, jobs=jobs,
                              cache=not no_cache)
        return
    from bookmaker.pool import LayoutPool
    from bookmaker.watch import iter_changes, watched_folders

    # One pool of layout workers for the session: they keep the parsed theme and its fonts.
    pool = LayoutPool(jobs, session=True)

    def attempt() -> None:
        try:
            # Each rebuild reads the layout cache in OUT/: only the chapters that changed are laid out.
            _guarded(_build_once)(manuscript, outdir, selected, strict, verbose, quiet, debug=debug, jobs=jobs,
                                  cache=not no_cache, pool=pool)
        except SystemExit as exit_:
            if exit_.code == 130:
                raise
            # Any other failure was printed; keep watching for the fix.

    try:
        attempt()
        if not manuscript.is_dir():
            sys.exit(EXIT_CONFIG)  # nothing to watch; the error was printed by the build
        click.echo(f"watching {display_path(manuscript)} for changes (Ctrl-C stops)", err=True)
        for changed in iter_changes(watched_folders(manuscript), ignore=[outdir]):
            if not quiet:
                names = ", ".join(sorted(display_path(p) for p in changed))
                click.echo(f"changed: {names}", err=True)
            attempt()
    finally:
        pool.close()


def _build_once(manuscript: Path, outdir: Path, formats: tuple[str, ...] | None, strict: bool, verbose: int, quiet: bool,
                debug: bool = False, jobs: int | None = None, cache: bool = True, pool: Any = None) -> None:
    from bookmaker.pipeline import build as run_build

    counter = _setup_logging(verbose, quiet, progress=True)

    def strict_check() -> None:
        # Before the commit: a strict failure leaves the previous outputs in place.
        if strict and counter.messages:
            raise StrictModeError(f"aborted: {len(counter.messages)} warning(s) in strict mode; the previous outputs were left untouched")

    result = run_build(manuscript, outdir, formats, before_commit=strict_check, cache=cache, workers=jobs, pool=pool)
    _clear_progress()
    if not quiet:
        for fmt, path in result.outputs.items():
            extra = f" ({result.pages} pages)" if fmt == "pdf" and result.pages else ""
            click.echo(f"wrote {display_path(path)}{extra}")
        click.echo(f"done in {result.seconds:.1f} s")


@main.command()
@_MANUSCRIPT
@click.option("--strict", is_flag=True, help="Fail (exit 6) on warnings too, not only on errors.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="text (file:line: severity: CODE message) or json.")
@click.option("--outputs", is_flag=True, help="Also build the book in a temporary folder and run EPUBCheck on the EPUB (needs Java).")
@click.option("--printer", type=click.Choice(["kdp", "ingramspark", "none"]), default=None,
              help="Also lay out the book and its cover and run this printer's preflight rules (default: pdf.printer).")
@_output_options
@_guarded
def check(manuscript: Path, strict: bool, fmt: str, outputs: bool, printer: str | None, verbose: int, quiet: bool, debug: bool) -> None:
    """Check MANUSCRIPT for problems without building the PDF.

    Every finding has a stable code (BM101, ...), a severity and the file:line to
    fix. Exit status: 0 when nothing is wrong (warnings allowed unless --strict),
    3 for errors in book.yaml or front matter, 4 for other errors, 6 for warnings
    with --strict.

    \b
    Example:
      bookmaker check manuscript --strict
      bookmaker check --format json --outputs > findings.json
    """
    from bookmaker.lint import ERROR, WARNING, check_manuscript, count

    _setup_logging(verbose, quiet)
    findings = check_manuscript(manuscript, outputs=outputs)
    report = None
    if printer != "none" and not count(findings, ERROR):
        from bookmaker.press import check_print, configured_printer

        chosen = printer or configured_printer(manuscript)
        if chosen:
            from bookmaker.lint import collect_warnings

            with collect_warnings([]):  # the build's own warnings are in 'findings' already
                preflight_findings, report = check_print(manuscript, chosen)
            findings = findings + preflight_findings
    errors, warnings = count(findings, ERROR), count(findings, WARNING)
    if fmt == "json":
        payload: dict[str, Any] = {"findings": [f.as_dict() for f in findings], "errors": errors, "warnings": warnings}
        if report is not None:
            payload["preflight"] = report.as_dict()
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        color = use_color(sys.stdout)
        for f in findings:
            if quiet and f.severity != ERROR and not strict:
                continue
            severity = click.style(f.severity, fg="red" if f.severity == ERROR else "yellow", bold=True) if color else f.severity
            where = f"{f.location}: " if f.location else ""
            click.echo(f"{where}{severity}: {f.code} {f.message}")
        if not quiet:
            if report is not None:
                click.echo(f"preflight for {report.printer}: {len(report.checks)} rules on "
                           f"{report.interior} ({report.pages} pages) and {report.cover or 'no cover'}", err=True)
            click.echo(_summary(errors, warnings), err=True)
    if errors:
        config_only = all(f.code in ("BM100", "BM103", "BM104") for f in findings if f.severity == ERROR)
        sys.exit(EXIT_CONFIG if config_only else EXIT_MANUSCRIPT)
    if strict and warnings:
        sys.exit(EXIT_STRICT)


def _summary(errors: int, warnings: int) -> str:
    if not errors and not warnings:
        return "no problems found"
    parts = [f"{errors} error{'s' * (errors != 1)}"] if errors else []
    parts += [f"{warnings} warning{'s' * (warnings != 1)}"] if warnings else []
    return ", ".join(parts)


@main.command()
@_MANUSCRIPT
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", help="A table (default) or json.")
@_output_options
@_guarded
def stats(manuscript: Path, fmt: str, verbose: int, quiet: bool, debug: bool) -> None:
    """Count words, notes and figures per chapter; estimate print pages and reading time.

    \b
    Example:
      bookmaker stats manuscript
      bookmaker stats --format json | jq .words
    """
    from bookmaker.pipeline import read_book
    from bookmaker.stats import book_stats, format_table

    _setup_logging(verbose, quiet)
    # Warnings belong to 'check' and 'build'; here they would only hide the table.
    logger.setLevel(logging.ERROR)
    result = book_stats(read_book(manuscript))
    click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) if fmt == "json" else format_table(result))


@main.command()
@_MANUSCRIPT
@click.option("--for", "store", required=True, type=click.Choice(["kdp", "ingramspark", "kobo", "apple"]),
              help="The store to upload to.")
@click.option("-o", "--output", "outdir", default="build", type=click.Path(path_type=Path), help="Output folder (default: build/).")
@click.option("--strict", is_flag=True, help="Fail (exit 6) if any warning was reported (preflight findings included).")
@_output_options
@_guarded
def package(manuscript: Path, store: str, outdir: Path, strict: bool, verbose: int, quiet: bool, debug: bool) -> None:
    """Write OUT/<slug>-STORE/: the files STORE takes (interior, cover, ebook) and a metadata sheet.

    \b
    Example:
      bookmaker package manuscript --for kdp
      bookmaker package --for kobo -o uploads
    """
    from bookmaker.package import make_package

    counter = _setup_logging(verbose, quiet)
    folder = make_package(manuscript, outdir, store)
    if strict and counter.messages:
        raise StrictModeError(f"aborted: {len(counter.messages)} warning(s) in strict mode")
    if not quiet:
        for path in sorted(folder.iterdir()):
            click.echo(f"wrote {display_path(path)}")


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--title", default="Untitled", show_default=True, help="The book's title.")
@click.option("--author", default="Your Name", show_default=True, help="The author's name.")
@click.option("--language", default="en", show_default=True, help="The language of the text (en, de, fr, zh-Hans, ...).")
@click.option("--styles", is_flag=True, help="Also copy the default styles into DIRECTORY/styles to customise them.")
@_output_options
@_guarded
def new(directory: Path, title: str, author: str, language: str, styles: bool, verbose: int, quiet: bool, debug: bool) -> None:
    """Create a new book project in DIRECTORY (which must not exist or be empty).

    It holds manuscript/book.yaml with every key explained, a dedication and two
    sample chapters, and builds at once.

    \b
    Example:
      bookmaker new my-book --title "My Book" --author "Ann Lee" --styles
      cd my-book && bookmaker build
    """
    from bookmaker.scaffold import create_project

    create_project(directory, title=title, author=author, language=language, styles=styles)
    if not quiet:
        click.echo(f"created {display_path(directory)}/")
        click.echo("next:")
        click.echo(f"  cd {display_path(directory)}")
        click.echo("  bookmaker preview    # see the book in a browser while you write")
        click.echo("  bookmaker build      # write build/*.pdf and build/*.epub")


@main.command()
@_MANUSCRIPT
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port to serve on (default: a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in the web browser.")
@_output_options
@_guarded
def preview(manuscript: Path, port: int, open_browser: bool, verbose: int, quiet: bool, debug: bool) -> None:
    """Serve the book as web pages on 127.0.0.1 and reload them whenever a file is saved.

    A Markdown or book.yaml error is shown in the page until the file is fixed.
    Ctrl-C stops the server.

    \b
    Example:
      bookmaker preview manuscript --port 8000 --open
    """
    import threading

    from bookmaker.errors import ConfigError, OutputError, format_location
    from bookmaker.preview import PreviewServer

    _setup_logging(verbose, quiet)
    if not manuscript.is_dir():
        from bookmaker.config import not_a_manuscript_folder

        raise ConfigError([format_location(manuscript, None, not_a_manuscript_folder(manuscript))])
    try:
        server = PreviewServer(manuscript, port).start()
    except OSError as exc:
        raise OutputError(f"cannot serve on port {port} ({exc.strerror}); try another --port") from None
    # The address is printed even with -q: without it the preview is useless.
    click.echo(server.url if quiet else f"previewing {display_path(manuscript)} at {server.url}  (Ctrl-C stops)")
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.close()
        if not quiet:
            click.echo("stopped", err=True)
