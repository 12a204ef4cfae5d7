"""``bookmaker package --for STORE``: an upload folder with the files that store takes and a metadata sheet for its form."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bookmaker.builders import ROLE_LABELS
from bookmaker.errors import OutputError
from bookmaker.log import warn
from bookmaker.output import prepare_outdir


@dataclass(frozen=True)
class Store:
    """What one store's upload takes: formats to build, and the name each file gets in the folder."""

    name: str
    label: str
    formats: tuple[str, ...]
    #: output key -> file name in the folder ({slug} is replaced).
    files: dict[str, str]
    printer: str | None = None
    #: The store's keyword boxes (KDP has seven).
    max_keywords: int | None = None


STORES: dict[str, Store] = {
    "kdp": Store("kdp", "Amazon KDP", ("pdf", "cover", "kindle-epub"),
                 {"pdf": "{slug}-interior.pdf", "cover": "{slug}-cover.pdf", "kindle-epub": "{slug}.epub",
                  "cover-image": "{slug}-ebook-cover.jpg"}, printer="kdp", max_keywords=7),
    "ingramspark": Store("ingramspark", "IngramSpark", ("pdf", "cover", "epub"),
                         {"pdf": "{slug}-interior.pdf", "cover": "{slug}-cover.pdf", "epub": "{slug}.epub",
                          "cover-image": "{slug}-ebook-cover.jpg"}, printer="ingramspark"),
    "kobo": Store("kobo", "Kobo Writing Life", ("pdf", "cover", "kepub"),
                  {"kepub": "{slug}.kepub.epub", "cover-image": "{slug}-cover.jpg"}),
    "apple": Store("apple", "Apple Books", ("pdf", "cover", "epub"),
                   {"epub": "{slug}.epub", "cover-image": "{slug}-cover.jpg"}),
}


def metadata_sheet(book: Any, pages: int | None, store: Store) -> dict[str, Any]:
    """Everything the store's form asks for, from book.yaml and the laid-out book."""
    from bookmaker.geometry import Geometry
    from bookmaker.printers import DEFAULT_PRINTER, printer_named

    config = book.config
    geometry = Geometry.from_config(config)
    printer = printer_named(store.printer) or DEFAULT_PRINTER
    isbns = dict(config.isbns)
    if config.isbn and "paperback" not in isbns and store.printer:
        isbns["paperback"] = config.isbn
    if config.isbn and "ebook" not in isbns and not store.printer:
        isbns["ebook"] = config.isbn
    sheet: dict[str, Any] = {
        "store": store.label,
        "title": config.title,
        "subtitle": config.subtitle,
        "contributors": [{"name": c.name, "role": c.role, "label": ROLE_LABELS[c.role] or "By"} for c in config.authors],
        "description": config.description,
        "keywords": config.keywords,
        "bisac": config.bisac,
        "subjects": config.subjects,
        "language": config.language,
        "publisher": config.publisher,
        "publication_date": config.date,
        "edition": config.edition,
        "rights": config.rights,
        "isbns": isbns,
        "page_count": pages,
        "trim": f"{geometry.width / 72:.3f} x {geometry.height / 72:.3f} in",
        "paper": config.pdf.paper,
        "bleed": bool(geometry.bleed),
    }
    if pages:
        sheet["spine_width_in"] = round(printer.spine_width(pages, config.pdf.paper), 4)
    return sheet


def sheet_text(sheet: dict[str, Any]) -> str:
    """The metadata sheet as text to paste into the store's form, one field a line."""
    lines = [f"Upload sheet for {sheet['store']}", ""]
    labels = [("title", "Title"), ("subtitle", "Subtitle"), ("publisher", "Publisher"), ("publication_date", "Publication date"),
              ("edition", "Edition"), ("language", "Language"), ("page_count", "Page count"), ("trim", "Trim size"),
              ("paper", "Paper"), ("spine_width_in", "Spine width (in)"), ("rights", "Rights")]
    for key, label in labels:
        if sheet.get(key) not in (None, "", []):
            lines.append(f"{label}: {sheet[key]}")
    lines.append("Contributors:")
    lines += [f"  {c['name']} ({c['role']})" for c in sheet["contributors"]]
    for key, label in (("keywords", "Keywords"), ("bisac", "BISAC subjects"), ("subjects", "Subjects")):
        if sheet.get(key):
            lines.append(f"{label}:")
            lines += [f"  {value}" for value in sheet[key]]
    if sheet["isbns"]:
        lines.append("ISBNs:")
        lines += [f"  {edition}: {isbn}" for edition, isbn in sheet["isbns"].items()]
    if sheet.get("description"):
        lines += ["", "Description:", sheet["description"]]
    return "\n".join(lines) + "\n"


def make_package(manuscript: Path, outdir: Path, store_name: str) -> Path:
    """Build what ``store_name`` takes and write ``OUT/<slug>-<store>/``; the folder is replaced whole or not at all."""
    from bookmaker.pipeline import build

    store = STORES[store_name]
    prepare_outdir(outdir)
    with tempfile.TemporaryDirectory(prefix=".bookmaker-package-", dir=outdir) as tmp:
        work = Path(tmp) / "build"
        result = build(manuscript, work, store.formats, printer=store.printer or "none")
        from bookmaker.pipeline import read_book

        book = read_book(manuscript)
        if store.printer:
            book.config.pdf.printer = store.printer
        folder = Path(tmp) / "package"
        folder.mkdir()
        for key, pattern in store.files.items():
            shutil.copyfile(result.outputs[key], folder / pattern.format(slug=book.slug))
        for report in work.glob(f"{book.slug}-preflight.*"):
            shutil.copyfile(report, folder / report.name)
        sheet = metadata_sheet(book, result.pages, store)
        if store.max_keywords and len(book.config.keywords) > store.max_keywords:
            warn(f"'keywords' lists {len(book.config.keywords)}; {store.label} takes {store.max_keywords}",
                 book.config.path, code="BM818")
        (folder / "metadata.json").write_text(json.dumps(sheet, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (folder / "metadata.txt").write_text(sheet_text(sheet), encoding="utf-8")
        for path in folder.iterdir():
            os.chmod(path, 0o644)
        os.chmod(folder, 0o755)
        target = outdir / f"{book.slug}-{store.name}"
        old = Path(tmp) / "old"
        try:
            if target.exists():
                target.rename(old)
            folder.rename(target)
        except OSError as exc:
            if old.exists() and not target.exists():
                old.rename(target)
            raise OutputError(f"cannot write the package folder ({exc.strerror})", target) from None
    return target
