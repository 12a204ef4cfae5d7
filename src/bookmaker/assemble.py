"""Merge the separately laid-out sections' PDFs into the book: pages, folios laid over them, named destinations, outline."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Part:
    """One laid-out section's PDF and what its layout reported (``engine.lay_out_section``)."""

    pdf: Path
    info: dict[str, Any]


@dataclass(frozen=True)
class Placement:
    """A page of the book: page ``page`` of part ``part`` (None for a blank), and the page of
    a folio document to lay over it, as (document, page) (None for none)."""

    part: int | None
    page: int
    folio: tuple[int, int] | None


def assemble(target: Path, parts: list[Part], placements: list[Placement], folios: list[Part],
             blank: tuple[int, int] | None, created: datetime | None = None) -> None:
    """Write ``target``: part 0 (the front matter) gives the metadata, dated ``created``; the
    pages follow ``placements``, with folios from the documents ``folios``; a blank page is
    the page ``blank`` gives as (folio document, page)."""
    import pikepdf

    sources = [pikepdf.open(part.pdf) for part in parts]
    folio_pdfs = [pikepdf.open(folio.pdf) for folio in folios]
    out = pikepdf.new()
    try:
        base = sources[0]
        # Metadata and language from the front matter, as one WeasyPrint document would write them.
        info = {key: value for key, value in base.docinfo.items()}
        if created is not None:
            # As WeasyPrint writes dates (PDF 1.7, 7.9.4), from the build's one clock.
            stamp = pikepdf.String(created.strftime("D:%Y%m%d%H%M%SZ"))
            info["/CreationDate"] = info["/ModDate"] = stamp
        out.docinfo = out.make_indirect(pikepdf.Dictionary(info))
        for key in ("/Lang", "/ViewerPreferences", "/MarkInfo"):
            if key in base.Root:
                value = base.Root[key]
                out.Root[key] = out.copy_foreign(value) if value.is_indirect else value
        first_page: dict[int, int] = {}
        for index, placement in enumerate(placements):
            if placement.part is None:
                assert blank is not None
                out.pages.append(folio_pdfs[blank[0]].pages[blank[1]])
                continue
            first_page.setdefault(placement.part, index - placement.page)
            out.pages.append(sources[placement.part].pages[placement.page])
            if placement.folio is not None:
                document, page = placement.folio
                _overlay(out, out.pages[-1], folio_pdfs[document].pages[page], f"/BookmakerFolio{index}")
        share_fonts(out, [part.info for part in (*parts, *folios)], parts[0].pdf.parent)
        _destinations(out, parts, sources, first_page)
        _outline(out, parts, first_page)
        out.save(target, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
    finally:
        for source in (*sources, *folio_pdfs):
            source.close()


def share_fonts(out: Any, reports: list[dict[str, Any]], folder: Path) -> None:
    """Point every section's descriptor of a font at one subset of it holding every glyph the
    sections use (``fontunion``).

    A subset tag names one font file throughout the book (WeasyPrint derives it from the font's
    description); a tag some section could not share, or that names two files, is left alone.
    """
    import pikepdf

    files: dict[tuple[str, int], set[int]] = {}
    tags: dict[str, tuple[str, int] | None] = {}
    hinting = False
    for report in reports:
        for font in report.get("fonts", ()):
            key = (font["digest"], font["index"]) if font["shared"] else None
            if tags.setdefault(font["tag"], key) != key:
                tags[font["tag"]] = None
            if key is not None:
                files.setdefault(key, set()).update(font["glyphs"])
                hinting = hinting or font["hinting"]
    programs: dict[tuple[str, int], Any] = {}
    for key in sorted(files):
        data = _shared_cut(folder, key, files[key], hinting)
        if data is None:
            continue
        program = pikepdf.Stream(out, data)
        if data[:4] == b"OTTO":
            program.Subtype = pikepdf.Name.OpenType
        else:
            program.Length1 = len(data)
        programs[key] = out.make_indirect(program)
    if not programs:
        return
    seen: set[tuple[int, int]] = set()

    def visit(resources: Any) -> None:
        if not isinstance(resources, pikepdf.Dictionary) or _seen(resources, seen):
            return
        for font in resources.get("/Font", {}).values():
            if _seen(font, seen):
                continue
            for descendant in font.get("/DescendantFonts", ()):
                descriptor = descendant.get("/FontDescriptor")
                if descriptor is None or "/CIDSet" in descriptor:
                    continue  # a CIDSet lists the glyphs of its own subset (PDF/A)
                tag = str(descriptor.get("/FontName", ""))[1:].split("+", 1)[0]
                program = programs.get(tags.get(tag))  # type: ignore[arg-type]
                if program is None:
                    continue
                for name in ("/FontFile2", "/FontFile3"):
                    if name in descriptor and (name == "/FontFile3") == ("/Subtype" in program):
                        descriptor[name] = program
        for xobject in resources.get("/XObject", {}).values():
            if xobject.get("/Subtype") == "/Form":
                visit(xobject.get("/Resources"))

    for page in out.pages:
        visit(page.obj.get("/Resources"))


def _shared_cut(folder: Path, key: tuple[str, int], glyphs: set[int], hinting: bool) -> bytes | None:
    """The cut of a kept font file holding ``glyphs``, kept in ``folder`` too: a rebuild after an
    edit that brings no new glyph reads it instead of cutting Noto Serif SC's 9 MB again."""
    import hashlib
    import json

    from bookmaker.fontunion import cut, kept_font_path

    name = hashlib.sha256(json.dumps([*key, sorted(glyphs), hinting]).encode()).hexdigest()[:40]
    made, whole = kept_font_path(folder, name), kept_font_path(folder, key[0])
    try:
        data = made.read_bytes()
    except OSError:
        pass  # not cut yet (or pruned): cut below
    else:
        for path in (made, whole):
            with contextlib.suppress(OSError):
                os.utime(path)  # in use: the cache's pruning keeps them with the sections
        return data
    try:
        data = cut(whole.read_bytes(), key[1], glyphs, hinting)
    except OSError:
        return None  # the whole font is gone (the cache was pruned or cleared): its subsets stay
    if data is not None:
        partial = made.with_name(f".{name}.{os.getpid()}.font")
        with contextlib.suppress(OSError):
            partial.write_bytes(data)
            os.replace(partial, made)
    return data


def _seen(obj: Any, seen: set[tuple[int, int]]) -> bool:
    """Whether an indirect object was visited already (and note it); direct ones are always new."""
    if not obj.is_indirect:
        return False
    if obj.objgen in seen:
        return True
    seen.add(obj.objgen)
    return False


def _overlay(out: Any, page: Any, folio: Any, name: str) -> None:
    """Draw ``folio`` (a page of the same size) over ``page`` as a form XObject under ``name``,
    one per page: pikepdf's ``add_overlay`` picks a random name (the PDF must be reproducible),
    and WeasyPrint's pages share one resource dictionary."""
    import pikepdf

    form = out.copy_foreign(folio.as_form_xobject())
    page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name(name))
    # The page's own drawing is closed off first (q ... Q) so the folio starts from the default state.
    page.contents_add(pikepdf.Stream(out, b"q\n"), prepend=True)
    page.contents_add(pikepdf.Stream(out, f"\nQ q {name} Do Q\n".encode()), prepend=False)


