"""The sectioned, cached, parallel layout (issue 10): a rebuild from the cache equals a cold build,
whatever was edited, whatever the number of workers; and it equals one WeasyPrint document page by page."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pymupdf
import pytest

from bookgen import generate_book

from bookmaker.builders.pdf import PdfBuilder
from bookmaker.pipeline import read_book
from bookmaker.resources import default_styles

EPOCH = "1780000000"


@pytest.fixture(scope="module", autouse=True)
def _epoch() -> Iterator[None]:
    # Module scope: the shared warm build must carry the same dates as every later one.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        yield


def build(manuscript: Path, out: Path, cache: Path | None, workers: int = 1) -> tuple[bytes, PdfBuilder]:
    out.mkdir(parents=True, exist_ok=True)
    builder = PdfBuilder(read_book(manuscript), cache=cache, workers=workers)
    result = builder.build_pdf(out)
    return result.path.read_bytes(), builder


def summary(data: bytes) -> tuple[list[str], list[list[object]], list[list[tuple[object, ...]]]]:
    """Text of every page, the outline, and every page's links (kind, target page or name, box)."""
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        text = [page.get_text() for page in doc]
        links = [[(link.get("kind"), link.get("page"), link.get("uri"), tuple(round(v) for v in link["from"]))
                  for link in page.get_links()] for page in doc]
        return text, doc.get_toc(), links


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_book(tmp_path_factory.mktemp("cache") / "manuscript", chapters=4, paragraphs=5, parts=1,
                         tables=False)


def _chapter(root: Path, n: int) -> Path:
    (path,) = root.glob(f"*-chapter-{n}.md")
    return path


def edit_word(root: Path) -> None:
    path = _chapter(root, 2)
    text = path.read_text(encoding="utf-8")
    head, body = text.split("---\n\n", 1)
    path.write_text(head + "---\n\n" + body.replace(" ", " remarkably ", 1), encoding="utf-8")


def edit_paragraph(root: Path) -> None:
    path = _chapter(root, 3)
    path.write_text(path.read_text(encoding="utf-8") + "\nA new closing paragraph, long enough to take "
                    "several lines of the page: " + "and then the winter came again, " * 40 + "\n", encoding="utf-8")


def new_chapter(root: Path) -> None:
    (root / "055-interlude.md").write_text("---\ntitle: An Interlude\n---\n\nA short chapter between two others, "
                                           "with a call[^1].\n\n[^1]: And its note.\n", encoding="utf-8")


def delete_chapter(root: Path) -> None:
    _chapter(root, 2).unlink()


def theme_change(root: Path) -> None:
    from bookmaker.resources import default_styles

    styles = root / "styles"
    shutil.copytree(default_styles(), styles)  # a theme is the default one, copied and changed
    css = (styles / "print.css").read_text(encoding="utf-8").replace("--body-size: 11pt;", "--body-size: 12pt;")
    assert "12pt" in css
    (styles / "print.css").write_text(css, encoding="utf-8")
    config = root / "book.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "styles: styles\n", encoding="utf-8")


def pdf_option(root: Path) -> None:
    config = root / "book.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "pdf:\n  trim: 5.5x8.5in\n", encoding="utf-8")


