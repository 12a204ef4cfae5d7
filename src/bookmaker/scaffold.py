"""``bookmaker new``: create a book project that builds at once, from the packaged skeleton."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from string import Template

from bookmaker.errors import OutputError
from bookmaker.resources import default_styles

SKELETON = Path(__file__).resolve().parent / "skeleton"


def create_project(target: Path, title: str, author: str, language: str = "en", styles: bool = False) -> list[Path]:
    """Write the skeleton into ``target`` (which must be new or empty); return the files written."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise OutputError(f"'{target}' already exists and is not empty; choose a new folder name")
    # JSON strings are valid YAML scalars, so any title survives quoting.
    values = {
        "title": json.dumps(title, ensure_ascii=False),
        "author": json.dumps(author, ensure_ascii=False),
        "language": language,
        "styles_line": "styles: ../styles" if styles else "# styles: ../styles",
    }
    try:
        target.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for source in sorted(SKELETON.rglob("*")):
            if source.is_dir() or source.name.startswith(("_", ".")):
                continue
            relative = source.relative_to(SKELETON)
            # A dot file inside the package would be read as the package's own .gitignore.
            dest = target / relative.with_name(".gitignore" if relative.name == "gitignore" else relative.name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            text = source.read_text(encoding="utf-8")
            if source.name == "book.yaml":
                text = Template(text).substitute(values)
            dest.write_text(text, encoding="utf-8")
            written.append(dest)
        if styles:
            shutil.copytree(default_styles(), target / "styles", ignore=shutil.ignore_patterns("__pycache__", "*.txt~"))
            written.append(target / "styles")
    except OSError as exc:
        raise OutputError(f"cannot create the project ({exc.strerror})", target) from None
    return written
