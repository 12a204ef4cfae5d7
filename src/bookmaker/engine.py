"""The layout engine: every use of WeasyPrint (and of its internals) in the book, in one module."""

from __future__ import annotations

import atexit
import contextlib
import inspect
import re
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from bookmaker.cjk import is_cjk
from bookmaker.log import logger, warn
from bookmaker.sandbox import NETWORK_SCHEMES, host_allowed, inside, shorten_url

# ---- loading WeasyPrint ---------------------------------------------------------------------------
#
# WeasyPrint finds its C libraries by trying a name per platform in turn (``weasyprint.text.ffi``:
# "libgobject-2.0-0", "gobject-2.0-0", "gobject-2.0", "libgobject-2.0.so.0", ...), and cffi hands
# every name that does not load as it is to ``ctypes.util.find_library``, which on Linux runs
# ldconfig, then gcc and ld, for each: importing WeasyPrint started 215 programs and took 0.5 s,
# of which 0.2-0.35 s (and as much CPU again in those programs) went on them -- in the fork
# server, on the path of every build's first layout.  ``load_weasyprint`` imports it with bare
# names resolved as find_library's first step does (the ldconfig cache, read once) and without
# its gcc and ld fallbacks: WeasyPrint's list holds each library's Linux soname, which loads as
# it is wherever find_library's answer would.  Should that import fail, WeasyPrint is imported
# again the usual way.


def load_weasyprint() -> None:
    """Import WeasyPrint in this process, if it is not yet, without the compiler probes."""
    import io
    import sys

    if "weasyprint" in sys.modules:
        return
    import cffi.api

    original = cffi.api._load_backend_lib

    def load(backend: Any, name: Any, flags: int) -> Any:
        if not isinstance(name, str) or "/" in name:
            return original(backend, name, flags)
        try:
            return backend.load_library(name, flags)
        except OSError:
            soname = _ldconfig_soname(name)
            if soname is None:
                raise
            return backend.load_library(soname, flags)

    cffi.api._load_backend_lib = load
    try:
        # WeasyPrint prints its installation help before it gives up on a library.
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint  # noqa: F401
        return
    except Exception:  # noqa: BLE001 - any failure: the usual import below says what is wrong
        for module in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
            del sys.modules[module]
    finally:
        cffi.api._load_backend_lib = original
    import weasyprint  # noqa: F401,F811


def _ldconfig_soname(name: str) -> str | None:
    """What ``ctypes.util.find_library(name)`` finds in the ldconfig cache (its first step)."""
    import os
    import struct

    machine = os.uname().machine + ("-32" if struct.calcsize("l") == 4 else "-64")
    abi = {"x86_64-64": "libc6,x86-64", "ppc64-64": "libc6,64bit", "sparc64-64": "libc6,64bit",
           "s390x-64": "libc6,64bit", "ia64-64": "libc6,IA-64"}.get(machine, "libc6")
    found = re.search(rf"\s+(lib{re.escape(name)}\.[^\s]+)\s+\({re.escape(abi)}", _ldconfig_cache())
    return found.group(1) if found else None


@lru_cache(maxsize=1)
def _ldconfig_cache() -> str:
    """``ldconfig -p``, read once per process ("" without ldconfig)."""
    import subprocess

    try:
        return subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, stdin=subprocess.DEVNULL,
                              env={"LC_ALL": "C", "LANG": "C"}, check=False).stdout.decode("utf-8", "replace")
    except OSError:
        return ""

# ---- the font subsetter ---------------------------------------------------------------------------
#
# WeasyPrint subsets every embedded font with HarfBuzz's subsetter when its library loads, and
# otherwise with fontTools (``weasyprint.pdf.fonts.Font.subset``), which parses the whole font in
# Python each time.  The book is written as one PDF per section, and each subsets its fonts: on
# the 40-chapter benchmark book the fontTools path took the build from 12.5 to 21.8 s (CPU 23 to
# 41 s), most of it parsing Noto Serif SC's 9 MB of outlines again for every section.  Debian
# ships the library apart from HarfBuzz itself (libharfbuzz-subset0), so a machine with Pango
# installed may still lack it; the build says so (BM532) instead of being silently slow.

#: The names WeasyPrint 70 tries for the library, in its order (``weasyprint.text.ffi``).
HARFBUZZ_SUBSET = ("libharfbuzz-subset-0", "harfbuzz-subset", "harfbuzz-subset-0.0", "libharfbuzz-subset.so.0",
                    "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll")


@lru_cache(maxsize=1)
def font_subsetter() -> str:
    """Which subsetter WeasyPrint will use here, "harfbuzz" or "fonttools", found without
    importing WeasyPrint (the build's own process does not load it)."""
    import ctypes

    # The list holds each platform's file name (Linux: the soname), which loads as it is.
    for name in HARFBUZZ_SUBSET:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return "harfbuzz"
    return "fonttools"


def warn_slow_subsetter() -> None:
    """BM532, once per process, when fonts will be subset with fontTools."""
    global _subsetter_warned
    if font_subsetter() == "harfbuzz" or _subsetter_warned:
        return
    _subsetter_warned = True
    warn("HarfBuzz-Subset is not installed (Debian and Ubuntu: libharfbuzz-subset0), so WeasyPrint "
         "subsets the fonts with fontTools, which makes the PDF about twice as slow to build", code="BM532")


_subsetter_warned = False


# Not a fix: the same fonts, sooner.  ``Font._harfbuzz_subset`` passes its glyph ids to HarfBuzz
# in arrays typed by their length (``ffi.new(f'hb_codepoint_t[{n}]')``), and cffi parses every
# new type string with pycparser, about 2 ms each: two for each font of each section, 0.7 s
# of a 40-chapter book.  The shortcut makes the same arrays with the one open array type.
# Applied only to the exact source.
_SUBSET_ARRAYS = {
    "    gid_array = ffi.new(f'hb_codepoint_t[{len(to_unicode)}]', sorted(to_unicode))\n":
        "    gid_array = ffi.new('hb_codepoint_t[]', sorted(to_unicode))\n",
    "    drop_tables_array = ffi.new(f'hb_codepoint_t[{len(drop_tables)}]', drop_tables)\n":
        "    drop_tables_array = ffi.new('hb_codepoint_t[]', drop_tables)\n",
    "    gid_array = ffi.new(f'hb_codepoint_t[{len(keep)}]', keep)\n":
        "    gid_array = ffi.new('hb_codepoint_t[]', keep)\n",
}

_subset_shortcut_applied: bool | None = None


def apply_subset_shortcut() -> bool:
    """Make the subsetter's glyph arrays without a new cffi type each, once per process; True if active."""
    global _subset_shortcut_applied
    if _subset_shortcut_applied is not None:
        return _subset_shortcut_applied

    from weasyprint.pdf import fonts

    subset = _shortcut(fonts, "_harfbuzz_subset", _SUBSET_ARRAYS, {}, "font subsetter", owner=fonts.Font)
    if subset is not None:
        fonts.Font._harfbuzz_subset = subset
    _subset_shortcut_applied = subset is not None
    return _subset_shortcut_applied

# ---- the footnote placement fix -------------------------------------------------------------------
#
# A narrow correction of WeasyPrint 70's footnote placement (WeasyPrint #1564 family).
#
# WeasyPrint lays out a footnote when it lays out the line that calls it.  Two paths in
# ``weasyprint.layout.block._linebox_layout`` then separate the note from its call:
#
# 1. When a later line of the same paragraph overflows the page and orphans/widows forbid
#    breaking just before it, WeasyPrint *moves the page's last footnote to the next page*
#    to make room for the line, although the call stays on this page.
# 2. When a break moves the paragraph's last lines to the next page to satisfy ``widows``,
#    the notes called in those lines stay on this page, before their calls.
#
# The fix keeps the engine's own algorithm and changes those two spots: the overflowing
# line is broken like any other (notes are never pushed away to make room for text), and
# notes whose calling lines moved to the next page move with them.  The patch is applied
# only to the exact source it was written for; any other WeasyPrint version is left alone
# with one BM530 warning per process (footnotes may then land a page after their call).

_REPORT = "report = not context.in_column and can_break_now and not could_break_before"
_BREAK = """                abort, stop, resume_at = _break_line(
                    context, box, line, new_children, needed, page_is_empty, index,
                    skip_stack, resume_at, absolute_boxes, fixed_boxes)
"""
_BREAK_FIXED = _BREAK + """                _bookmaker_drop_moved_notes(context, new_children, new_footnotes)
"""
_POLICY_BREAK = """                            abort, stop, resume_at = _break_line(
                                context, box, line, new_children, needed, page_is_empty,
                                index, skip_stack, resume_at, absolute_boxes,
                                fixed_boxes)
"""
_POLICY_BREAK_FIXED = _POLICY_BREAK + """                            _bookmaker_drop_moved_notes(context, new_children, new_footnotes)
"""