@pytest.fixture(scope="module")
def workdir(book: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each test puts its copy of the book: always the same path, as an author's folder is
    (image paths are part of the layout, so a cache made elsewhere would not be used)."""
    return tmp_path_factory.mktemp("work") / "manuscript"


@pytest.fixture(scope="module")
def warm(book: Path, workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A cache filled by a build of the unedited book (two workers)."""
    shutil.copytree(book, workdir)
    cache = tmp_path_factory.mktemp("warm") / "cache"
    data, builder = build(workdir, tmp_path_factory.mktemp("warm-out"), cache, workers=2)
    return cache, data


@pytest.mark.parametrize("edit", [edit_word, edit_paragraph, new_chapter, delete_chapter, theme_change, pdf_option])
def test_a_rebuild_from_the_cache_equals_a_cold_build(edit, book: Path, workdir: Path, warm: tuple[Path, bytes],  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    cache_src, before = warm
    cache = tmp_path / "cache"
    shutil.copytree(cache_src, cache)
    manuscript = workdir
    shutil.rmtree(manuscript)
    shutil.copytree(book, manuscript)
    edit(manuscript)
    incremental, builder = build(manuscript, tmp_path / "incremental", cache)
    cold, _ = build(manuscript, tmp_path / "cold", None)
    assert incremental != before, "the edit changed the book"
    assert summary(incremental) == summary(cold)
    assert incremental == cold
    if edit in (edit_word, edit_paragraph):
        # Only the edited chapter and the contents were laid out again (the part opener, the
        # other chapters and the back matter came from the cache).
        assert builder.cache_hits >= 4 and builder.cache_misses <= 2, (builder.cache_hits, builder.cache_misses)
    elif edit in (new_chapter, delete_chapter):
        # Chapters after the change are renumbered ("Chapter 3" becomes "Chapter 4"): laid out again.
        assert builder.cache_hits >= 2, (builder.cache_hits, builder.cache_misses)
    else:
        # The theme and the geometry are part of every key: nothing was reused.
        assert builder.cache_hits == 0, (builder.cache_hits, builder.cache_misses)


def test_the_number_of_workers_does_not_change_the_pdf(book: Path, workdir: Path, warm: tuple[Path, bytes],
                                                       tmp_path: Path) -> None:
    _cache, two = warm
    shutil.rmtree(workdir)
    shutil.copytree(book, workdir)
    one, _ = build(workdir, tmp_path / "one", None, workers=1)
    assert one == two


def test_sections_print_what_one_document_prints(book: Path, warm: tuple[Path, bytes], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    sectioned, _ = build(book, tmp_path / "sectioned", None)
    monkeypatch.setattr(PdfBuilder, "sectioned", lambda self: False)
    single, _ = build(book, tmp_path / "single", None)
    assert summary(sectioned) == summary(single)
    # The merge writes one name tree of every section's ids: the same names, on the same pages.
    merged = destinations(sectioned)
    assert len(merged) > 10 and merged == destinations(single)


def destinations(data: bytes) -> dict[str, int]:
    """Every named destination of a PDF and the index of its page."""
    import pikepdf

    with pikepdf.open(BytesIO(data)) as pdf:
        pages = {page.objgen: i for i, page in enumerate(pdf.pages)}
        names = pikepdf.NameTree(pdf.Root.Names.Dests)
        return {name: pages[dest[0].objgen] for name, dest in names.items()}


def _fill_colours(data: bytes) -> list[list[bytes]]:
    """The fill colours each page paints with, the folios drawn over it included."""
    import re

    import pikepdf

    with pikepdf.open(BytesIO(data)) as pdf:
        found = []
        for page in pdf.pages:
            contents = page.Contents if isinstance(page.Contents, pikepdf.Array) else [page.Contents]
            drawn = b"".join(c.read_bytes() for c in contents)
            # A section's pages share one resource dictionary: only the forms this page draws.
            used = set(re.findall(rb"/([\w.]+) Do", drawn))
            for name, xobject in page.Resources.get("/XObject", {}).items():
                if str(name)[1:].encode() in used and xobject.get("/Subtype") == "/Form":
                    drawn += xobject.read_bytes()
            found.append(sorted(set(re.findall(rb"[\d.]+ [\d.]+ [\d.]+ rg", drawn))))
        return found


def test_folios_keep_the_style_the_theme_gives_their_named_page(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A theme that styles the folios of one named page apart (here red on chapter pages) gets
    them so in the sectioned layout, whose folios are laid out in documents of their own."""
    themed = generate_book(tmp_path / "themed", chapters=2, paragraphs=6, parts=1, tables=False,
                           extra_yaml="styles: theme\n")
    (themed / "theme").mkdir()
    css = (default_styles() / "print.css").read_text(encoding="utf-8")
    (themed / "theme" / "print.css").write_text(
        css + "\n@page chapter { @bottom-center { color: rgb(255, 0, 0); } }\n", encoding="utf-8")
    shutil.copytree(default_styles() / "fonts", themed / "theme" / "fonts")
    sectioned, builder = build(themed, tmp_path / "sectioned", None)
    assert builder.sectioned()
    monkeypatch.setattr(PdfBuilder, "sectioned", lambda self: False)
    single, _ = build(themed, tmp_path / "single", None)
    colours = _fill_colours(sectioned)
    assert sum(b"1 0 0 rg" in page for page in colours) >= 4  # the chapters' folios
    assert colours == _fill_colours(single)
    assert summary(sectioned) == summary(single)


def test_a_theme_that_counts_pages_from_the_first_is_laid_out_as_one_document(tmp_path: Path) -> None:
    """``@page :first`` means the book's first page; in a section's document it would mean every
    section's first page, so such a theme is laid out as one document."""
    themed = generate_book(tmp_path / "first", chapters=2, paragraphs=4, parts=0, tables=False,
                           extra_yaml="styles: theme\n")
    (themed / "theme").mkdir()
    css = (default_styles() / "print.css").read_text(encoding="utf-8")
    (themed / "theme" / "print.css").write_text(css + "\n@page :first { background: rgb(0, 0, 255); }\n",
                                                encoding="utf-8")
    shutil.copytree(default_styles() / "fonts", themed / "theme" / "fonts")
    data, builder = build(themed, tmp_path / "out", tmp_path / "cache")
    blue = [number for number, page in enumerate(_fill_colours(data), 1) if b"0 0 1 rg" in page]
    assert blue == [1]
    assert not list((tmp_path / "cache").glob("*.pdf"))  # no section was laid out apart


def test_generated_back_matter_comes_after_the_body_with_its_page_numbers(book: Path, tmp_path: Path) -> None:
    seen = []

    def index(layout):  # type: ignore[no-untyped-def]
        seen.append(layout.page_count)
        first = next(c for c in read_book(book).chapters if c.kind == "chapter")
        folio = layout.folio_of(first.id)
        return [f'<section class="chapter kind-index backmatter page-chapter" id="gen-index" data-running-head="Index">'
                f'<h1 class="chapter-title">Index</h1><p>Beginnings, {folio}</p></section>']

    out = tmp_path / "out"
    out.mkdir()
    before, _ = build(book, tmp_path / "plain", None)
    builder = PdfBuilder(read_book(book), cache=None, workers=1, back_matter=[index])
    result = builder.build_pdf(out)
    with pymupdf.open(stream=before, filetype="pdf") as plain, pymupdf.open(result.path) as doc:
        assert seen and seen[0] == len(plain)
        assert len(doc) > len(plain)
        assert [p.get_text() for p in doc][: len(plain)] == [p.get_text() for p in plain]
        last = doc[len(doc) - 1].get_text()
        assert "Index" in last and f"Beginnings, {result.layout.folio_of(next(c.id for c in builder.book.chapters if c.kind == 'chapter'))}" in last
    assert result.layout.folio_of("gen-index") is not None


def test_the_cache_stays_within_its_bound(book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bookmaker import layoutcache

    cache = tmp_path / "cache"
    build(book, tmp_path / "a", cache)
    assert any(cache.glob("*.pdf"))
    monkeypatch.setattr(layoutcache, "IN_USE_SECONDS", -1)
    small = layoutcache.LayoutCache(cache, max_bytes=1)
    small.close()
    assert not any(cache.glob("*.pdf")) and not any(cache.glob("*.json"))


def test_the_command_line_keeps_the_cache_in_the_output_folder_unless_told_not_to(book: Path, tmp_path: Path) -> None:
    from conftest import run_cli

    kept, fresh = tmp_path / "kept", tmp_path / "fresh"
    first = run_cli("build", str(book), "-o", str(kept), "--format", "pdf", "-j", "2", timeout=600)
    assert first.returncode == 0, first.stderr
    assert any((kept / ".bookmaker-cache").glob("*.pdf"))
    second = run_cli("build", str(book), "-o", str(fresh), "--format", "pdf", "--no-cache", "-j", "1", timeout=600)
    assert second.returncode == 0, second.stderr
    assert not (fresh / ".bookmaker-cache").exists()
    with pymupdf.open(next(kept.glob("*.pdf"))) as a, pymupdf.open(next(fresh.glob("*.pdf"))) as b:
        assert [p.get_text() for p in a] == [p.get_text() for p in b]
    bad = run_cli("build", str(book), "-o", str(fresh), "-j", "0")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_watch_session_keeps_its_workers_between_builds(book: Path, tmp_path: Path) -> None:
    """build --watch passes one LayoutPool to every rebuild: its workers (with the theme parsed)
    outlive each build, and a rebuild through them equals a cold build."""
    from bookmaker.pool import LayoutPool

    manuscript = tmp_path / "manuscript"
    shutil.copytree(book, manuscript)
    cache = tmp_path / "cache"
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    pool = LayoutPool(2)
    try:
        first = PdfBuilder(read_book(manuscript), cache=cache, workers=2, pool=pool)
        first.build_pdf(tmp_path / "one")
        executor = pool._pool
        assert executor is not None, "the first build started the workers"
        edit_paragraph(manuscript)
        second = PdfBuilder(read_book(manuscript), cache=cache, workers=2, pool=pool)
        data = second.build_pdf(tmp_path / "two").path.read_bytes()
        assert pool._pool is executor, "the second build used the same workers"
        assert second.cache_misses <= 2, (second.cache_hits, second.cache_misses)
    finally:
        pool.close()
    cold, _ = build(manuscript, tmp_path / "cold", None)
    assert data == cold


def test_rebuild_converts_only_the_markdown_that_changed(book: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from bookmaker import markup, pipeline

    root = tmp_path / "manuscript"
    shutil.copytree(book, root)
    out = tmp_path / "out"
    converted: list[str] = []
    real = markup.new_markdown

    def counting(language: str, smart: bool = True):  # type: ignore[no-untyped-def]
        engine = real(language, smart)
        convert = engine.convert
        engine.convert = lambda text: converted.append(text) or convert(text)  # type: ignore[method-assign]
        return engine

    monkeypatch.setattr(markup, "new_markdown", counting)

    def rebuild() -> int:
        markup._converted.cache_clear()  # what a new process starts with
        converted.clear()
        pipeline.build(root, out, ("epub",))
        return len(converted)

    assert rebuild() >= 5  # every file, cold
    assert (out / ".bookmaker-cache" / "markdown.json").is_file()
    assert rebuild() == 0
    edit_word(root)
    assert rebuild() == 1
    assert "remarkably" in converted[0]
    # A changed setting that the conversion depends on is never served from the store.
    config = root / "book.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "smart_punctuation: false\n", encoding="utf-8")
    assert rebuild() >= 5
    # --no-cache neither reads nor writes the store.
    markup._converted.cache_clear()
    converted.clear()
    pipeline.build(root, tmp_path / "plain", ("epub",), cache=False)
    assert len(converted) >= 5 and not (tmp_path / "plain" / ".bookmaker-cache").exists()


@pytest.mark.parametrize("session", [False, True])
def test_the_merge_runs_apart_from_the_layout_workers_unless_a_session_keeps_them(session: bool) -> None:
    """A build's last job (the merge) frees the layout workers' memory first; a watch session's
    workers stay and take it."""
    import os

    from bookmaker.pool import LayoutPool

    pool = LayoutPool(2, session=session)
    try:
        pool.start()
        workers = {pool._pool.submit(os.getpid).result() for _ in range(8)}
        future = pool.submit(os.getpid, last=True)
        assert future is not None
        merger = future.result()
        assert merger != os.getpid()
        if session:
            assert pool._pool is not None and merger in set(pool._pool._processes)
        else:
            assert pool._pool is None, "the layout workers were stopped"
            assert merger not in workers
    finally:
        pool.close()


def test_a_change_to_bookmakers_code_invalidates_the_cache(book: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The key holds a digest of bookmaker's own code, not only its version number: a layout
    made by other code (an edited checkout, a patched install) is never reused."""
    from bookmaker.builders import pdfsections

    cache = tmp_path / "cache"
    build(book, tmp_path / "one", cache)
    _, again = build(book, tmp_path / "two", cache)
    assert again.cache_misses == 0 and again.cache_hits > 0
    monkeypatch.setattr(pdfsections, "code_digest", lambda: "code of another bookmaker")
    _, other = build(book, tmp_path / "three", cache)
    assert other.cache_hits == 0 and other.cache_misses > 0


def test_the_jobs_follow_adds_are_run_and_reported_after_the_given_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """LayoutPool.run with ``follow`` in this process: every job it adds runs once, and its
    report follows those of the given jobs."""
    from types import SimpleNamespace

    from bookmaker import engine
    from bookmaker.pool import LayoutPool

    ran: list[str] = []
    monkeypatch.setattr(engine, "lay_out_section", lambda job: ran.append(job.key) or {"pages": len(job.key)})
    jobs = [SimpleNamespace(key=k, keep=None, html=k) for k in ("a", "bb", "ccc")]

    def follow(job, report):  # type: ignore[no-untyped-def]
        return [SimpleNamespace(key=job.key + "-folios", keep=(), html="")] if "-" not in job.key else []

    reports = LayoutPool(1).run(jobs, follow)  # type: ignore[arg-type]
    assert ran == ["a", "bb", "ccc", "a-folios", "bb-folios", "ccc-folios"]
    assert [r["pages"] for r in reports] == [1, 2, 3, 8, 9, 10]


def test_folios_are_laid_out_while_the_body_still_is(tmp_path: Path) -> None:
    """The documents of folios of the sections whose start is known are laid out beside the
    last sections, not after the whole body: with two workers, the first section's folios are
    written before the last section is."""
    import json

    # Chapters of a few pages each: the last one takes many times a document of folios.
    book = generate_book(tmp_path / "manuscript", chapters=5, paragraphs=10, parts=0, tables=False)
    cache = tmp_path / "cache"
    data, _builder = build(book, tmp_path / "out", cache, workers=2)
    reports = {p: json.loads(p.read_text(encoding="utf-8")) for p in cache.glob("*.json")}
    folios = sorted(p.stat().st_mtime_ns for p, r in reports.items() if set(r) == {"pages", "fonts"})
    sections = sorted(p.stat().st_mtime_ns for p, r in reports.items() if "anchors" in r)
    assert len(folios) >= 5 and len(sections) >= 6, (len(folios), len(sections))
    # Laid out after the whole body, the first folios would come after every section's report
    # but the front matter's (the last: its contents print the body's folios).
    assert folios[0] < sections[-2]
    one, _ = build(book, tmp_path / "one", None, workers=1)
    assert data == one


def test_when_the_workers_fail_what_they_finished_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken pool mid-batch: the jobs not yet done are laid out in this process, each job's
    report and follow-ups exactly once."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool
    from types import SimpleNamespace

    from bookmaker import engine
    from bookmaker.pool import LayoutPool

    ran: list[str] = []

    def lay_out(job):  # type: ignore[no-untyped-def]
        ran.append(job.key)
        return {"pages": len(job.key)}

    class Failing:
        """Finishes the first job it is given, then breaks."""

        def __init__(self) -> None:
            self.calls = 0

        def submit(self, fn, job):  # type: ignore[no-untyped-def]
            self.calls += 1
            future: Future[dict[str, int]] = Future()
            if self.calls == 1:
                future.set_result(lay_out(job))
            else:
                future.set_exception(BrokenProcessPool("gone"))
            return future

        def shutdown(self, wait: bool, cancel_futures: bool) -> None:
            pass

    monkeypatch.setattr(engine, "lay_out_section", lay_out)
    pool = LayoutPool(2)
    pool._pool = Failing()
    followed: list[str] = []

    def follow(job, report):  # type: ignore[no-untyped-def]
        followed.append(job.key)
        return [SimpleNamespace(key=job.key + "-folios", keep=(), html="")] if "-" not in job.key else []

    jobs = [SimpleNamespace(key=k, keep=None, html=k) for k in ("a", "bb", "ccc")]
    reports = pool.run(jobs, follow)  # type: ignore[arg-type]
    assert sorted(ran) == sorted(followed) == ["a", "a-folios", "bb", "bb-folios", "ccc", "ccc-folios"]
    assert [r["pages"] for r in reports] == [1, 2, 3, 8, 9, 10]
    assert pool._broken and pool._pool is None


def _font_programs(data: bytes) -> list[bytes]:
    """The bytes of every embedded font program the PDF's font descriptors point at, once each."""
    import pikepdf

    with pikepdf.open(BytesIO(data)) as pdf:
        found: dict[tuple[int, int], bytes] = {}
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor":
                for name in ("/FontFile2", "/FontFile3"):
                    if name in obj:
                        found[obj[name].objgen] = obj[name].read_bytes()
        return list(found.values())


def _pixels(data: bytes) -> list[bytes]:
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return [page.get_pixmap(dpi=60).samples for page in doc]


def test_the_sections_share_one_subset_of_each_font(book: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    cache = tmp_path / "cache"
    shared, _ = build(book, tmp_path / "shared", cache)
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in cache.glob("*.json")]
    files = {(f["digest"], f["index"]) for r in reports for f in r["fonts"] if f["shared"]}
    assert files, "the sections reported the fonts they embed"
    # One program per font file, however many sections use it.
    assert len(_font_programs(shared)) == len(files)
    from bookmaker import fontunion

    monkeypatch.setattr(fontunion, "cut", lambda *args: None)  # each section keeps its own subsets
    apart, _ = build(book, tmp_path / "apart", None)
    assert len(_font_programs(apart)) > len(files) and len(shared) < len(apart)
    # The same pages, the same text.
    assert summary(shared) == summary(apart)
    assert _pixels(shared) == _pixels(apart)


def test_a_cut_is_the_subset_weasyprint_makes_of_the_same_glyphs(book: Path, tmp_path: Path) -> None:
    import json

    import pikepdf

    from bookmaker.fontunion import cut, kept_font_path

    cache = tmp_path / "cache"
    build(book, tmp_path / "out", cache)
    checked = 0
    for report_path in sorted(cache.glob("*.json")):
        report = json.loads(report_path.read_text(encoding="utf-8"))
        with pikepdf.open(report_path.with_suffix(".pdf")) as section:
            programs = {str(obj.FontName)[1:].split("+")[0]: obj.get("/FontFile3", obj.get("/FontFile2"))
                        for obj in section.objects
                        if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor"}
            for font in report["fonts"]:
                if font["shared"]:
                    whole = kept_font_path(cache, font["digest"]).read_bytes()
                    assert cut(whole, font["index"], font["glyphs"], font["hinting"]) == programs[font["tag"]].read_bytes()
                    checked += 1
    assert checked >= 3


def test_a_cache_without_its_whole_fonts_still_gives_the_book(book: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first, _ = build(book, tmp_path / "first", cache)
    for kept in cache.glob("*.font"):
        kept.unlink()
    again, builder = build(book, tmp_path / "again", cache)
    assert builder.cache_misses == 0
    # The sections keep their own subsets: a bigger file, the same pages.
    assert len(again) > len(first) and _pixels(again) == _pixels(first)
