"""A narrow correction of WeasyPrint 70's footnote placement (WeasyPrint #1564 family).

WeasyPrint lays out a footnote when it lays out the line that calls it.  Two paths in
``weasyprint.layout.block._linebox_layout`` then separate the note from its call:

1. When a later line of the same paragraph overflows the page and orphans/widows forbid
   breaking just before it, WeasyPrint *moves the page's last footnote to the next page*
   to make room for the line, although the call stays on this page.
2. When a break moves the paragraph's last lines to the next page to satisfy ``widows``,
   the notes called in those lines stay on this page, before their calls.

The fix keeps the engine's own algorithm and changes those two spots: the overflowing
line is broken like any other (notes are never pushed away to make room for text), and
notes whose calling lines moved to the next page move with them.  The patch is applied
only to the exact source it was written for; any other WeasyPrint version is left alone
(``apply()`` returns False) and the tests report the placement rate honestly.
"""

from __future__ import annotations

import inspect
import textwrap

from bookmaker.log import logger

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


def apply() -> bool:
    """Patch ``_linebox_layout`` once per process; True if the fix is active."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    try:
        import weasyprint
        from weasyprint.layout import block
    except ImportError:  # pragma: no cover - weasyprint is a dependency
        return False
    if not weasyprint.__version__.startswith("70."):
        logger.debug("footnote fix not applied: written for WeasyPrint 70, found %s", weasyprint.__version__)
        return False
    try:
        source = textwrap.dedent(inspect.getsource(block._linebox_layout))
    except (OSError, TypeError):
        return False
    if source.count(_REPORT) != 1 or source.count(_BREAK) != 1 or source.count(_POLICY_BREAK) != 1:
        logger.debug("footnote fix not applied: WeasyPrint's line layout is not the expected one")
        return False
    patched = (
        source.replace(_REPORT, "report = False")
        .replace(_BREAK, _BREAK_FIXED)
        .replace(_POLICY_BREAK, _POLICY_BREAK_FIXED)
    )
    namespace = dict(vars(block))
    namespace["_bookmaker_drop_moved_notes"] = _drop_moved_notes
    exec(compile(patched, block.__file__, "exec"), namespace)  # noqa: S102 - our own patch of a known source
    block._linebox_layout = namespace["_linebox_layout"]
    _applied = True
    return True


def applied() -> bool:
    """Whether the fix is active in this process."""
    return bool(_applied)