_applied: bool | None = None


def _drop_moved_notes(context, new_children, new_footnotes):  # type: ignore[no-untyped-def]
    """Unlayout the notes laid out for lines that a widows break just moved to the next page."""
    kept = set()
    for line in new_children:
        for descendant in line.descendants():
            if getattr(descendant, "footnote", None) is not None:
                kept.add(id(descendant.footnote))
    for footnote in list(new_footnotes):
        if id(footnote) not in kept:
            context.unlayout_footnote(footnote)
            new_footnotes.remove(footnote)


#: WeasyPrint's own functions that a patch replaced, by (module, name): the source of every patch.
ORIGINALS: dict[tuple[str, str], Any] = {}


def _patched(module: Any, name: str, edits: dict[str, str], helpers: dict[str, Any], what: str,
             owner: Any = None) -> tuple[Any, str | None]:
    """``module.name`` (or the method ``owner.name`` of a class of the module) compiled again
    from its source with ``edits`` (each old text must occur exactly once) and ``helpers`` among
    its globals; or (None, why not) when the installed WeasyPrint is not the source the edits
    were written for."""
    import weasyprint

    if not weasyprint.__version__.startswith("70."):
        return None, f"it was written for WeasyPrint 70, found {weasyprint.__version__}"
    # Always WeasyPrint's own function, even once patched (a patch has no source of its own).
    key = name if owner is None else f"{owner.__name__}.{name}"
    original = ORIGINALS.setdefault((module.__name__, key), getattr(module if owner is None else owner, name))
    if isinstance(original, property):  # its getter's source, decorator included: a property again
        original = original.fget
    try:
        source = textwrap.dedent(inspect.getsource(original))
    except (OSError, TypeError):
        return None, f"the source of WeasyPrint's {what} cannot be read"
    if any(source.count(old) != 1 for old in edits):
        return None, f"WeasyPrint's {what} is not the expected one"
    for old, new in edits.items():
        source = source.replace(old, new)
    namespace = {**vars(module), **helpers}
    exec(compile(source, module.__file__, "exec"), namespace)  # noqa: S102 - our own patch of a known source
    return namespace[name], None


def _shortcut(module: Any, name: str, edits: dict[str, str], helpers: dict[str, Any], what: str,
              owner: Any = None) -> Any:
    """``_patched`` for a speed-up: without it the output is the same, only slower, so a
    WeasyPrint it does not fit is a DEBUG line rather than a warning."""
    patched, reason = _patched(module, name, edits, helpers, what, owner)
    if patched is None:
        logger.debug("the %s shortcut is not applied (%s)", what, reason)
    return patched


def apply_footnote_fix() -> bool:
    """Patch ``_linebox_layout`` once per process; True if the fix is active.

    When the installed WeasyPrint is not the one the patch was written for, the build goes
    on unpatched and says so once (BM530): a note may then print a page after its call.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    from weasyprint.layout import block

    edits = {_REPORT: "report = False", _BREAK: _BREAK_FIXED, _POLICY_BREAK: _POLICY_BREAK_FIXED}
    patched, reason = _patched(block, "_linebox_layout", edits, {"_bookmaker_drop_moved_notes": _drop_moved_notes},
                               "line layout")
    if patched is None:
        warn(f"the footnote placement fix is not applied ({reason}); a footnote may print on the page "
             "after its call", code="BM530")
        return False
    block._linebox_layout = patched
    _applied = True
    return True


def footnote_fix_applied() -> bool:
    """Whether the fix is active in this process."""
    return bool(_applied)


# ---- the line-fit fix -----------------------------------------------------------------------------
#
# A narrow correction of WeasyPrint 70's line breaking (WeasyPrint #1051, "Stray line break").
#
# ``weasyprint.text.line_break.split_first_line`` lets Pango break a text box in the width left
# on the line.  When Pango puts all of the text on one line, step 2 still checks that line's
# width (``pango_layout_line_get_extents``) against the width left -- and when the text ends with
# a collapsible space, that width counts the space, which Pango's own breaking lets hang past
# the margin.  A text box ends with a space whenever an inline element follows it ("company,
# <span class="index">Kingsoft</span>", a link, an emphasis, the paragraph's ``.last-words``).
# If the text fits but for that space, the check fails and step 3 takes the branch meant for a
# first word too long to split: it keeps only the *first word* of the box on the line, and the
# rest starts a new one -- the Prologue's "forty" alone above "years old. He had spent ...".
# (Where Pango itself wraps, the extents leave the space out, so the same words as one text box
# break correctly.)  After #1051 (2020) WeasyPrint guarded against this (``first_line_fits``: a
# line with a space in it was taken to fit); the rewritten function of version 70 has no guard.
#
# The fix changes that one test: a one-line layout whose text fits without its trailing spaces
# fits.  Everything after is WeasyPrint's (the overflow check in ``split_inline_box`` already
# discounts trailing spaces, and the line's last space is removed before justification).  As for
# the footnote fix, the patch is applied only to the exact source it was written for; otherwise
# the build goes on unpatched with one BM531 warning per process.

_FITS = "    if resume_index is None and first_line_width <= max_width:\n"
_FITS_FIXED = ("    if resume_index is None and (first_line_width <= max_width or _bookmaker_fits_but_for_space(\n"
               "            text, style, context, max_width, justification_spacing, space_collapse)):\n")

# The same patch carries a shortcut (not a fix: the same lines, sooner).  Step 3 of
# ``split_first_line`` lays the line out again with the next word added, to see whether the word
# fits after all; in a book it rarely does (93 % of the tries fail), and each try is one more
# Pango layout.  The layout at hand already holds that word at the start of its second line, so
# its width is known: when the line plus the word is wider than the measure by a quarter of an
# em (room for any kerning at the join), the try is skipped, and what follows -- hyphenation,
# ``first_line_metrics`` -- sees the same first line and break as the failed try would give it.

_NEXT_WORD = "        if space_collapse and second_line_text[break_point or -1] == ' ':\n"
_NEXT_WORD_SHORT = ("        if space_collapse and second_line_text[break_point or -1] == ' ' and not (\n"
                    "                first_line_text and _bookmaker_word_overflows(\n"
                    "                    layout, first_line_text, next_word, first_line_width, max_width, style)):\n")

_line_fit_applied: bool | None = None


def _fits_but_for_space(text, style, context, max_width, justification_spacing, space_collapse) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``text``, laid out by Pango on one line, fits ``max_width`` once its trailing
    collapsible spaces are left out (they hang at the end of the line)."""
    from weasyprint.text.line_break import create_layout, line_size

    stripped = text.rstrip(" ")
    if not space_collapse or stripped == text or not stripped:
        return False
    layout = create_layout(stripped, style, context, max_width, justification_spacing)
    line, index = layout.get_first_line()
    return index is None and line_size(line, style)[0] <= max_width


def _word_overflows(layout, first_line_text, next_word, first_line_width, max_width, style) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``first_line_text + next_word`` surely overflows ``max_width``, measured on
    ``layout``, whose second line opens with the word (left to right, plain spacing only)."""
    from weasyprint.text.ffi import FROM_UNITS, ffi, pango

    if (layout.first_line_direction != 0 or style["letter_spacing"] != "normal" or style["word_spacing"]
            or not next_word):
        return False
    start = len(first_line_text.encode())
    end = start + len(next_word.encode())
    line = pango.pango_layout_get_line_readonly(layout.layout, 1)
    if line == ffi.NULL or line.start_index != start or line.start_index + line.length < end:
        return False  # the word is not all on the second line
    return bool(_width_before(line, end) * FROM_UNITS + first_line_width > max_width + style["font_size"] / 4)


def _width_before(line, end: int) -> int:  # type: ignore[no-untyped-def]
    """The advance, in Pango units, of the glyphs of ``line`` before byte ``end`` of its text."""
    from weasyprint.text.ffi import ffi

    width, run = 0, line.runs
    while run != ffi.NULL:
        glyph_item = run.data
        run = run.next
        offset, glyphs = glyph_item.item.offset, glyph_item.glyphs
        for i in range(glyphs.num_glyphs):
            if offset + glyphs.log_clusters[i] >= end:
                return width
            width += glyphs.glyphs[i].geometry.width
    return width


def apply_line_fit_fix() -> bool:
    """Patch ``split_first_line`` once per process; True if the fix is active (else BM531)."""
    global _line_fit_applied
    if _line_fit_applied is not None:
        return _line_fit_applied
    _line_fit_applied = False
    from weasyprint.layout import inline, preferred
    from weasyprint.text import line_break

    patched, reason = _patched(line_break, "split_first_line", {_FITS: _FITS_FIXED, _NEXT_WORD: _NEXT_WORD_SHORT},
                               {"_bookmaker_fits_but_for_space": _fits_but_for_space,
                                "_bookmaker_word_overflows": _word_overflows}, "line breaking")
    if patched is None:
        warn(f"the line-fit fix is not applied ({reason}); a line may end after its first word "
             "before an inline element", code="BM531")
        return False
    # Every module that imported the function by name (svg.text imports it at each call).
    for module in (line_break, inline, preferred):
        module.split_first_line = patched
    _line_fit_applied = True
    return True


def line_fit_fix_applied() -> bool:
    """Whether the line-fit fix is active in this process."""
    return bool(_line_fit_applied)


# ---- the margin-box shortcut ----------------------------------------------------------------------
#
# Not a fix: the same pages, sooner.  ``weasyprint.layout.page.make_margin_boxes`` builds all
# sixteen margin boxes of every page and resolves the percentages of each (``resolve_percentages``
# reads some twenty computed values), then sets an empty box's size and spacing to zero -- which
# is all that is read of a box that is not generated (``compute_variable_dimension`` takes its
# zero width; it is neither laid out nor drawn).  The shortcut zeroes an empty box at once.  A
# book page has two generated boxes at most, so this was about 4 % of a build (the documents of
# folios, pages with nothing but a margin box, gained 12 %).  Applied only to the exact source;
# otherwise WeasyPrint's own code runs, with nothing to warn about.

_RESOLVE = """        resolve_percentages(box, containing_block)
        if not box.is_generated:
