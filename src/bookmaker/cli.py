"""The ``bookmaker`` command: parse arguments, call the pipeline, report, map errors to exit codes."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import click

from bookmaker import __version__
from bookmaker.errors import EXIT_UNEXPECTED, BookmakerError, StrictModeError, display_path
from bookmaker.log import WarningCounter, logger


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.WARNING:
            return f"warning: {record.getMessage()}"
        return record.getMessage()


def _setup_logging(verbose: int, quiet: bool) -> WarningCounter:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    logger.handlers[:] = [handler]
    logger.setLevel(min(level, logging.WARNING))
    handler.setLevel(level)
    counter = WarningCounter()
    logger.addHandler(counter)
    logger.propagate = False
    # WeasyPrint logs every CSS it does not support; only its errors concern the author.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return counter


def _parse_formats(value: str) -> tuple[str, ...]:
    from bookmaker.pipeline import FORMATS

    formats = tuple(f.strip().lower() for f in value.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise click.BadParameter(f"expected a comma-separated list of {', '.join(FORMATS)}, got {value!r}")
    return formats


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bookmaker")
def main() -> None:
    """bookmaker: Markdown chapters in, a print-ready PDF and an EPUB 3 out."""


@main.command()
@click.argument("manuscript", default="manuscript", type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", default="build", type=click.Path(path_type=Path), help="Output folder (default: build/).")
@click.option("--format", "formats", default="pdf,epub", help="Formats to build: pdf, epub or pdf,epub.")
@click.option("--strict", is_flag=True, help="Fail (exit 6) if any warning was reported.")
@click.option("-v", "--verbose", count=True, help="Show progress (-vv for debug output).")
@click.option("-q", "--quiet", is_flag=True, help="Only print warnings and errors.")
@click.option("--debug", is_flag=True, help="Show a traceback for unexpected errors.")
def build(manuscript: Path, outdir: Path, formats: str, strict: bool, verbose: int, quiet: bool, debug: bool) -> None:
    """Build the book in MANUSCRIPT (default: manuscript/) into OUT (default: build/).

    \b
    Example:
      bookmaker build manuscript -o build --format pdf,epub
    """
    counter = _setup_logging(verbose, quiet)
    selected = _parse_formats(formats)
    try:
        from bookmaker.pipeline import build as run_build

        result = run_build(manuscript, outdir, selected)
        if strict and counter.messages:
            raise StrictModeError(f"aborted: {len(counter.messages)} warning(s) in strict mode")
    except BookmakerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted; previous outputs were left untouched", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for the user
        if debug:
            traceback.print_exc()
        click.echo(f"error: unexpected {exc.__class__.__name__}: {exc} (run with --debug for a traceback)", err=True)
        sys.exit(EXIT_UNEXPECTED)
    if not quiet:
        for fmt, path in result.outputs.items():
            extra = f" ({result.pages} pages)" if fmt == "pdf" and result.pages else ""
            click.echo(f"wrote {display_path(path)}{extra}")
        click.echo(f"done in {result.seconds:.1f} s")
