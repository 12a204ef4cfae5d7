"""The Jinja2 environment shared by the builders (theme templates override packaged ones)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from bookmaker.fields import field_html, field_text
from bookmaker.resources import TEMPLATES
from bookmaker.sandbox import template_environment


def template_env(theme: Path | None = None) -> jinja2.Environment:
    """An environment that autoescapes and fails on undefined names."""
    search = [str(theme / "templates")] if theme and (theme / "templates").is_dir() else []
    env = template_environment(
        search + [str(TEMPLATES)],
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # book.yaml's rights, edition and description are inline Markdown (bookmaker.fields).
    env.filters["markdown"] = field_html
    env.filters["plain"] = field_text
    return env