"""
_RESOLVE_SHORT = """        if not box.is_generated:
            box.width = box.height = 0
            for side in ('top', 'right', 'bottom', 'left'):
                box._reset_spacing(side)
            return box
""" + _RESOLVE

_margin_shortcut_applied: bool | None = None


def apply_margin_box_shortcut() -> bool:
    """Patch ``make_margin_boxes`` once per process; True if the shortcut is active."""
    global _margin_shortcut_applied
    if _margin_shortcut_applied is not None:
        return _margin_shortcut_applied
    from weasyprint import layout
    from weasyprint.layout import page

    patched = _shortcut(page, "make_margin_boxes", {_RESOLVE: _RESOLVE_SHORT}, {}, "margin boxes")
    if patched is not None:
        page.make_margin_boxes = layout.make_margin_boxes = patched
    _margin_shortcut_applied = patched is not None
    return _margin_shortcut_applied


# ---- the Pango layout shortcuts ------------------------------------------------------------------
#
# Not fixes either: the same lines, sooner.  WeasyPrint makes a Pango layout for every try at a
# line (``split_first_line``), for every justified piece of text and again to draw it, and each
# ``Layout.setup`` makes a new Pango context, font description and language from the style --
# 40,000 of them for a 40-chapter book, 11 % of its layout time.  They depend on a dozen
# computed values only, so the shared setup makes them once per distinct set of values (kept on
# the FontConfiguration, which they belong to) and gives each layout its own PangoLayout and
# attribute list, as before.  And ``add_word_spacing`` makes a whole layout for each justified
# text box only to keep its text and spacing until drawing, which sets the layout up again
# (``Layout.reactivate``): it now keeps just those.  Applied only to the exact source;
# otherwise WeasyPrint's own code runs.

#: The computed values ``Layout.setup`` reads.
_SETUP_VALUES = ("direction", "font_language_override", "lang", "font_family", "font_style", "font_stretch",
                 "font_weight", "font_size", "font_variant_caps", "font_variation_settings", "text_decoration_line",
                 "font_kerning", "font_variant_ligatures", "font_variant_position", "font_variant_numeric",
                 "font_variant_alternates", "font_variant_east_asian", "font_feature_settings")
#: sha256 of ``weasyprint.text.line_break.Layout.setup`` in WeasyPrint 70.0, which ``_shared_setup`` replaces.
_SETUP_SOURCE = "fb227a55094f41d42fbd57f180d8b7a9a1e741969ec8ddb3fd5cd80920257442"

_SPACING_LAYOUT = """            layout = create_layout(
                box.text, box.style, context, max_width=None,
                justification_spacing=box.justification_spacing)
            layout.deactivate()
