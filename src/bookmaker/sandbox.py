"""Keep builds inside the project: the URL fetcher WeasyPrint uses and the path checks of the packager."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

from bookmaker.log import warn


def inside(path: Path, roots: list[Path]) -> bool:
    """Whether ``path`` (symlinks resolved) is a regular file below one of ``roots``."""
    real = path.resolve()
    return real.is_file() and any(real.is_relative_to(root.resolve()) for root in roots)


class ProjectFetcher(URLFetcher):
    """Serve only regular files inside the allowed folders and ``data:`` URLs.

    WeasyPrint's default fetcher reads any ``file:`` path and the network, and a read
    of ``/dev/urandom`` never ends (engine-notes section 3); everything else is refused
    here with a warning naming the resource.
    """

    def __init__(self, roots: list[Path]) -> None:
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, timeout=5)
        self.roots = [r.resolve() for r in roots]
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(unquote(urlsplit(url).path))
            if inside(path, self.roots):
                return URLFetcherResponse(url, body=path.read_bytes(), headers={})
            reason = "it is outside the project"
        else:
            reason = "the build does not use the network"
        self.refused.append(url)
        warn(f"refused to load '{url}': {reason}")
        raise ValueError(f"refused: {url}")
