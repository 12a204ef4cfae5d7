"""Keep builds inside the project: the rules of the print layout's URL fetcher (``engine.project_fetcher``), the theme templates' sandbox and the packager's path checks."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import jinja2.sandbox

from bookmaker.errors import ManuscriptError
from bookmaker.log import warn

#: Schemes an author may allow per host with ``network: {allow: [...]}`` in book.yaml.
NETWORK_SCHEMES = ("http", "https")


def inside(path: Path, roots: Iterable[Path]) -> bool:
    """Whether ``path`` (symlinks resolved) is a regular file below one of ``roots``.

    Resolving first defeats ``../`` and symlinks that leave the folder; ``is_file()``
    rejects devices and FIFOs such as ``/dev/urandom``, whose read never ends.
    """
    real = path.resolve()
    return real.is_file() and any(real.is_relative_to(root.resolve()) for root in roots)


def leaves(path: Path, root: Path) -> bool:
    """Whether ``path`` (symlinks resolved) lies outside ``root``; the file need not exist."""
    return not path.resolve().is_relative_to(root.resolve())


def require_inside(
    path: Path, root: Path, what: str, source: Path | str, line: int | None, folder: str = "the manuscript folder"
) -> None:
    """Refuse a file that is outside the manuscript folder, or reaches out of it by a symlink.

    Whatever is read here ends up in the EPUB zip, so a manuscript from someone else
    must not be able to pack ``../../secret`` or a link to ``/etc`` into the book.
    """
    if leaves(path, root):
        # normpath folds ``..`` without following links: inside by name, outside when resolved = a symlink.
        lexical = Path(os.path.normpath(path.absolute()))
        how = "links to a file" if lexical.is_relative_to(root.absolute()) else "is"
        raise ManuscriptError(
            f"{what} {how} outside {folder}; copy the file into it",
            source,
            line,
        )


class ContainedLoader(jinja2.FileSystemLoader):
    """Load templates only from files really inside the search folders (a theme's symlink cannot reach out)."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        if filename and not inside(Path(filename), [Path(p) for p in self.searchpath]):
            raise ManuscriptError(f"template '{template}' links to a file outside its theme folder", filename)
        return source, filename, uptodate


def template_environment(search: list[str], **options: Any) -> jinja2.Environment:
    """A Jinja2 environment for templates a manuscript's theme may bring.

    Theme templates come with the manuscript, so they are untrusted code: a plain
    Environment lets ``{{ cycler.__init__.__globals__.os.system(...) }}`` run commands.
    The sandbox refuses such attribute access (Jinja2 docs, "Sandbox").
    """
    return _TemplateSandbox(loader=ContainedLoader(search), **options)


class _TemplateSandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """The sandbox, reporting a refused access as a bookmaker error rather than an unexpected SecurityError."""

    def _load_template(self, name: str, globals: Any) -> Any:  # noqa: A002 - Jinja2's signature
        try:
            return super()._load_template(name, globals)
        except jinja2.TemplateSyntaxError as exc:
            raise ManuscriptError(f"template syntax error: {exc.message}", exc.filename or name, exc.lineno) from None

    def handle_exception(self, source: str | None = None) -> Any:
        """A theme template that includes a missing file or uses an unknown name: say which template and line."""
        from jinja2.debug import rewrite_traceback_stack

        exc = rewrite_traceback_stack(source=source)
        if isinstance(exc, (jinja2.TemplateNotFound, jinja2.UndefinedError)) or (
            isinstance(exc, ManuscriptError) and exc.path is None
        ):
            where, line = None, None
            tb = exc.__traceback__
            while tb is not None:
                # Rewritten frames of template code carry the template's own file name and line.
                if not tb.tb_frame.f_code.co_filename.endswith(".py"):
                    where, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
                tb = tb.tb_next
            if isinstance(exc, jinja2.TemplateNotFound):
                message = f"the template includes '{exc.name}', which is not in the theme's templates folder"
            elif isinstance(exc, jinja2.UndefinedError):
                message = f"the template names something that is not defined: {exc.message}"
            else:
                message = exc.message
            raise ManuscriptError(message, where, line) from None
        raise exc.with_traceback(exc.__traceback__)

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        raise ManuscriptError(f"a theme template reads '{attribute}' of a {type(obj).__name__}, which templates may not do")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja2's signature
        try:
            return super().call(__context, __obj, *args, **kwargs)
        except jinja2.sandbox.SecurityError as exc:
            raise ManuscriptError(f"theme template '{__context.name}': {exc}") from None


def host_allowed(url: str, hosts: Iterable[str]) -> bool:
    """Whether ``url`` is an http(s) URL whose host is on the author's allow list."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme.lower() in NETWORK_SCHEMES and bool(host) and host in {h.lower() for h in hosts}


def shorten_url(url: str, limit: int = 120) -> str:
    # data: URLs can be megabytes long; a warning names the resource, it does not repeat it.
    return url if len(url) <= limit else f"{url[:limit]}\u2026"