"""
_SPACING_KEPT = """            layout = _bookmaker_spacing_layout(box, context)
"""

_pango_shortcuts_applied: bool | None = None


def _hashable(value: Any) -> Any:
    """A computed value as a dictionary key (``text-decoration-line`` is a set, some are lists)."""
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(value))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(item) for item in value)
    return value


def _setup_parts(style) -> tuple[Any, Any, Any, tuple[Any, ...], Any]:  # type: ignore[no-untyped-def]
    """The Pango context, language, font description, decoration metrics and font-features
    attribute of ``style``, made once per FontConfiguration and set of values."""
    from weasyprint.text.constants import LST_TO_ISO, PANGO_DIRECTION
    from weasyprint.text.ffi import FROM_UNITS, ffi, gobject, pango, unicode_to_char_p
    from weasyprint.text.fonts import font_features, get_font_description

    font_config = style.font_config
    made = font_config.__dict__.setdefault("_bookmaker_setups", {})
    key: tuple[Any, ...] = tuple(map(style.__getitem__, _SETUP_VALUES))
    try:
        found = made.get(key)
    except TypeError:  # a set or a list among the values: rare, and slower
        key = tuple(_hashable(value) for value in key)
        found = made.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    # What follows is ``Layout.setup``'s own sequence of calls, once.
    context = ffi.gc(pango.pango_font_map_create_context(font_config.font_map), gobject.g_object_unref)
    pango.pango_context_set_round_glyph_positions(context, False)
    pango.pango_context_set_base_dir(context, PANGO_DIRECTION[style["direction"]])
    override, lang = style["font_language_override"], style["lang"]
    if override != "normal":
        lang = LST_TO_ISO.get(override.lower(), override)
    if lang:
        language = pango.pango_language_from_string(unicode_to_char_p(lang)[0])
        pango.pango_context_set_language(context, language)
    else:
        language = pango.pango_language_get_default()
    description = get_font_description(style)
    metrics: tuple[Any, ...] = (None, None, None)
    if style["text_decoration_line"] != "none":
        font_metrics = ffi.gc(pango.pango_context_get_metrics(context, description, language),
                              pango.pango_font_metrics_unref)
        metrics = tuple(FROM_UNITS * get(font_metrics) for get in (
            pango.pango_font_metrics_get_ascent, pango.pango_font_metrics_get_underline_position,
            pango.pango_font_metrics_get_strikethrough_position, pango.pango_font_metrics_get_underline_thickness,
            pango.pango_font_metrics_get_strikethrough_thickness))
    features = font_features(
        style["font_kerning"], style["font_variant_ligatures"], style["font_variant_position"],
        style["font_variant_caps"], style["font_variant_numeric"], style["font_variant_alternates"],
        style["font_variant_east_asian"], style["font_feature_settings"])
    attribute = None
    if features:
        setting = ",".join(f"{name} {value}" for name, value in features.items()).encode()
        attribute = font_config.font_features.setdefault(setting, pango.pango_attr_font_features_new(setting))
    made[key] = (context, language, description, metrics, attribute)
    return made[key]  # type: ignore[no-any-return]


def _shared_setup(self, style) -> None:  # type: ignore[no-untyped-def]
    """``Layout.setup`` on shared Pango objects: a new PangoLayout (and attribute list) each time."""
    from weasyprint.text.ffi import ffi, gobject, pango

    self.style = style
    self.first_line_direction = 0
    context, self.language, description, metrics, attribute = _setup_parts(style)
    self.layout = ffi.gc(pango.pango_layout_new(context), gobject.g_object_unref)
    pango.pango_layout_set_auto_dir(self.layout, False)
    pango.pango_layout_set_font_description(self.layout, description)
    self.ascent, self.underline_position, self.strikethrough_position = metrics[:3]
    if metrics[0] is not None:
        self.underline_thickness, self.strikethrough_thickness = metrics[3:]
    if attribute is not None:
        attributes = pango.pango_attr_list_new()
        pango.pango_attr_list_insert(attributes, attribute)
        pango.pango_layout_set_attributes(self.layout, attributes)


def _spacing_layout(box, context):  # type: ignore[no-untyped-def]
    """What ``add_word_spacing`` keeps of a justified text box's layout until it is drawn: its text
    and spacing (``Layout.reactivate`` sets the rest up); a real layout where ``set_text`` would
    change the text or the style has decorations, whose metrics are read before drawing."""
    from weasyprint.text.line_break import Layout, create_layout

    text = box.text
    if box.style["text_decoration_line"] != "none" or "\n" in text or "\t" in text or text == " ":
        layout = create_layout(text, box.style, context, max_width=None,
                               justification_spacing=box.justification_spacing)
        layout.deactivate()
        return layout
    layout = Layout.__new__(Layout)
    layout.justification_spacing, layout.max_width, layout.first_line_direction = box.justification_spacing, None, 0
    layout.ascent = layout.underline_position = layout.strikethrough_position = None
    layout.text = text
    return layout


def apply_pango_shortcuts() -> bool:
    """Share ``Layout.setup``'s Pango objects and keep justified text without a layout, once per
    process; True if both shortcuts are active."""
    global _pango_shortcuts_applied
    if _pango_shortcuts_applied is not None:
        return _pango_shortcuts_applied
    import hashlib

    from weasyprint.layout import inline
    from weasyprint.text import line_break

    _pango_shortcuts_applied = False
    setup = ORIGINALS.setdefault(("weasyprint.text.line_break", "Layout.setup"), line_break.Layout.setup)
    try:
        setup_source = inspect.getsource(setup)
    except (OSError, TypeError):
        setup_source = ""
    patched, reason = _patched(inline, "add_word_spacing", {_SPACING_LAYOUT: _SPACING_KEPT},
                               {"_bookmaker_spacing_layout": _spacing_layout}, "word spacing")
    if hashlib.sha256(setup_source.encode()).hexdigest() != _SETUP_SOURCE or patched is None:
        logger.debug("the Pango layout shortcuts are not applied (%s)", reason or "another Layout.setup")
        return False
    line_break.Layout.setup = _shared_setup
    inline.add_word_spacing = patched
    _pango_shortcuts_applied = True
    return True


# ---- the justified-text drawing shortcut ---------------------------------------------------------
#
# Not a fix: the same PDF, sooner.  To draw a justified text box WeasyPrint lays its text out
# again with the justification as a letter-spacing attribute on every space
# (``Layout.set_text(justify=True)``).  Pango then itemizes at every attribute change, so the
# line is shaped word by word, and ``draw_first_line`` walks one run per word.  The shortcut
# draws such a box from its text shaped as one run, as the line was measured, and gives each
# space glyph the width and offset Pango gives it for that spacing (``_spaces``): byte for
# byte the same PDF (a font that kerned a letter against a space would differ by that kern,
# which the line's measure counts and the word-by-word drawing drops).  Only for plain
# spacing, left to right (no word-spacing, letter-spacing or ellipsis, where the attribute is
# more than the justification); applied only to the exact source, otherwise WeasyPrint's
# own code runs.  Drawing took 2.0 s of the 40-chapter book's 10.5 s of section layouts,
# 1.3 s with this and the glyph walk below (measured in alternation).

_REACTIVATE = "    textbox.pango_layout.reactivate(textbox.style)\n"
_REACTIVATE_SHORT = "    _bookmaker_reactivate(textbox, text_overflow, block_ellipsis)\n"
_GLYPH_WIDTH = "            width = glyph_info.geometry.width\n"
_GLYPH_WIDTH_SPACED = (_GLYPH_WIDTH + "            shift = 0\n"
                       "            if spaces and glyph_item.item.offset + clusters[i] in spaces and (\n"
                       "                    i == 0 or clusters[i] != clusters[i - 1]):\n"
                       "                added, shift = spaces[glyph_item.item.offset + clusters[i]]\n"
                       "                width += added\n")
_GLYPH_OFFSET = "            offset = glyph_info.geometry.x_offset / font_size\n"
_GLYPH_OFFSET_SPACED = "            offset = (glyph_info.geometry.x_offset + shift) / font_size\n"
_RUNS = "    run = first_line.runs[0]\n"
_RUNS_SPACED = "    spaces = _bookmaker_spaces(textbox.pango_layout)\n" + _RUNS
#: The characters ``Layout.set_text(justify=True)`` gives the justification to, in UTF-8.
_SPACE_RE = re.compile(b" |\xc2\xa0")

# The same patch walks a run's glyphs in one go where nothing in it needs WeasyPrint's own loop:
# the glyph string read as one block of integers instead of four cffi lookups a glyph, the same
# arithmetic in the same order, so the same bytes.
_GLYPH_LOOP = "        for i, glyph_info in enumerate(glyphs_info[0:num_glyphs]):\n"
_GLYPH_LOOP_FAST = ("        fast = _bookmaker_glyph_run(glyph_item, font, font_size, spaces, textbox.pango_layout.text,\n"
                    "                                    stream, pango_font, x_advance)\n"
                    "        if fast is not None:\n"
                    "            string, x_advance = string + fast[0], fast[1]\n"
                    "        for i, glyph_info in enumerate(glyphs_info[0:num_glyphs] if fast is None else ()):\n")
#: A ``PangoGlyphInfo``: glyph, width, x offset, y offset, visual attributes (pango/pango-glyph.h).
_GLYPH_INTS = 5

_justified_drawing_applied: bool | None = None


def _reactivate(textbox, text_overflow, block_ellipsis) -> None:  # type: ignore[no-untyped-def]
    """``Layout.reactivate`` for drawing ``textbox``: a justified box's text is shaped without the
    spacing, which ``draw_first_line`` then gives its spaces (``_spaces``)."""
    from weasyprint.text.ffi import TO_UNITS

    layout, style = textbox.pango_layout, textbox.style
    spacing = layout.justification_spacing
    plain = (spacing and style["word_spacing"] == 0 and style["letter_spacing"] == "normal"
             and style["direction"] == "ltr" and text_overflow != "ellipsis" and block_ellipsis == "none")
    if not plain:
        layout._bookmaker_extra = 0
        layout.reactivate(style)
        return
    layout.setup(style)
    layout.set_text(layout.text)
    # As set_text(justify=True) gives it to Pango: word spacing in Pango units.
    layout._bookmaker_extra = int(spacing * TO_UNITS)


def _half(spacing: int) -> int:
    """The part of a letter spacing Pango puts before the glyph (``distribute_letter_spacing``)."""
    left = int(spacing / 2)  # C division
    if spacing & 1023 == 0:  # whole points: the half is rounded to a point (hinting)
        left = (left + 512) & ~1023
    return left


def _spaces(layout) -> dict[int, tuple[int, int]]:  # type: ignore[no-untyped-def]
    """What Pango would add to each space glyph of ``layout``'s text justified: (width, x offset)
    in Pango units, by the space's byte offset.

    ``set_text(justify=True)`` gives each space the spacing as letter spacing, twice at the
    text's first and last byte; Pango puts half of a letter spacing before the glyph, and takes
    it off again at the line's ends (``adjust_line_letter_spacing``)."""
    extra = getattr(layout, "_bookmaker_extra", 0)
    if not extra:
        return {}
    text = layout.text.encode()
    last = len(text)
    found = {}
    for match in _SPACE_RE.finditer(text):
        at = match.start()
        spacing = extra * (2 if at in (0, last - 1) else 1)
        left = _half(spacing)
        width, shift = spacing, left
        if at == 0:
            width, shift = width - left, 0
        if match.end() == last:
            width -= spacing - left
        found[at] = (width, shift)
    return found


def _glyph_run(glyph_item, font, font_size, spaces, text, stream, pango_font, x_advance):  # type: ignore[no-untyped-def]
    """What ``draw_first_line``'s glyph loop adds for one run: its glyphs and adjustments, and
    the advance so far; None when the run needs the loop itself (a colour font, right to left,
    an empty or missing glyph, a raised one)."""
    from weasyprint.text.ffi import FROM_UNITS, ffi, pango

    if font.svg or font.png or font.colr or glyph_item.item.analysis.level % 2:
        return None
    glyph_string = glyph_item.glyphs
    count = glyph_string.num_glyphs
    if count == 0 or ffi.sizeof("PangoGlyphInfo") != 4 * _GLYPH_INTS:
        return None
    ints = memoryview(ffi.buffer(glyph_string.glyphs, 4 * _GLYPH_INTS * count)).cast("i")
    glyphs, widths, x_offsets = (ints[field::_GLYPH_INTS].tolist() for field in range(3))
    if any(ints[3::_GLYPH_INTS]) or max(glyphs) >= pango.PANGO_GLYPH_EMPTY or min(glyphs) < 0:
        return None  # PANGO_GLYPH_EMPTY, and the PANGO_GLYPH_UNKNOWN_FLAG above it
    clusters = memoryview(ffi.buffer(glyph_string.log_clusters, 4 * count)).cast("i").tolist()
    start, length = glyph_item.item.offset, glyph_item.item.length
    to_unicode, known_widths = font.to_unicode, font.widths
    code = "02x" if font.bitmap else "04x"
    utf8 = None
    parts = []
    for i in range(count):
        glyph_id, width, shift = glyphs[i], widths[i], 0
        if spaces and start + clusters[i] in spaces and (i == 0 or clusters[i] != clusters[i - 1]):
            added, shift = spaces[start + clusters[i]]
            width += added
        if glyph_id not in to_unicode:
            utf8 = utf8 or text.encode()
            end = length if i == count - 1 else clusters[i + 1]
            to_unicode[glyph_id] = utf8[start + clusters[i]:start + end].decode()
        offset = (x_offsets[i] + shift) / font_size
        if offset:
            parts.append(f">{-offset}<")
        parts.append(format(glyph_id, code))
        logical_width = known_widths.get(glyph_id)
        if logical_width is None:
            pango.pango_font_get_glyph_extents(pango_font, glyph_id, stream.ink_rect, stream.logical_rect)
            logical_width = known_widths[glyph_id] = round(stream.logical_rect.width * 1000 * FROM_UNITS / font_size)
        kerning = logical_width + offset - width * 1000 * FROM_UNITS / font_size
        if kerning:
            parts.append(f">{int(kerning)}<")
        x_advance += (logical_width + offset - kerning) / 1000
    return "".join(parts), x_advance


