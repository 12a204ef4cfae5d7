"""Generated text in the book's language: message catalogues, language-tag fallbacks and ``labels:`` overrides.

Every string bookmaker prints on its own (contents, chapter and part labels, notes headings,
copyright lines, role lines, nav and landmark titles, the accessibility summary) is a *label*
looked up here; the catalogues are ``locales/<tag>.yaml`` inside the package, one label a line.
``en.yaml`` defines every label; a catalogue that lacks one falls back to English.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

LOCALES = Path(__file__).resolve().parent / "locales"
#: The catalogue that defines every label and stands in for languages without one.
DEFAULT_LANGUAGE = "en"

#: The label for each contributor role's line on the title page (``None``: the name alone).
ROLE_LABELS: dict[str, str | None] = {
    "author": None,
    "editor": "edited_by",
    "translator": "translated_by",
    "illustrator": "illustrated_by",
    "foreword": "foreword_by",
    "introduction": "introduction_by",
    "afterword": "afterword_by",
    "annotator": "annotated_by",
    "photographer": "photographs_by",
    "narrator": "read_by",
    "compiler": "compiled_by",
    "contributor": "with",
}

#: Chinese regions written in Traditional characters when the tag names no script (BCP 47 practice).
_HANT_REGIONS = frozenset({"TW", "HK", "MO"})
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class LanguageTag:
    """The parts of a BCP 47 tag that choose a catalogue: language, script and region."""

    language: str
    script: str | None = None
    region: str | None = None

    @classmethod
    def parse(cls, tag: str) -> LanguageTag:
        """``zh-hant-tw`` -> ('zh', 'Hant', 'TW'); the case of the input does not matter."""
        parts = re.split(r"[-_]", tag.strip())
        language = parts[0].lower() if parts and parts[0] else DEFAULT_LANGUAGE
        script = region = None
        for part in parts[1:]:
            if len(part) == 4 and part.isalpha() and script is None and region is None:
                script = part.title()
            elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
                region = region or part.upper()
        if language == "zh" and script is None:
            script = "Hant" if region in _HANT_REGIONS else "Hans"
        return cls(language, script, region)

    def candidates(self) -> list[str]:
        """Tags from the most to the least specific: zh-Hant-TW, zh-Hant, zh-TW, zh."""
        out = []
        if self.script and self.region:
            out.append(f"{self.language}-{self.script}-{self.region}")
        if self.script:
            out.append(f"{self.language}-{self.script}")
        if self.region:
            out.append(f"{self.language}-{self.region}")
        out.append(self.language)
        return out


@lru_cache(maxsize=1)
def catalogue_names() -> dict[str, str]:
    """The shipped catalogues: lower-cased tag -> file stem (``zh-hans`` -> ``zh-Hans``)."""
    return {path.stem.lower(): path.stem for path in sorted(LOCALES.glob("*.yaml"))}


def resolve_language(tag: str) -> str | None:
    """The catalogue for a language tag (``de-AT`` -> ``de``, ``zh-TW`` -> ``zh-Hant``), or None if there is none."""
    names = catalogue_names()
    for candidate in LanguageTag.parse(tag).candidates():
        if candidate.lower() in names:
            return names[candidate.lower()]
    return None


@lru_cache(maxsize=None)
def catalogue(name: str) -> dict[str, str]:
    """The labels of one shipped catalogue (``en``, ``de``, ``zh-Hans`` ...)."""
    data = yaml.safe_load((LOCALES / f"{name}.yaml").read_text(encoding="utf-8")) or {}
    return {str(key): str(value) for key, value in data.items()}


def label_names() -> list[str]:
    """Every label name, in the order of the reference catalogue."""
    return list(catalogue(DEFAULT_LANGUAGE))


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a label text (ValueError if its braces are malformed)."""
    return {field for _, field, _, _ in _FORMATTER.parse(text) if field}


def check_override(name: str, text: str) -> str | None:
    """Why a ``labels:`` value cannot be used (None if it can): an unknown ``{field}`` or stray braces."""
    allowed = placeholders(catalogue(DEFAULT_LANGUAGE)[name])
    try:
        used = placeholders(text)
    except ValueError:
        return "has an unmatched '{' or '}' (write {{ or }} for a literal brace)"
    unknown = sorted(used - allowed)
    if unknown:
        fields = ", ".join(f"{{{field}}}" for field in sorted(allowed)) or "none"
        return f"uses {{{unknown[0]}}}, which this label does not have (its fields: {fields})"
    return None


def suggest(name: str) -> str | None:
    """The known label closest to a misspelt one."""
    close = difflib.get_close_matches(name, label_names(), n=1)
    return close[0] if close else None


class Labels:
    """The generated text of one book: its language's catalogue, English for gaps, the author's overrides on top."""

    def __init__(self, language: str, overrides: Mapping[str, str] | None = None) -> None:
        #: The catalogue in use (``en`` when the language has none).
        self.catalogue = resolve_language(language) or DEFAULT_LANGUAGE
        self.language = language
        self.texts = dict(catalogue(DEFAULT_LANGUAGE))
        self.texts.update(catalogue(self.catalogue))
        self.texts.update(overrides or {})

    def __call__(self, name: str, **fields: object) -> str:
        """The text of label ``name`` with its fields filled in: ``labels("chapter", number=3)``."""
        text = self.texts[name]
        return text.format(**fields) if fields or "{" in text else text

    def join_names(self, names: list[str]) -> str:
        """"A", "A and B", "A, B and C" in the book's language."""
        if len(names) <= 1:
            return "".join(names)
        first = self("list_separator").join(names[:-1])
        return self("and", first=first, last=names[-1])

    def role_line(self, role: str, name: str) -> tuple[str, str]:
        """The words before and after a contributor's name on the title page (("Edited by", "") in English)."""
        label = ROLE_LABELS.get(role)
        if label is None:
            return "", ""
        before, _, after = self.texts[label].partition("{name}")
        return before.strip(), after.strip()

    def match_prefix(self, name: str, title: str) -> tuple[str, str | None] | None:
        """Split a title that already starts with a label: "Teil Eins: Die Jahre" -> ("Teil Eins", "Die Jahre").

        The label's text around ``{number}`` is matched (in this language and in English, the
        language authors most often borrow), with any word or numeral in its place.
        """
        for text in dict.fromkeys((self.texts[name], catalogue(DEFAULT_LANGUAGE)[name])):
            before, _, after = (part.strip() for part in text.partition("{number}"))
            if not before:
                continue
            # "Part One" needs the space ("Partial" is no part label); "第1部" has none.
            gap = r"\s+" if before[-1].isascii() and before[-1].isalpha() else r"\s*"
            pattern = re.escape(before) + gap + r"[\w-]+" + (r"\s*" + re.escape(after) if after else "")
            match = re.match(rf"^\s*({pattern})\s*(?:[:.\uff1a\u2013\u2014-]\s*(.*))?$", title, re.I | re.S)
            if match:
                return match.group(1), (match.group(2) or "").strip() or None
        return None


@lru_cache(maxsize=32)
def _labels_cached(language: str, overrides: tuple[tuple[str, str], ...]) -> Labels:
    return Labels(language, dict(overrides))


def labels_for(config: object) -> Labels:
    """The labels of a book (``BookConfig``: its ``language`` and its ``labels:`` overrides)."""
    overrides = getattr(config, "labels", None) or {}
    return _labels_cached(getattr(config, "language", DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE, tuple(sorted(overrides.items())))
