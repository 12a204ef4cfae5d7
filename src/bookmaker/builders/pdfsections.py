"""The print edition laid out section by section: body sections in worker processes and from the
layout cache, the front matter after them with literal page numbers, generated back matter last,
all merged into one PDF with folios laid over the pages."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bookmaker import __version__, engine
from bookmaker.assemble import Part, Placement, assemble
from bookmaker.builders import roman
from bookmaker.geometry import Geometry, gutter_for
from bookmaker.index import page_targets
from bookmaker.layoutcache import LayoutCache, code_digest, digest, file_digest, tree_digest
from bookmaker.log import logger
from bookmaker.model import PrintLayout
from bookmaker.resources import default_styles

if TYPE_CHECKING:
    from concurrent.futures import Future

    from bookmaker.builders.pdf import PdfBuilder

#: Contents entries laid out apart from the contents print the folio the body's layout gave them.
LITERAL_TOC_CSS = "nav.toc .toc-entry > a[data-page]::after { content: leader('. ') attr(data-page); }\n"
#: Sections carry a fixed creation date: a date that changed with every build would make every
#: cache key new; the merge writes the build's own date (``assemble``).
SECTION_DATE = "2000-01-01T00:00:00Z"
_CREATED_RE = re.compile(r'(<meta name="dcterms\.(?:created|modified)" content=")[^"]*(")')

#: Generated back matter: given the layout of everything before it, the HTML of sections to print
#: after it (an index, a notes section, a bibliography), or nothing.
BackMatter = Callable[[PrintLayout], list[str]]


@dataclass
class Laid:
    """The outcome of one sectioned layout at one geometry."""

    geometry: Geometry
    parts: list[Part] = field(default_factory=list)
    placements: list[Placement] = field(default_factory=list)
    layout: PrintLayout | None = None
    #: The body sections' documents of folios with their reports, in order (``_folio_jobs``).
    folio_docs: list[Part] = field(default_factory=list)
    #: The blank page: (folio document, page).
    blank: tuple[int, int] | None = None


class SectionedLayout:
    """Lay the book out as separate documents, cached by content and laid out in parallel."""

    def __init__(self, builder: PdfBuilder, cache: LayoutCache, pool: engine.LayoutPool,
                 back_matter: list[BackMatter] | None = None) -> None:
        from importlib.metadata import version

        self.builder = builder
        self.cache = cache
        self.pool = pool
        self.back_matter = back_matter or []
        config = builder.book.config
        self.roots = tuple(builder._fetcher_roots())
        self.allow = tuple(config.network.allow)
        self.base = config.root
        # The subsetter too: HarfBuzz's and fontTools' subsets of a font are not the same bytes.
        self.versions = (f"bookmaker {__version__} {code_digest()} weasyprint {version('weasyprint')} {engine.FIXES} "
                         f"subset {engine.font_subsetter()}")
        self.theme_key = tree_digest(sorted({builder.theme, default_styles()}))
        self.images = {img.source.resolve().as_uri(): img for img in builder.book.images.values()}
        self.image_keys = {uri: file_digest(img.source) for uri, img in self.images.items()}
        self.sizes = tuple(sorted((uri, img.width, img.height) for uri, img in self.images.items()))
        self.layouts = 0
        #: Warnings of the sections' layouts already printed in this build.
        self.warned: set[tuple[Any, ...]] = set()

    # ---- jobs -------------------------------------------------------------------------------------

    def _job(self, html_text: str, styles: engine.Styles, strip: bool) -> engine.SectionJob:
        options = tuple(sorted(self.builder.render_options().items()))
        images = [self.image_keys[uri] for uri in sorted(self.image_keys) if uri in html_text]
        # The stylesheets are files of the theme or of the default theme: theme_key has them.
        key = digest(self.versions, self.theme_key, *map(str, styles.files), styles.generated, styles.own, repr(options),
                     "strip" if strip else "keep", html_text, *images)
        return engine.SectionJob(key, html_text, styles, options, self.roots, self.allow, self.base,
                                 self.cache.folder, strip, self.sizes)

    def _run(self, jobs: list[engine.SectionJob],
             follow: Callable[[engine.SectionJob, dict[str, Any]], list[engine.SectionJob]] | None = None,
             ) -> dict[str, dict[str, Any]]:
        """Each job's layout report by key: from the cache, or laid out (in parallel) and cached.

        ``follow(job, report)`` is told of each job done, cached or laid out, and returns the
        jobs that this one made ready (``LayoutPool.run``); those are run in the same batch.
        """
        found: dict[str, dict[str, Any]] = {}
        #: Jobs being laid out, by key: a twin (the same key) shares its report and is followed too.
        twins: dict[str, list[engine.SectionJob]] = {}

        def settle(job: engine.SectionJob, info: dict[str, Any]) -> list[engine.SectionJob]:
            return accept(follow(job, info)) if follow is not None else []

        def accept(batch: list[engine.SectionJob]) -> list[engine.SectionJob]:
            """The jobs of ``batch`` to lay out; the cached ones are followed at once."""
            fresh = []
            for job in batch:
                if job.key in twins:
                    twins[job.key].append(job)
                    continue
                info = found.get(job.key) or self.cache.get(job.key)
                if info is None:
                    twins[job.key] = [job]
                    fresh.append(job)
                else:
                    found[job.key] = info
                    fresh += settle(job, info)
            return fresh

        def done(job: engine.SectionJob, info: dict[str, Any]) -> list[engine.SectionJob]:
            found[job.key] = info
            return [new for twin in twins.pop(job.key) for new in settle(twin, info)]

        todo = accept(jobs)
        if todo:
            logger.debug("laying out %d of %d sections (%d workers)", len(todo), len(jobs), self.pool.workers)
            if follow is None:
                for job, info in zip(todo, self.pool.run(todo)):
                    done(job, info)
            else:
                self.pool.run(todo, done)
        return found

    def _replay(self, infos: list[dict[str, Any]]) -> None:
        """Print the warnings of the sections' layouts, in book order, each once per build."""
        for info in infos:
            engine.replay_warnings(info, self.warned)

    def _body_html(self, fragment: str) -> str:
        return _undated(self.builder.wrap_html([], [fragment], front=False))

    # ---- the layout -------------------------------------------------------------------------------

    def lay_out(self, geometry: Geometry) -> Laid:
        builder = self.builder
        self.layouts += 1
        laid = Laid(geometry)
        styles = engine.Styles(tuple(builder.stylesheet_paths()), builder.extra_css(geometry) + LITERAL_TOC_CSS,
                               builder.theme)
        before_toc, sections = builder.render_sections()
        first_body = builder.first_body_id()
        split = next((i for i, (sid, _f) in enumerate(sections) if sid == first_body), len(sections))
        front_fragments = [fragment for _sid, fragment in sections[:split]]
        body_jobs = [self._job(self._body_html(fragment), styles, True) for _sid, fragment in sections[split:]]
        reports: dict[int, dict[str, Any]] = {}
        number = {id(job): i for i, job in enumerate(body_jobs)}
        folio_jobs: list[engine.SectionJob] = []
        front: engine.SectionJob | None = None
        start = 0

        def front_job() -> engine.SectionJob:
            # The body's folios do not depend on the front matter: arabic numbering starts at its
            # first page.  Undated too, or the front matter would be laid out again by every
            # build; the merge writes the build's date into the book's metadata.
            nonlocal front
            folios = self._body_folios([reports[i] for i in range(len(body_jobs))])
            front = self._job(_undated(builder.wrap_html(before_toc, front_fragments, front=True, pages=folios)),
                              styles, False)
            return front

        def follow(job: engine.SectionJob, info: dict[str, Any]) -> list[engine.SectionJob]:
            """What a body section's layout makes ready: the folios of the sections whose start
            is now known (every section before them is laid out), and once the whole body is,
            the front matter, whose contents print its folios.  So the short documents of folios
            fill the workers beside the last sections and the front matter (``LayoutPool.run``),
            instead of all waiting for the body's end."""
            nonlocal start
            if id(job) not in number:
                return []  # a document of folios, or the front matter
            reports[number[id(job)]] = info
            ready = []
            while len(folio_jobs) in reports:
                section = reports[len(folio_jobs)]
                start += start % 2  # every section opens on a recto
                folio_jobs.append(self._folio_job(start, section, styles))
                ready.append(folio_jobs[-1])
                start += section["pages"]
            if len(reports) == len(body_jobs):
                ready.append(front_job())
            return ready

        found = self._run(body_jobs, follow)
        if front is None:  # no body: nothing made the front matter ready
            found.update(self._run([front_job()]))
        assert front is not None
        jobs = [front, *body_jobs]
        infos = [found[job.key] for job in jobs]
        folio_infos = [found[job.key] for job in folio_jobs]
        self._replay([*infos, *folio_infos])
        for hook in self.back_matter:
            self._place(laid, jobs, infos, folio_jobs, folio_infos)
            assert laid.layout is not None
            extra = [self._job(self._body_html(fragment), styles, True) for fragment in hook(laid.layout)]
            if extra:
                jobs += extra
                found = self._run(extra)
                infos += [found[job.key] for job in extra]
                folio_jobs = self._folio_jobs(infos[1:], styles)
                folios_found = self._run(folio_jobs)
                folio_infos = [folios_found[job.key] for job in folio_jobs]
                self._replay([*(found[job.key] for job in extra), *folio_infos])
        self._place(laid, jobs, infos, folio_jobs, folio_infos)
        return laid

    def _body_starts(self, body: list[dict[str, Any]]) -> list[int]:
        """Where each body section starts, counted from the body's first page (a recto, folio 1)."""
        starts, page = [], 0
        for info in body:
            page += page % 2  # every section opens on a recto
            starts.append(page)
            page += info["pages"]
        return starts

    def _body_folios(self, body: list[dict[str, Any]]) -> dict[str, str]:
        folios: dict[str, str] = {}
        for start, info in zip(self._body_starts(body), body):
            for name, local in info["anchors"].items():
                folios.setdefault(name, str(start + local + 1))
        return folios

    def _folio_jobs(self, body: list[dict[str, Any]], styles: engine.Styles) -> list[engine.SectionJob]:
        """The documents of folios of the body's sections (``_folio_job``)."""
        return [self._folio_job(start, info, styles) for start, info in zip(self._body_starts(body), body)]

    def _folio_job(self, start: int, info: dict[str, Any], styles: engine.Styles) -> engine.SectionJob:
        """The document of folios of a body section that starts on folio ``start + 1``: a page
        per page of the section showing only that page's folio boxes, numbered from where the
        section starts, and a blank page after.

        Each page has the named page, side and place in its page group that it had in the
        section, so the theme styles its folios as it did there (``@page notes { @bottom-center
        { font-style: italic } }``); a rule for that one page (``@page notes:nth(3)``, after the
        theme's) gives each box the content it showed.  Per section, so a section's folios are
        laid out again only when its pages or its start change, and the folios of many sections
        are laid out at the same time.
        """
        config = self.builder.book.config
        divs, wanted, overrides = [], [], []
        previous = ""
        for number, (boxes_of_page, page_name) in enumerate(zip(info["folio_boxes"], info["page_names"]), 1):
            boxes = tuple(tuple(b) for b in boxes_of_page)
            if any("counter(pages" in css for _kw, css in boxes):
                # A section's document knows only its own pages, not the book's.
                raise engine.Unsupported("a margin box prints the total number of pages")
            wanted.append(tuple(keyword for keyword, _css in boxes))
            if page_name != previous:
                # One element per run of pages of one name, as in the section: every element
                # with a page name starts a page group (:nth(1 of chapter) is its first page).
                divs.append("</div>" if previous else "")
                divs.append(f'<div style="page: {page_name}">' if page_name else "")
                previous = page_name
            divs.append('<div class="bm-folio"></div>')
            if boxes:
                overrides.append(f"@page {page_name}:nth({number}) {{ "
                                 + " ".join(f"{kw} {{ content: {css}; }}" for kw, css in boxes) + " }\n")
        divs.append("</div>" if previous else "")
        divs.append('<div class="bm-folio"></div>')  # the blank page for the versos left empty
        wanted.append(())
        rules = "".join(overrides)
        # The first page shows the folio the section starts on (CSS GCPM 3.1: counter-reset on @page).
        rules += f"@page :first {{ counter-reset: page {start + 1}; }}\n"
        html_text = (f'<!DOCTYPE html><html lang="{config.language}"><head><meta charset="utf-8"></head>'
                     f"<body>{''.join(divs)}</body></html>")
        folio_styles = engine.Styles(styles.files, styles.generated, styles.generated_base,
                                     ".bm-folio { break-before: page; }\n" + rules)
        job = self._job(html_text, folio_styles, False)
        return dataclasses.replace(job, keep=tuple(wanted))

    def _place(self, laid: Laid, jobs: list[engine.SectionJob], infos: list[dict[str, Any]],
               folio_jobs: list[engine.SectionJob], folio_infos: list[dict[str, Any]]) -> None:
        """Pages in order: the front matter, a blank verso where a section would open on one, the body."""
        placements: list[Placement] = []
        laid.parts = [Part(self.cache.pdf(job.key), info) for job, info in zip(jobs, infos)]
        laid.folio_docs = [Part(self.cache.pdf(job.key), info) for job, info in zip(folio_jobs, folio_infos)]
        # Every folio document ends with a blank page; the first body section's serves every blank verso.
        laid.blank = (0, infos[1]["pages"]) if len(infos) > 1 else None
        placements += [Placement(0, i, None) for i in range(infos[0]["pages"])]
        body_start = None
        for number, info in enumerate(infos[1:], 1):
            if len(placements) % 2 == 1:
                placements.append(Placement(None, 0, None))
            if body_start is None:
                body_start = len(placements)
            for i in range(info["pages"]):
                has_folio = bool(info["folio_boxes"][i])
                placements.append(Placement(number, i, (number - 1, i) if has_folio else None))
        laid.placements = placements
        start = len(placements) if body_start is None else body_start
        folios = tuple(roman(i + 1).lower() if i < start else str(i - start + 1) for i in range(len(placements)))
        page_map: dict[str, str] = {}
        starts: dict[str, tuple[str, int]] = {}
        first: dict[int, int] = {}
        for index, placement in enumerate(placements):
            if placement.part is not None:
                first.setdefault(placement.part, index - placement.page)
        for number, info in enumerate(infos):
            if number not in first:
                continue
            for name, local in sorted(info["anchors"].items(), key=lambda item: item[1]):
                page_map.setdefault(name, folios[first[number] + local])
            for local, (block, words) in info["starts"].items():
                starts[folios[first[number] + int(local)]] = (block, words)
        laid.layout = PrintLayout(folios, page_map, starts)

    def settled(self, geometry: Geometry) -> Laid:
        """Lay out, then again with the page numbers the text prints (index locators,
        cross-references, keyed notes) written in from the last layout, until they stay put;
        then the index's "(continued)" lines.  Only the sections that changed are laid out
        again; the others come from the cache (``PdfBuilder.settle_numbers`` for one document)."""
        from bookmaker.builders.pdf import MAX_CONTINUED_ROUNDS, MAX_NUMBER_ROUNDS

        builder = self.builder
        builder.numbers_from, builder.continued = None, frozenset()
        laid = self.lay_out(geometry)
        targets = page_targets(builder.book) | builder.note_targets()
        for _round in range(MAX_NUMBER_ROUNDS if targets else 0):
            assert laid.layout is not None
            pages = {t: laid.layout.page_map.get(t) for t in targets}
            if builder.numbers_from is not None and pages == {t: builder.numbers_from.page_map.get(t) for t in targets}:
                break
            builder.numbers_from = laid.layout
            laid = self.lay_out(geometry)
        if any(c.kind == "index" for c in builder.book.chapters):
            for _round in range(MAX_CONTINUED_ROUNDS):
                tops = frozenset(top for part in laid.parts for top in part.info.get("column_tops", ()))
                if tops == builder.continued:
                    break
                builder.continued = tops
                laid = self.lay_out(geometry)
        return laid

    def build(self, target: Path, background: bool = False) -> tuple[PrintLayout, Future[None] | None]:
        """Lay out until the gutter suits the page count, then merge into ``target``: with
        ``background``, in a worker process while this one goes on (the future of the merge)."""
        base = self.builder.geometry
        geometry = base.for_pages(self.builder.estimate_pages())
        tried: dict[float, Laid] = {}
        while True:
            laid = self.settled(geometry)
            tried[geometry.gutter] = laid
            assert laid.layout is not None
            pages = laid.layout.page_count
            need = gutter_for(pages)
            if need == geometry.gutter:
                break
            if need in tried or len(tried) >= 3:
                laid = tried[max(tried)]
                break
            geometry = base.for_pages(pages)
        self.builder.used_geometry = laid.geometry
        assert laid.layout is not None
        self.lowest_dpi = _lowest(laid.parts)
        merge = (target, laid.parts, laid.placements, laid.folio_docs, laid.blank, self.builder.book.build_date)
        merging = self.pool.submit(assemble, *merge, last=True) if background else None
        if merging is None:
            assemble(*merge)
        return laid.layout, merging