def apply_justified_drawing() -> bool:
    """Draw justified text boxes from one shaped run, once per process; True if active."""
    global _justified_drawing_applied
    if _justified_drawing_applied is not None:
        return _justified_drawing_applied
    from weasyprint import draw
    from weasyprint.draw import text

    _justified_drawing_applied = False
    first_line, reason = _patched(text, "draw_first_line", {_RUNS: _RUNS_SPACED, _GLYPH_WIDTH: _GLYPH_WIDTH_SPACED,
                                                            _GLYPH_OFFSET: _GLYPH_OFFSET_SPACED, _GLYPH_LOOP: _GLYPH_LOOP_FAST},
                                  {"_bookmaker_spaces": _spaces, "_bookmaker_glyph_run": _glyph_run}, "text drawing")
    draw_text = None
    if first_line is not None:
        draw_text, reason = _patched(text, "draw_text", {_REACTIVATE: _REACTIVATE_SHORT},
                                     {"_bookmaker_reactivate": _reactivate, "draw_first_line": first_line},
                                     "text drawing")
    if draw_text is None:
        logger.debug("the justified-text drawing shortcut is not applied (%s)", reason)
        return False
    # draw/__init__ imported the function by name; SVG text keeps WeasyPrint's draw_first_line.
    text.draw_text = draw.draw_text = draw_text
    _justified_drawing_applied = True
    return True


# ---- the PNG shortcut ----------------------------------------------------------------------------
#
# Not a fix: the same pixels, sooner.  WeasyPrint puts a PNG into the PDF by decoding it and
# encoding it again as PNG, only to keep the compressed rows (``RasterImage._get_png_data``):
# the PDF's FlateDecode filter with a PNG predictor reads exactly what a PNG's IDAT chunks hold
# (ISO 32000-1, 7.4.4.4).  For an 8-bit grey or RGB PNG without interlacing the shortcut takes
# those chunks from the file as they are, which spares a decode and an encode of every pixel
# (about 30 ms for a 1800 x 1100 photograph, per section that shows it).  Anything else (alpha,
# 16 bits, a palette, interlacing) goes through WeasyPrint's own code.  Applied only to the
# exact source.

# (The method's source, dedented.)
_PNG_ROWS = "        png_data = self._get_png_data(\n            Image.open(io.BytesIO(self.image_data.data)))\n"
_PNG_ROWS_KEPT = ("        png_data = _bookmaker_png_rows(self.image_data.data, width, height, self.mode) or self._get_png_data(\n"
                  "            Image.open(io.BytesIO(self.image_data.data)))\n")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: IHDR colour types the PDF reads as they are, by image mode: grey and truecolour.
_PNG_COLOUR = {"L": 0, "RGB": 2}

_png_shortcut_applied: bool | None = None


def _png_rows(data: bytes, width: int, height: int, mode: str) -> bytes | None:
    """The compressed rows (the IDAT chunks joined) of the PNG ``data``, if the PDF can take them
    as they are for an image of this size and mode; else None."""
    import struct

    if not data.startswith(_PNG_SIGNATURE) or mode not in _PNG_COLOUR or data[12:16] != b"IHDR":
        return None
    found_width, found_height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if ((found_width, found_height) != (width, height) or depth != 8 or colour != _PNG_COLOUR[mode]
            or compression or filtering or interlace):
        return None
    rows, at = [], 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            rows.append(data[at + 8:at + 8 + length])
        elif kind == b"IEND":
            break
        at += 12 + length
    return b"".join(rows) or None


def apply_png_shortcut() -> bool:
    """Put PNG rows into the PDF as they are, once per process; True if active."""
    global _png_shortcut_applied
    if _png_shortcut_applied is not None:
        return _png_shortcut_applied
    from weasyprint import images

    get_x_object = _shortcut(images, "get_x_object", {_PNG_ROWS: _PNG_ROWS_KEPT},
                             {"_bookmaker_png_rows": _png_rows}, "PNG images", owner=images.RasterImage)
    if get_x_object is not None:
        images.RasterImage.get_x_object = get_x_object
    _png_shortcut_applied = get_x_object is not None
    return _png_shortcut_applied


# ---- the deflate shortcut -------------------------------------------------------------------------
#
# Not a fix: the same pages in a PDF 1.5 % larger, sooner.  pydyf deflates every stream (page
# contents, fonts) at zlib's level 9, which took 0.48 s of the 40-chapter book's 10.7 s of section
# layouts; level 6, zlib's default, took 0.17 s for streams 1.5 % larger (7.8 MB of page contents:
# 1008 KB at level 9, 1023 KB at 6; the fonts alike).  Applied only to the exact source (pydyf's
# ``Stream.data``); otherwise pydyf's own level.

_DEFLATE = "        compressobj = zlib.compressobj(level=9)\n"
_DEFLATE_LEVELLED = "        compressobj = zlib.compressobj(level=_bookmaker_deflate_level)\n"
#: zlib's level for the streams of a laid-out document.
DEFLATE_LEVEL = 6

_deflate_applied: bool | None = None


def apply_deflate_shortcut() -> bool:
    """Deflate the PDF's streams at ``DEFLATE_LEVEL``, once per process; True if active."""
    global _deflate_applied
    if _deflate_applied is not None:
        return _deflate_applied
    import pydyf

    data = _shortcut(pydyf, "data", {_DEFLATE: _DEFLATE_LEVELLED}, {"_bookmaker_deflate_level": DEFLATE_LEVEL},
                     "deflate", owner=pydyf.Stream)
    if data is not None:
        pydyf.Stream.data = data
    _deflate_applied = data is not None
    return _deflate_applied


#: What the layout patches change, for the layout cache's key: a section laid out before a fix
#: (or without it, another WeasyPrint) is laid out again.
FIXES = "footnote-placement-1 line-fit-1 justified-drawing-1 deflate-6"


# ---- layout -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Styles:
    """The stylesheets of a layout: the theme's files, then generated CSS (page geometry)."""

    files: tuple[Path, ...]
    generated: str
    #: Where relative URLs of the generated CSS resolve (the theme folder).
    generated_base: Path
    #: Generated CSS of this one document, after ``generated`` (a document of folios' rules):
    #: ``generated`` is parsed once for the many documents that share it, this each time.
    own: str = ""


@lru_cache(maxsize=None)
def _fetcher_class() -> type:
    """The fetcher's class, made when a PDF is laid out: WeasyPrint takes seconds to import,
    and an EPUB-only build and the path checks of ``sandbox`` never need it."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class ProjectFetcher(URLFetcher):  # type: ignore[misc]
        """Serve only regular files inside the allowed folders, ``data:`` URLs and allowed hosts
        (the policy of ``bookmaker.sandbox``).

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
                warn(f"refused to load '{shorten_url(url)}': {reason}", code="BM602")
            raise ValueError(f"refused by bookmaker: {shorten_url(url)}")

    return ProjectFetcher


def project_fetcher(roots: list[Path], allow_hosts: Sequence[str] = ()) -> Any:
    """The restrictive WeasyPrint URL fetcher for a book: pass it to every HTML, CSS and Attachment."""
    return _fetcher_class()(roots, allow_hosts)


@dataclass(frozen=True)
class Theme:
    """What the print layout reads its theme with (``builders.pdf.print_theme``)."""

    #: The folders the fetcher serves files from (the manuscript, the theme, the default theme).
    roots: tuple[Path, ...]
    #: The hosts it may fetch from (``network.allow``).
    allow: tuple[str, ...]
    #: The theme's stylesheets.
    files: tuple[Path, ...]
    #: The theme folder (its fonts; where generated CSS resolves).
    folder: Path
    #: The book's languages, whose hyphenation dictionaries the workers load ahead.
    languages: tuple[str, ...] = ()


