"""Locate the default theme (``styles/``) and the package's templates."""

from __future__ import annotations

from pathlib import Path

from bookmaker.config import BookConfig
from bookmaker.sandbox import require_inside

_PACKAGE = Path(__file__).resolve().parent
TEMPLATES = _PACKAGE / "templates"


def default_styles() -> Path:
    """The default theme: ``styles/`` of a source checkout, else the copy inside the wheel."""
    checkout = _PACKAGE.parent.parent / "styles"
    if (checkout / "print.css").is_file():
        return checkout
    return _PACKAGE / "styles"


def styles_dir(config: BookConfig) -> Path:
    """The theme folder for a book: its ``styles:`` key, or the default theme."""
    return config.styles or default_styles()


def style_file(config: BookConfig, name: str) -> Path:
    """A stylesheet from the book's theme, falling back to the default theme for missing files."""
    custom = styles_dir(config) / name
    if custom.is_file():
        # A theme file is packed into the EPUB: a symlink must not bring in a file from elsewhere.
        require_inside(custom, styles_dir(config), f"theme file '{name}'", custom, None, "the styles folder")
        return custom
    return default_styles() / name