#: Page selectors that count pages from the start of the document: in a section's document
#: that is the section's first page, in one document the book's (CSS Paged Media 4, 4.2).
_NTH_RE = re.compile(r":nth\(([^)]*)\)")


def one_document_pages(stylesheets: list[Path]) -> str | None:
    """Why the theme's @page rules need the book laid out as one document, or None.

    ``@page :first`` and ``@page :nth(3)`` (without ``of``) would match the first pages of
    every section; ``@page :blank`` showing anything would be missing from the blank versos
    the merge adds between sections.  ``:nth(1 of chapter)``, named pages, sides and a
    ``:blank`` rule that only empties margin boxes are the same either way.
    """
    import tinycss2

    seen: set[Path] = set()
    todo = list(stylesheets)
    while todo:
        path = todo.pop(0)
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        rules = tinycss2.parse_stylesheet(path.read_text(encoding="utf-8", errors="replace"),
                                          skip_comments=True, skip_whitespace=True)
        for rule in rules:
            if rule.type != "at-rule":
                continue
            if rule.lower_at_keyword == "import":
                # A theme file imported by a relative URL (the fetcher refuses the rest).
                target = next((t.value for t in rule.prelude if t.type in ("string", "url")), None)
                if target and ":" not in target:
                    todo.append((path.parent / target).resolve())
                continue
            if rule.lower_at_keyword != "page":
                continue
            for selector in tinycss2.serialize(rule.prelude).lower().split(","):
                where = f"{path.name}: @page {selector.strip()}"
                if ":first" in selector:
                    return f"{where} matches the first page of the document"
                if any(" of " not in f" {m.group(1)} " for m in _NTH_RE.finditer(selector)):
                    return f"{where} counts pages from the start of the document"
                if ":blank" in selector and not _only_empties_margins(rule.content or []):
                    return f"{where} styles the blank pages"
    return None


def _only_empties_margins(content: list[Any]) -> bool:
    """Whether an @page rule's body holds only margin boxes set to ``content: none``."""
    import tinycss2

    for item in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
        if item.type != "at-rule" or item.content is None:
            return False
        for declaration in tinycss2.parse_declaration_list(item.content, skip_comments=True, skip_whitespace=True):
            if declaration.type != "declaration" or declaration.lower_name != "content":
                return False
            if tinycss2.serialize(declaration.value).strip().lower() not in ("none", "normal"):
                return False
    return True


def _undated(html_text: str) -> str:
    return _CREATED_RE.sub(lambda m: m.group(1) + SECTION_DATE + m.group(2), html_text)


def _lowest(parts: list[Part]) -> dict[str, float]:
    lowest: dict[str, float] = {}
    for part in parts:
        for uri, dpi in part.info["dpi"].items():
            lowest[uri] = min(dpi, lowest.get(uri, dpi))
    return lowest