class LayoutEngine:
    """Lay HTML out with WeasyPrint, reading only the project's files (``project_fetcher``)."""

    def __init__(self, roots: Sequence[Path], allow: Sequence[str], base: Path) -> None:
        # Imported here: the fetcher's class loads WeasyPrint, which a build whose sections all
        # come from the layout cache never needs in its own process.
        load_weasyprint()
        self.fetcher = project_fetcher(list(roots), allow)
        self.base = base
        self.scope = (tuple(roots), tuple(allow))

    def render(self, html_text: str, styles: Styles, options: dict[str, Any]):  # type: ignore[no-untyped-def]
        """Lay ``html_text`` out once; returns a WeasyPrint ``Document``."""
        from weasyprint import CSS, HTML

        apply_patches()
        fonts, profiles, theme_css, parsed = self._theme(styles)

        def sheet(text: str) -> Any:
            return CSS(string=text, font_config=fonts, color_profiles=profiles, url_fetcher=self.fetcher,
                       base_url=str(styles.generated_base) + "/")

        # The generated CSS (page geometry) is the same for most sections of a book: parsed
        # once with the theme (4 ms a document, 0.4 s of a 40-chapter book's 90 documents).
        generated = parsed.get((styles.generated, styles.generated_base))
        if generated is None:
            generated = parsed[(styles.generated, styles.generated_base)] = sheet(styles.generated)
        css = [*theme_css, generated, *([sheet(styles.own)] if styles.own else [])]
        return HTML(string=html_text, base_url=str(self.base) + "/", url_fetcher=self.fetcher).render(
            stylesheets=css, font_config=fonts, color_profiles=profiles, **options)

    def _theme(self, styles: Styles) -> tuple[Any, dict[str, Any], list[Any], dict[tuple[str, Path], Any]]:
        """The theme's parsed stylesheets with their FontConfiguration, parsed once per process,
        and the generated stylesheets parsed with them so far (by text and base URL).

        Parsing the theme and loading its @font-face fonts cost about 0.2 s a document (WeasyPrint
        copies every font file to a temporary folder for fontconfig); a book laid out section by
        section, or several times to settle its numbers, reuses them.  The theme's files are
        keyed by size and time, so an edited theme is parsed afresh.
        """
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        from bookmaker.fonts import theme_fonts_only

        # The stylesheets and every file of the theme folder (its fonts) by size and time.
        theme_files = sorted(p for p in styles.generated_base.rglob("*") if p.is_file())
        key = (self.scope, tuple((p, _file_stamp(p)) for p in (*styles.files, *theme_files)))
        prepared = _THEMES.get(key)
        fresh = prepared is None
        if prepared is None:
            with _captured_warnings() as warnings:
                # One FontConfiguration for every CSS and the render, or @font-face is ignored (engine-notes 9).
                with theme_fonts_only():
                    fonts = FontConfiguration()
                # Like fonts, @color-profile rules only reach the PDF through one shared dict (PDF/X output intent).
                profiles: dict[str, Any] = {}
                css = [CSS(filename=str(p), font_config=fonts, color_profiles=profiles, url_fetcher=self.fetcher)
                       for p in styles.files]
            prepared = (fonts, profiles, css, warnings, {})
            _THEMES.clear()  # one theme at a time: each holds its fonts' temporary copies
            _THEMES[key] = prepared
        fonts, profiles, css, warnings, generated = prepared
        # What parsing the theme warned (a refused URL) is said by every section's layout that
        # uses it, as if each parsed it: a section's cached report then holds it wherever the
        # theme was parsed (this process, or the fork server before the workers were forked:
        # warm_theme).  Outside a section it is said once, when the theme is parsed.
        if fresh or _capturing:
            for message, path, line, code in warnings:
                warn(message, path, line, code=code)
        return fonts, profiles, css, generated


#: The theme last parsed in this process (``LayoutEngine._theme``): its FontConfiguration,
#: colour profiles, parsed stylesheets, the warnings the parse gave and the generated
#: stylesheets parsed with its fonts since.
_THEMES: dict[Any, tuple[Any, dict[str, Any], list[Any], list[list[Any]], dict[tuple[str, Path], Any]]] = {}


@atexit.register
def _remove_font_copies() -> None:
    """Remove the temporary copies of the parsed theme's fonts when the process ends.

    WeasyPrint's FontConfiguration removes its folder in ``__del__`` (weasyprint/text/fonts.py),
    which runs only when the object is collected; the command line keeps the interpreter's
    last collection off the heap (``cli._skip_final_collection``), so the folder goes here.
    """
    import shutil

    for prepared in _THEMES.values():
        folder = getattr(prepared[0], "_folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
            # Gone: the __del__ that may still run as the interpreter ends has nothing to remove
            # (it called rmtree after the shutil module was torn down: "Exception ignored ...").
            prepared[0]._folder = None


def parsed_themes() -> list[list[str]]:
    """The stylesheets of the theme parsed in this process (at most one), as file paths."""
    return [[str(path) for path, _stamp in key[1][:len(prepared[2])]] for key, prepared in _THEMES.items()]


def warmed() -> dict[str, Any]:
    """What this process holds before it lays anything out (``warm_theme``): the parsed theme's
    stylesheets, whether the patches are applied, the hyphenation dictionaries loaded."""
    import pyphen

    return {"themes": parsed_themes(), "patched": _patch_warnings is not None,
            "hyphenation": sorted(Path(str(path)).name for path in pyphen.hdcache)}


def apply_patches() -> None:
    """Apply every fix and shortcut of WeasyPrint above, once per process.

    What they warn (a fix that does not apply, BM530 and BM531) is said when they are
    applied, and again by every section's layout, as the theme's warnings are
    (``LayoutEngine._theme``): so a section's report holds it wherever the patches were
    applied (this process, or the fork server before the workers were forked)."""
    global _patch_warnings
    fresh = _patch_warnings is None
    if _patch_warnings is None:
        with _captured_warnings() as said:
            apply_footnote_fix()
            apply_line_fit_fix()
            apply_margin_box_shortcut()
            apply_pango_shortcuts()
            apply_justified_drawing()
            apply_png_shortcut()
            apply_subset_shortcut()
            apply_deflate_shortcut()
        _patch_warnings = said
    if fresh or _capturing:
        for message, path, line, code in _patch_warnings:
            warn(message, path, line, code=code)


#: What applying the patches warned in this process (``apply_patches``), once they are applied.
_patch_warnings: list[list[Any]] | None = None


def warm_theme(theme: Theme) -> None:
    """Parse a theme ahead of its first layout (``bookmaker.warmup``, in the fork server): every
    worker forked afterwards starts with it parsed and its fonts loaded, instead of spending
    0.2-0.4 s on it in its first section, and the workers share its memory.  The patches and
    the book's hyphenation dictionaries too: compiling the one (inspect reads WeasyPrint's
    source) and parsing the other (pyphen keeps parsed dictionaries for the process) took
    0.1 s of each worker's first section."""
    apply_patches()
    engine = LayoutEngine(theme.roots, theme.allow, theme.roots[0])
    styles = Styles(theme.files, "", theme.folder)
    engine._theme(styles)
    import pyphen

    for language in theme.languages:
        # As WeasyPrint looks the dictionary up (text.line_break.split_first_line, step 4).
        found = pyphen.language_fallback(language)
        if found:
            pyphen.Pyphen(lang=found)
    # And a page of text in the theme's faces, laid out and drawn here once: a worker's first
    # section spent 0.1 s more than the next on what that leaves behind (fonts opened by Pango and
    # HarfBuzz, WeasyPrint's modules imported as a layout and a PDF need them, their caches).
    import io

    language = theme.languages[0] if theme.languages else "en"
    try:
        with _captured_warnings():
            document = engine.render(_WARM_PAGE.format(lang=language), styles, {})
            document.write_pdf(io.BytesIO())
    except Exception as error:  # noqa: BLE001 - only a speed-up: the sections lay out as before
        logger.debug("the warm-up page was not laid out (%s)", error)


#: The page ``warm_theme`` lays out: the faces and features a book's text uses most.
_WARM_PAGE = ("<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"></head><body><section>"
              "<h1>Chapter One</h1><h2>A Beginning</h2><p>The quick brown fox jumps over the lazy dog, "
              "<em>while the five boxing wizards jump quickly</em>; <strong>sphinx of black quartz, judge "
              "my vow</strong>. <span style=\"font-variant: small-caps\">Pack my box</span> with 1,234 "
              "jugs of liquid \u2014 \u201chow vexingly quick daft zebras jump!\u201d</p>"
              "<blockquote><p>Jackdaws love my big sphinx of quartz.</p></blockquote></section></body></html>")


def _file_stamp(path: Path) -> tuple[int, int, int]:
    """What tells an edited file from the one parsed before: size, mtime and inode."""
    try:
        stat = path.stat()
    except OSError:
        return (-1, -1, -1)
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino)


def page_count(document) -> int:  # type: ignore[no-untyped-def]
    """How many pages a laid-out document has."""
    return len(document.pages)