def _destinations(out: Any, parts: list[Part], sources: list[Any], first_page: dict[int, int]) -> None:
    """One name tree of every section's anchors (stand-ins for other sections' ids left out)."""
    import pikepdf

    names: dict[str, tuple[int, list[float]]] = {}
    for number, (part, source) in enumerate(zip(parts, sources)):
        if number not in first_page or "/Names" not in source.Root or "/Dests" not in source.Root.Names:
            continue
        pages = {page.objgen: i for i, page in enumerate(source.pages)}
        foreign = set(part.info["foreign"])
        for name, dest in pikepdf.NameTree(source.Root.Names.Dests).items():
            if name in foreign or name in names:
                continue
            local = pages.get(dest[0].objgen)
            if local is None:
                continue
            names[name] = (first_page[number] + local, [float(v) for v in list(dest)[2:]])
    # One leaf of every name in order, as WeasyPrint writes a document's (PDF 1.7, 7.9.6): qpdf's
    # NameTree inserts one name at a time and splits its nodes: a quarter of a 40-chapter merge.
    pages = [page.obj for page in out.pages]
    xyz = pikepdf.Name.XYZ
    flat: list[Any] = []
    for name in sorted(names):
        index, coords = names[name]
        flat += [pikepdf.String(name), pikepdf.Array([pages[index], xyz, *coords])]
    out.Root.Names = pikepdf.Dictionary(Dests=out.make_indirect(pikepdf.Dictionary(Names=pikepdf.Array(flat))))


def _outline(out: Any, parts: list[Part], first_page: dict[int, int]) -> None:
    """The outline of the whole book from every page's bookmarks, nested by level the way
    WeasyPrint nests one document's (``make_page_bookmark_tree``: skipped levels close up)."""
    from pikepdf import OutlineItem

    marks = []
    for number, part in enumerate(parts):
        if number in first_page:
            for local, page_marks in enumerate(part.info["bookmarks"]):
                marks += [(first_page[number] + local, *mark) for mark in page_marks]
    marks.sort(key=lambda mark: mark[0])  # stable: in page order, each page's in its own order
    root: list[OutlineItem] = []
    last_by_depth: list[list[OutlineItem]] = [root]
    skipped: list[int] = []
    previous = 0
    for page, level, label, x, y, state in marks:
        if level > previous:
            skipped.append(level - previous - 1)
        else:
            temp = level
            while temp < previous:
                temp += 1 + skipped.pop()
            if temp > previous:
                skipped.append(temp - previous - 1)
        previous = level
        depth = level - sum(skipped)
        item = OutlineItem(label, page, "XYZ", left=x, top=y)
        item.is_closed = state == "closed"
        last_by_depth[depth - 1].append(item)
        del last_by_depth[depth:]
        last_by_depth.append(item.children)
    with out.open_outline() as outline:
        outline.root.extend(root)
