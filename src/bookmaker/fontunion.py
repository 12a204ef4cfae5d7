"""One embedded subset per font file in the merged PDF: a cut of the whole font that keeps every glyph any section uses (``assemble``)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

# Each section's PDF embeds its own subset of every font it uses, so a 951-page book carried
# 130 subsets of a dozen fonts (7.3 MB).  WeasyPrint 70 cuts a subset with HarfBuzz keeping
# the glyph ids (weasyprint/pdf/fonts.py, Font._harfbuzz_subset: RETAIN_GIDS), so a section's
# font dictionary -- its widths, its ToUnicode map, its Identity encoding -- stays right over
# any cut of the same font that holds at least its glyphs.  The merge makes one such cut per
# font, with the same two passes and flags, and every section's descriptor points at it.

_CDEF = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
typedef uint32_t hb_codepoint_t;
typedef uint32_t hb_tag_t;
hb_blob_t *hb_blob_create(const char *data, unsigned int length, int mode, void *user_data, void *destroy);
void hb_blob_destroy(hb_blob_t *blob);
const char *hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create(hb_blob_t *blob, unsigned int index);
void hb_face_destroy(hb_face_t *face);
hb_blob_t *hb_face_reference_blob(hb_face_t *face);
unsigned int hb_face_get_glyph_count(const hb_face_t *face);
void hb_set_add(hb_set_t *set, hb_codepoint_t codepoint);
hb_tag_t hb_tag_from_string(const char *str, int len);
hb_subset_input_t *hb_subset_input_create_or_fail(void);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_set_t *hb_subset_input_glyph_set(hb_subset_input_t *input);
hb_set_t *hb_subset_input_set(hb_subset_input_t *input, int set_type);
void hb_subset_input_set_flags(hb_subset_input_t *input, unsigned int value);
hb_face_t *hb_subset_or_fail(hb_face_t *source, const hb_subset_input_t *input);
"""

# hb-subset.h / hb-blob.h values (as WeasyPrint 70 declares them in weasyprint/text/ffi.py).
_NO_HINTING, _RETAIN_GIDS, _DESUBROUTINIZE, _PASSTHROUGH_UNRECOGNIZED = 0x1, 0x2, 0x4, 0x20
_DROP_TABLE_TAG = 3
_MEMORY_MODE_DUPLICATE = 0
#: The tables WeasyPrint drops from every subset.
_DROPPED = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH", b"PCLT", b"SVG ")
#: The names WeasyPrint 70 tries for HarfBuzz, in its order (``weasyprint.text.ffi``).
_HARFBUZZ = ("libharfbuzz-0", "harfbuzz", "harfbuzz-0.0", "libharfbuzz.so.0", "libharfbuzz.0.dylib", "libharfbuzz-0.dll")


@lru_cache(maxsize=1)
def _libraries() -> tuple[Any, Any, Any] | None:
    """cffi, HarfBuzz and HarfBuzz-Subset, or None where a library is missing (the sections then
    keep their own subsets)."""
    import cffi

    from bookmaker.engine import HARFBUZZ_SUBSET

    ffi = cffi.FFI()
    ffi.cdef(_CDEF)

    def first(names: tuple[str, ...]) -> Any:
        # Sonames first: cffi looks a bare name up with ctypes.util.find_library, which runs
        # ldconfig and the C compiler (engine.load_weasyprint keeps WeasyPrint's loads off it).
        for name in sorted(names, key=lambda name: ".so." not in name):
            try:
                return ffi.dlopen(name)
            except OSError:
                continue
        return None

    harfbuzz, subset = first(_HARFBUZZ), first(HARFBUZZ_SUBSET)
    return None if harfbuzz is None or subset is None else (ffi, harfbuzz, subset)


def available() -> bool:
    """Whether this machine can cut the shared subsets."""
    return _libraries() is not None


def cut(font: bytes, index: int, glyphs: Iterable[int], hinting: bool) -> bytes | None:
    """The subset of ``font`` (face ``index``) keeping ``glyphs`` at their ids, cut as WeasyPrint
    70 cuts a document's: keep the glyphs (ids retained), then keep every id up to the last one
    used; desubroutinised, unknown tables passed through, its dropped tables dropped.  None when
    HarfBuzz is missing or cannot cut it."""
    libraries = _libraries()
    wanted = sorted(set(glyphs))
    if libraries is None or not wanted:
        return None
    ffi, harfbuzz, subset = libraries
    blob = harfbuzz.hb_blob_create(font, len(font), _MEMORY_MODE_DUPLICATE, ffi.NULL, ffi.NULL)
    face = harfbuzz.hb_face_create(blob, index)
    harfbuzz.hb_blob_destroy(blob)
    plan = subset.hb_subset_input_create_or_fail()
    cuts: list[Any] = []
    try:
        if plan == ffi.NULL or harfbuzz.hb_face_get_glyph_count(face) <= wanted[-1]:
            return None
        keep = subset.hb_subset_input_glyph_set(plan)
        for glyph in wanted:
            harfbuzz.hb_set_add(keep, glyph)
        drop = subset.hb_subset_input_set(plan, _DROP_TABLE_TAG)
        for tag in _DROPPED:
            harfbuzz.hb_set_add(drop, harfbuzz.hb_tag_from_string(tag, -1))
        subset.hb_subset_input_set_flags(plan, _RETAIN_GIDS | _PASSTHROUGH_UNRECOGNIZED | _DESUBROUTINIZE)
        cuts.append(subset.hb_subset_or_fail(face, plan))
        if cuts[-1] == ffi.NULL:
            return None
        # The second pass drops the empty glyphs after the last one used (ids stay as they are).
        for glyph in range(wanted[-1] + 1):
            harfbuzz.hb_set_add(keep, glyph)
        subset.hb_subset_input_set_flags(plan, _PASSTHROUGH_UNRECOGNIZED | _DESUBROUTINIZE
                                         | (0 if hinting else _NO_HINTING))
        cuts.append(subset.hb_subset_or_fail(cuts[-1], plan))
        if cuts[-1] == ffi.NULL:
            return None
        data = harfbuzz.hb_face_reference_blob(cuts[-1])
        try:
            length = ffi.new("unsigned int *")
            pointer = harfbuzz.hb_blob_get_data(data, length)
            return bytes(ffi.buffer(pointer, length[0])) if length[0] else None
        finally:
            harfbuzz.hb_blob_destroy(data)
    finally:
        for made in cuts:
            if made != ffi.NULL:
                harfbuzz.hb_face_destroy(made)
        if plan != ffi.NULL:
            subset.hb_subset_input_destroy(plan)
        harfbuzz.hb_face_destroy(face)


def kept_font_path(folder: Path, digest: str) -> Path:
    """Where a section's layout keeps the whole font its subset was cut from (``engine.embedded_fonts``)."""
    return folder / f"{digest}.font"
