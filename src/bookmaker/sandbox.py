"""Keep builds inside the project: the URL fetcher WeasyPrint uses and the path checks of the packager."""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

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


@cache
def _fetcher_class() -> type:
    # WeasyPrint takes seconds to import: load it only when a PDF is really laid out,
    # so an EPUB-only build and every path check above stay fast.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ProjectFetcher(URLFetcher):  # type: ignore[misc]
        """Serve only regular files inside the allowed folders, ``data:`` URLs and allowed hosts.

        WeasyPrint's default fetcher reads any ``file:`` path and the network, and a read
        of ``/dev/urandom`` never ends (engine-notes section 3); everything else is refused
        here with a warning naming the resource (``--strict`` makes that an error).
        """

        def __init__(self, roots: list[Path], allow_hosts: Iterable[str] = ()) -> None:
            self.allow_hosts = tuple(h.lower() for h in allow_hosts)
            protocols = {"file", "data"} | (set(NETWORK_SCHEMES) if self.allow_hosts else set())
            # No redirects: a hop could leave the allowed hosts (CVE-2025-68616 was such a bypass).
            super().__init__(allowed_protocols=protocols, allow_redirects=False, timeout=5)
            self.roots = [r.resolve() for r in roots]
            self.refused: list[str] = []

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data" or host_allowed(url, self.allow_hosts):
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path))
                if inside(path, self.roots):
                    return URLFetcherResponse(url, body=path.resolve().read_bytes(), headers={})
                reason = "it is not a file inside the manuscript or styles folder"
            elif scheme in NETWORK_SCHEMES:
                reason = "the build does not use the network (allow hosts with 'network: {allow: [...]}' in book.yaml)"
            else:
                reason = f"'{scheme}:' URLs are not loaded"
            if url not in self.refused:
                self.refused.append(url)
                warn(f"refused to load '{_shorten(url)}': {reason}", code="BM602")
            raise ValueError(f"refused by bookmaker: {_shorten(url)}")

    return ProjectFetcher


def project_fetcher(roots: list[Path], allow_hosts: Iterable[str] = ()) -> Any:
    """The restrictive WeasyPrint URL fetcher for a book: pass it to every HTML, CSS and Attachment."""
    return _fetcher_class()(roots, allow_hosts)


def __getattr__(name: str) -> Any:
    # ``from bookmaker.sandbox import ProjectFetcher`` keeps working, lazily (PEP 562).
    if name == "ProjectFetcher":
        return _fetcher_class()
    raise AttributeError(name)


def _shorten(url: str, limit: int = 120) -> str:
    # data: URLs can be megabytes long; a warning names the resource, it does not repeat it.
    return url if len(url) <= limit else f"{url[:limit]}\u2026"