def write_pdf(document, target: Path, options: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """Draw a laid-out document into ``target``."""
    document.write_pdf(str(target), **options)


# ---- what the layout tells ----------------------------------------------------------------------


def folios(document, first_body_id: str | None) -> list[str]:  # type: ignore[no-untyped-def]
    """The folio of every page as printed: lower roman before the body matter, arabic from 1."""
    from bookmaker.builders import roman

    body_start = next((i for i, page in enumerate(document.pages) if first_body_id in page.anchors), None)
    return [roman(i + 1).lower() if body_start is None or i < body_start else str(i - body_start + 1)
            for i in range(len(document.pages))]


def page_map(document, labels: Sequence[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The printed folio of each anchored element (the page where it starts)."""
    found: dict[str, str] = {}
    for page, label in zip(document.pages, labels):
        for anchor in page.anchors:
            found.setdefault(anchor, label)
    return found


def image_resolutions(document, sizes: dict[str, tuple[int, int]]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The lowest resolution (DPI) each image prints at, by its ``src`` URI; ``sizes`` gives
    the pixel size of every image by URI."""
    lowest: dict[str, float] = {}
    for page in document.pages:
        for box in _descendants(page._page_box):
            element = getattr(box, "element", None)
            if element is None or getattr(box, "element_tag", None) != "img" or not hasattr(box, "replacement"):
                continue
            uri = element.get("src") or ""
            width, height = sizes.get(uri, (0, 0))
            if not width or not height:
                continue
            width_in, height_in = box.width / 96, box.height / 96
            if width_in <= 0 or height_in <= 0:
                continue
            dpi = min(width / width_in, height / height_in)
            lowest[uri] = min(dpi, lowest.get(uri, dpi))
    return lowest


#: Ids that ``anchors.anchor_blocks`` gives to the blocks of chapter bodies.
_BLOCK_ID_RE = re.compile(r".+-b\d+$")
#: Line ends after which the next line continues the same word: WeasyPrint's hyphenation
#: character (U+2010), hard hyphens and dashes (a break after them adds no space).
_JOINING_ENDS = ("\u2010", "-", "\u2013", "\u2014", "/")


def page_starts(document, labels: Sequence[str]) -> dict[str, tuple[str, int]]:  # type: ignore[no-untyped-def]
    """For every page whose first line of text continues a block from an earlier page, the
    block's id and how many of its words (whitespace-separated) were printed before.

    Text is read from WeasyPrint's laid-out boxes, leaving out margin boxes (running heads,
    folios) and footnotes, which stand outside the reading order.
    """
    from weasyprint.formatting_structure import boxes

    printed: dict[str, list[str]] = {}
    starts: dict[str, tuple[str, int]] = {}

    def lines_of(box, block: str | None, in_note: bool, in_line: bool, out: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
        if isinstance(box, boxes.MarginBox):
            return
        element = getattr(box, "element", None)
        if element is not None:
            if "footnote" in (element.get("class") or "").split():
                in_note = True
            element_id = element.get("id")
            if element_id and _BLOCK_ID_RE.match(element_id):
                block = element_id
        # A ::first-line box is a line box inside the paragraph's first line box: one line.
        if isinstance(box, boxes.LineBox) and not in_line:
            if block and not in_note:
                out.append((block, ""))
            in_line = True
        if isinstance(box, boxes.TextBox):
            if block and not in_note and out:
                out[-1] = (out[-1][0], out[-1][1] + box.text)
            return
        for child in getattr(box, "children", None) or ():
            lines_of(child, block, in_note, in_line, out)

    for page, label in zip(document.pages, labels):
        lines: list[tuple[str, str]] = []
        lines_of(page._page_box, None, False, False, lines)
        lines = [(block, text) for block, text in lines if text.strip()]
        if lines:
            block = lines[0][0]
            before = printed.get(block)
            if before:
                starts[label] = (block, len(_join_lines(before).split()))
        for block, text in lines:
            printed.setdefault(block, []).append(text)
    return starts


def _join_lines(lines: list[str]) -> str:
    """Lines of one block as running text: a hyphenated word is whole again."""
    text = ""
    for line in lines:
        line = line.strip()
        if text.endswith(_JOINING_ENDS) or (text and line and is_cjk(text[-1]) and is_cjk(line[0])):
            text = text.removesuffix("\u2010") + line
        else:
            text = f"{text} {line}" if text else line
    return text


def _descendants(box) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    stack = [box]
    while stack:
        current = stack.pop()
        yield current
        children = getattr(current, "children", None)
        if children:
            stack.extend(children)
        footnotes = getattr(current, "footnotes", None)
        if footnotes:
            stack.extend(footnotes)


def column_tops(document, container: str, item: str, stand_in: str = "") -> list[str]:  # type: ignore[no-untyped-def]
    """The ids of the ``item`` elements that begin a column of a multi-column ``container``.

    For each page and each column (the left or right half of the container's box), the
    innermost ``item`` whose first box is the highest in that column, when nothing else
    (a letter-group heading) stands above it.  An item that continues from an earlier
    column is left out: its start is elsewhere.  Used for "Xiaomi (continued)" in the index.
    """
    from weasyprint.formatting_structure import boxes

    seen: set[str] = set()
    tops: list[str] = []
    for page in document.pages:
        frames: list[tuple[float, float]] = []
        found: list[tuple[float, float, int, str | None]] = []  # (x, y, depth, id or None)

        def walk(box, depth: int, inside: bool) -> None:  # type: ignore[no-untyped-def]
            element = getattr(box, "element", None)
            classes = (element.get("class") or "").split() if element is not None else []
            if isinstance(box, boxes.BlockBox) and element is not None:
                if container in classes and box.element_tag != "html":
                    frames.append((box.content_box_x(), box.width))
                    inside = True
                elif inside and item in classes:
                    found.append((box.position_x, box.position_y, depth, element.get("id")))
                    depth += 1
                elif inside and stand_in and stand_in in classes:
                    found.append((box.position_x, box.position_y, 99, element.get("data-for")))
                elif inside and box.element_tag in ("h1", "h2", "h3", "h4", "h5", "h6", "p"):
                    found.append((box.position_x, box.position_y, -1, None))
            for child in getattr(box, "children", None) or ():
                walk(child, depth, inside)

        walk(page._page_box, 0, False)
        if not frames:
            continue
        x0, width = frames[0]
        for column in (0, 1):
            members = [f for f in found if (f[0] >= x0 + width / 2) == bool(column)]
            if not members:
                continue
            top = min(f[1] for f in members)
            at_top = [f for f in members if f[1] - top < 1]
            innermost = max(at_top, key=lambda f: f[2])
            if innermost[3] is not None and innermost[3] not in seen and innermost[2] >= 0:
                tops.append(innermost[3])
        seen.update(f[3] for f in found if f[3] and f[2] != 99)
    return tops


# ---- sections: one document per chapter, cached and laid out in worker processes --------------
#
# A chapter's layout depends on its content, the theme, the geometry and its parity (every
# section opens on a recto), not on where it falls -- except through its folios.  So the
# folios are taken off each section's pages (the margin boxes that show the page counter)
# and drawn from one small document of folios laid over the merged pages; a section laid
# out once is then valid wherever it lands, and sections can be laid out at the same time.


class Unsupported(Exception):
    """The theme does something the sectioned layout cannot reproduce (the builder then lays
    the book out as one document)."""


@dataclass(frozen=True)
class SectionJob:
    """Everything a worker needs to lay out one section (plain data: it crosses processes)."""

    key: str
    html: str
    styles: Styles
    options: tuple[tuple[str, Any], ...]
    roots: tuple[Path, ...]
    allow: tuple[str, ...]
    base: Path
    #: Where the section's PDF and what was learnt from it are written.
    folder: Path
    #: Take the folios off (body sections) or keep them (the roman front matter).
    strip_folios: bool
    #: Pixel sizes of the book's images by URI, for the resolution check.
    image_sizes: tuple[tuple[str, int, int], ...] = ()
    #: A document of folios: the margin boxes to keep on each page (the rest are dropped).
    keep: tuple[tuple[str, ...], ...] | None = None


def _content_css(content: Any) -> str | None:
    """A margin box's computed ``content`` as CSS, if it holds only text and page counters."""
    parts = []
    for kind, value in content if isinstance(content, tuple) else ():
        if kind == "string":
            parts.append('"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ") + '"')
        elif kind == "counter()" and value[0] in ("page", "pages"):
            parts.append(f"counter({value[0]}, {value[1]})")
        else:
            return None
    return " ".join(parts) or None


def _shows_page_counter(content: Any) -> bool:
    return isinstance(content, tuple) and any(
        kind in ("counter()", "counters()") and value[0] in ("page", "pages") for kind, value in content)


def _strip_folios(document) -> list[list[tuple[str, str]]]:  # type: ignore[no-untyped-def]
    """Take the folio margin boxes off every page; returns, per page, (at-keyword, content CSS)."""
    from weasyprint.formatting_structure import boxes

    found = []
    for page in document.pages:
        kept, folios = [], []
        for child in page._page_box.children:
            if isinstance(child, boxes.MarginBox) and _shows_page_counter(child.style["content"]):
                css = _content_css(child.style["content"])
                if css is None:
                    raise Unsupported(f"the margin box {child.at_keyword} mixes the page number with other content")
                folios.append((child.at_keyword, css))
            else:
                kept.append(child)
        page._page_box.children = kept
        found.append(sorted(folios))
    return found


def _keep_only(document, wanted: Sequence[Sequence[str]]) -> None:  # type: ignore[no-untyped-def]
    """Keep, on page i, only the margin boxes whose at-keyword is in ``wanted[i]``."""
    from weasyprint.formatting_structure import boxes

    for page, keywords in zip(document.pages, wanted):
        page._page_box.children = [c for c in page._page_box.children
                                   if not isinstance(c, boxes.MarginBox) or c.at_keyword in keywords]


def _link_foreign_targets(document) -> list[str]:  # type: ignore[no-untyped-def]
    """Give every internal link to an id of another section a stand-in anchor on the first page,
    so WeasyPrint keeps the link (a named destination); the merge points the name at the real page."""
    anchors = {name for page in document.pages for name in page.anchors}
    foreign = sorted({target for page in document.pages for kind, target, _rect, _box in page.links
                      if kind == "internal" and target not in anchors})
    if document.pages:
        for name in foreign:
            document.pages[0].anchors[name] = (0, 0, 0, 0)
    return foreign


def _bookmarks(document) -> list[list[Any]]:  # type: ignore[no-untyped-def]
    """Every page's bookmarks as (level, label, x, y, state), in PDF points from the bottom left
    (the transformation ``make_bookmark_tree(transform_pages=True)`` applies): the merge nests
    them across sections, as one document would."""
    scale = 0.75  # 72 PDF points per inch / 96 CSS pixels per inch
    return [[[level, label, x * scale, (page.height - y) * scale, state]
             for level, label, (x, y), state in page.bookmarks] for page in document.pages]


def lay_out_section(job: SectionJob) -> dict[str, Any]:
    """Lay one section out and write ``<key>.pdf`` and ``<key>.json`` in ``job.folder``.

    Runs in a worker process or in the build's own; the JSON is what the merge needs
    (page count, anchors by page, page starts, outline, folio boxes, image resolutions).
    """
    with _captured_warnings() as warnings:
        document = LayoutEngine(job.roots, job.allow, job.base).render(job.html, job.styles, dict(job.options))
    if job.keep is not None:
        _keep_only(document, job.keep)
        return _save(job, document, {"pages": len(document.pages)})
    local = [str(i) for i in range(len(document.pages))]
    anchors: dict[str, int] = {}
    for index, page in enumerate(document.pages):
        for name in page.anchors:
            anchors.setdefault(name, index)
    folio_boxes = _strip_folios(document) if job.strip_folios else [[] for _ in document.pages]
    # The named page of each page (@page chapter), for its document of folios: a theme may
    # style the folios of one kind of page apart (SectionedLayout._folio_jobs).
    page_names = [page._page_box.page_type.name or "" for page in document.pages]
    sizes = {uri: (w, h) for uri, w, h in job.image_sizes}
    info = {
        # What the layout warned (a refused URL): replayed by the build, from the cache too,
        # so a warning reaches the terminal and --strict wherever the section was laid out.
        "warnings": warnings,
        "pages": len(document.pages),
        "anchors": anchors,
        "starts": {k: list(v) for k, v in page_starts(document, local).items()},
        "bookmarks": _bookmarks(document),
        "folio_boxes": folio_boxes,
        "page_names": page_names,
        "dpi": image_resolutions(document, sizes),
        "foreign": _link_foreign_targets(document),
        # Index entries that open a column, for "(continued)" lines (PdfBuilder.settle_continued).
        "column_tops": (column_tops(document, "index-entries", "index-entry", "index-continued")
                        if "index-entries" in job.html else []),
    }
    return _save(job, document, info)


@contextlib.contextmanager
def _captured_warnings() -> Iterator[list[list[Any]]]:
    """The bookmaker warnings logged inside the block, as [message, path, line, code], and not
    printed: a worker process has no terminal of its own (``replay_warnings`` prints them)."""
    import logging

    found: list[list[Any]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                path, line = getattr(record, "location", (None, None))
                found.append([getattr(record, "bare_message", record.getMessage()),
                              None if path is None else str(path), line, getattr(record, "code", None)])

    global _capturing
    handlers, propagate, level = logger.handlers[:], logger.propagate, logger.level
    logger.handlers, logger.propagate = [Keep()], False
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)  # captured whatever -q says; the replay decides
    _capturing += 1
    try:
        yield found
    finally:
        _capturing -= 1
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)


#: How many ``_captured_warnings`` blocks are open (a section's layout is one).
_capturing = 0


def replay_warnings(info: dict[str, Any], seen: set[tuple[Any, ...]]) -> None:
    """Print the warnings a section's layout gave, each once per build."""
    for message, path, line, code in info.get("warnings", ()):
        if (message, path, line, code) not in seen:
            seen.add((message, path, line, code))
            warn(message, path, line, code=code)


def embedded_fonts(document, folder: Path, options: dict[str, Any]) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The font files ``write_pdf`` embedded, for the merge's one subset per file (``fontunion``).

    Each as its subset tag (the ``/TAG+Name`` of its descriptor), the glyph ids the section
    uses, the face index, and the digest of the whole font it was cut from, which is kept in
    ``folder`` (once) for the merge to cut again.  ``shared`` is false where the embedded font
    is not a plain HarfBuzz cut of that file: a bitmap, colour or variable font (WeasyPrint
    rewrites those after the cut), one with glyphs it lacks (their ids lie past its own), one
    drawn in a form, or fonts embedded whole.
    """
    from bookmaker.fontunion import available

    whole = bool(options.get("full_fonts"))
    by_tag: dict[str, list[Any]] = {}
    for font in document.fonts.values():
        by_tag.setdefault(font.hash, []).append(font)  # as build_fonts_dictionary groups them
    found = []
    for tag, fonts in sorted(by_tag.items()):
        font = fonts[0]
        glyphs = sorted({glyph for each in fonts for glyph in each.to_unicode})
        shared = (available() and not whole and bool(glyphs) and font_subsetter() == "harfbuzz"
                  and not (font.bitmap or font.png or font.svg or font.colr or "fvar" in font.tables)
                  and not any(each.used_in_forms or each.missing for each in fonts))
        record: dict[str, Any] = {"tag": tag, "shared": shared, "glyphs": glyphs, "index": font.index,
                                  "hinting": bool(options.get("hinting"))}
        if shared:
            record["digest"] = _kept_font(font.hb_face, folder)
        found.append(record)
    return found


def _kept_font(face: Any, folder: Path) -> str:
    """The digest of a face's whole font file, kept in ``folder`` as the merge reads it."""
    import hashlib
    import os

    from weasyprint.text.ffi import ffi, harfbuzz

    from bookmaker.fontunion import kept_font_path

    blob = harfbuzz.hb_face_reference_blob(face)
    try:
        size = ffi.new("unsigned int *")
        view = ffi.buffer(harfbuzz.hb_blob_get_data(blob, size), size[0])
        # Looked up by the file's length, head (its table directory, every table's checksum)
        # and tail: a worker reads Noto Serif SC's 9 MB once, not in every section.
        probe = hashlib.sha256(b"%d" % size[0] + bytes(view[:65536]) + bytes(view[-65536:])).hexdigest()
        digest = _FONT_DIGESTS.get(probe)
        if digest is None:
            digest = _FONT_DIGESTS[probe] = hashlib.sha256(view).hexdigest()[:32]
        kept = kept_font_path(folder, digest)
        if not kept.exists():
            partial = kept.with_name(f".{digest}.{os.getpid()}.font")
            partial.write_bytes(bytes(view))
            os.replace(partial, kept)  # two builds sharing the cache never read half a font
        return digest
    finally:
        harfbuzz.hb_blob_destroy(blob)


#: The digest of each font file this process has kept, by its probe (``_kept_font``).
_FONT_DIGESTS: dict[str, str] = {}


def _save(job: SectionJob, document: Any, info: dict[str, Any]) -> dict[str, Any]:
    """Write the section's PDF and report into the cache folder."""
    import json
    import os

    job.folder.mkdir(parents=True, exist_ok=True)
    # Written under a private name and renamed: two builds sharing the cache never see half a file.
    tmp_pdf = job.folder / f".{job.key}.{os.getpid()}.pdf"
    options = {"pdf_identifier": False, **dict(job.options)}
    write_pdf(document, tmp_pdf, options)
    info["fonts"] = embedded_fonts(document, job.folder, options)
    tmp_json = job.folder / f".{job.key}.{os.getpid()}.json"
    tmp_json.write_text(json.dumps(info, sort_keys=True), encoding="utf-8")
    os.replace(tmp_pdf, job.folder / f"{job.key}.pdf")
    os.replace(tmp_json, job.folder / f"{job.key}.json")
    return info
