"""Chapter numbers as printed (``numbering:`` arabic, roman, words or none) and titles that carry their own."""

from __future__ import annotations

import re
from collections.abc import Callable

from bookmaker.builders import roman
from bookmaker.config import NUMBERING_STYLES
from bookmaker.errors import Report
from bookmaker.log import warn
from bookmaker.markup import line_in_file
from bookmaker.model import Book, Chapter

__all__ = ["NUMBERING_STYLES", "label_chapters", "number_words", "own_number"]


# -- number words, by language ------------------------------------------------------------------
def _english(n: int) -> str | None:
    ones = ("", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten", "Eleven", "Twelve",
            "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen", "Nineteen")
    tens = ("", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety")
    if not 0 < n < 1000:
        return None
    hundreds, rest = divmod(n, 100)
    words = f"{ones[hundreds]} Hundred" if hundreds else ""
    if rest:
        small = ones[rest] if rest < 20 else tens[rest // 10] + (f"-{ones[rest % 10]}" if rest % 10 else "")
        words = f"{words} and {small}" if words else small
    return words


def _german(n: int) -> str | None:
    ones = ("", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn", "elf", "zwölf",
            "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn", "achtzehn", "neunzehn")
    tens = ("", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig")
    if not 0 < n < 1000:
        return None
    hundreds, rest = divmod(n, 100)
    words = ("ein" if hundreds == 1 else ones[hundreds]) + "hundert" if hundreds else ""
    if rest < 20:
        words += ones[rest]
    else:
        unit = rest % 10
        # 21: einundzwanzig ('ein', not 'eins', before 'und').
        words += (("ein" if unit == 1 else ones[unit]) + "und" if unit else "") + tens[rest // 10]
    return words


def _french(n: int) -> str | None:
    ones = ("", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze",
            "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf")
    tens = ("", "", "vingt", "trente", "quarante", "cinquante", "soixante")
    if not 0 < n < 1000:
        return None

    def below_hundred(m: int, last: bool) -> str:
        if m < 20:
            return ones[m]
        if m < 70:
            ten, unit = divmod(m, 10)
            return tens[ten] + (" et un" if unit == 1 else f"-{ones[unit]}" if unit else "")
        if m < 80:  # soixante-dix, soixante et onze, soixante-douze ...
            return "soixante" + (" et onze" if m == 71 else f"-{ones[m - 60]}")
        # quatre-vingts takes its s only at the end of the number (quatre-vingt-un, quatre-vingts).
        return "quatre-vingt" + (f"-{ones[m - 80]}" if m > 80 else "s" if last else "")

    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return below_hundred(rest, True)
    head = "cent" if hundreds == 1 else f"{ones[hundreds]} cent" + ("" if rest else "s")
    return f"{head} {below_hundred(rest, True)}" if rest else head


def _spanish(n: int) -> str | None:
    ones = ("", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez", "once", "doce",
            "trece", "catorce", "quince", "dieciséis", "diecisiete", "dieciocho", "diecinueve", "veinte", "veintiuno",
            "veintidós", "veintitrés", "veinticuatro", "veinticinco", "veintiséis", "veintisiete", "veintiocho",
            "veintinueve")
    tens = ("", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa")
    hundreds = ("", "ciento", "doscientos", "trescientos", "cuatrocientos", "quinientos", "seiscientos", "setecientos",
                "ochocientos", "novecientos")
    if not 0 < n < 1000:
        return None
    head, rest = divmod(n, 100)
    small = ones[rest] if rest < 30 else tens[rest // 10] + (f" y {ones[rest % 10]}" if rest % 10 else "")
    if n == 100:
        return "cien"
    return f"{hundreds[head]} {small}".strip()


def _italian(n: int) -> str | None:
    ones = ("", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove", "dieci", "undici", "dodici",
            "tredici", "quattordici", "quindici", "sedici", "diciassette", "diciotto", "diciannove")
    tens = ("", "", "venti", "trenta", "quaranta", "cinquanta", "sessanta", "settanta", "ottanta", "novanta")
    if not 0 < n < 1000:
        return None
    head, rest = divmod(n, 100)
    if rest < 20:
        small = ones[rest]
    else:
        ten, unit = divmod(rest, 10)
        # ventuno, ventotto (the vowel goes before uno and otto); ventitré.
        small = (tens[ten][:-1] if unit in (1, 8) else tens[ten]) + ones[unit]
    if small.endswith("tre") and n > 20:
        small = small[:-3] + "tré"
    return _hundreds_glued(head, "cento", ones) + small


def _hundreds_glued(head: int, hundred: str, ones: tuple[str, ...]) -> str:
    """The hundreds of a language that writes its numbers as one word: cento, duecento; honderd, tweehonderd."""
    return "" if not head else hundred if head == 1 else ones[head] + hundred


def _portuguese(n: int) -> str | None:
    # Brazilian spelling (dezesseis, dezessete, dezenove), the most read.
    ones = ("", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove", "dez", "onze", "doze", "treze",
            "catorze", "quinze", "dezesseis", "dezessete", "dezoito", "dezenove")
    tens = ("", "", "vinte", "trinta", "quarenta", "cinquenta", "sessenta", "setenta", "oitenta", "noventa")
    hundreds = ("", "cento", "duzentos", "trezentos", "quatrocentos", "quinhentos", "seiscentos", "setecentos",
                "oitocentos", "novecentos")
    if not 0 < n < 1000:
        return None
    head, rest = divmod(n, 100)
    small = ones[rest] if rest < 20 else tens[rest // 10] + (f" e {ones[rest % 10]}" if rest % 10 else "")
    if n == 100:
        return "cem"
    return f"{hundreds[head]} e {small}" if head and rest else hundreds[head] or small


def _dutch(n: int) -> str | None:
    ones = ("", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien", "elf", "twaalf",
            "dertien", "veertien", "vijftien", "zestien", "zeventien", "achttien", "negentien")
    tens = ("", "", "twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig")
    if not 0 < n < 1000:
        return None
    head, rest = divmod(n, 100)
    if rest < 20:
        small = ones[rest]
    else:
        unit = ones[rest % 10]
        # eenentwintig, tweeëntwintig (a diaeresis where two e's would meet).
        small = (unit + ("ën" if unit.endswith("e") else "en") if unit else "") + tens[rest // 10]
    return _hundreds_glued(head, "honderd", ones) + small


def _chinese_numerals(n: int, one_hundred: str, one_ten_after_hundreds: bool = True) -> str | None:
    digits = "〇一二三四五六七八九"
    if not 0 < n < 1000:
        return None
    head, rest = divmod(n, 100)
    ten, unit = divmod(rest, 10)
    words = (one_hundred if head == 1 else digits[head] + "百") if head else ""
    if ten:
        # 十一 (not 一十一) alone, but 一百一十 after hundreds in Chinese (Japanese: 百十).
        words += ("" if ten == 1 and (not head or not one_ten_after_hundreds) else digits[ten]) + "十"
    elif head and unit:
        words += "零"
    return words + (digits[unit] if unit else "")


def _chinese(n: int) -> str | None:
    return _chinese_numerals(n, "一百")


def _japanese(n: int) -> str | None:
    # 百 alone is one hundred, and Japanese writes no 零 and no 一 before 十: 百一, 百十.
    words = _chinese_numerals(n, "百", one_ten_after_hundreds=False)
    return words.replace("零", "") if words else None


#: Number words by primary language subtag; a language added here gets ``numbering: words``
#: and the detection of titles such as "Chapter Three: ...".  None for numbers it cannot say.
NUMBER_WORDS: dict[str, Callable[[int], str | None]] = {
    "en": _english, "de": _german, "fr": _french, "es": _spanish, "it": _italian, "pt": _portuguese, "nl": _dutch,
    "zh": _chinese, "ja": _japanese,
}

#: The word for "chapter" that may open a pre-numbered title, by primary language subtag.
CHAPTER_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("chapter",), "de": ("kapitel",), "fr": ("chapitre",), "es": ("capítulo",), "it": ("capitolo",),
    "pt": ("capítulo",), "nl": ("hoofdstuk",),
}


def number_words(number: int, language: str) -> str | None:
    """``number`` in words in ``language`` ("Twenty-One", "einundzwanzig", "vingt et un"), if known."""
    say = NUMBER_WORDS.get(language.split("-")[0].lower())
    return say(number) if say else None


# -- pre-numbered titles ------------------------------------------------------------------------
_ROMAN_RE = r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
#: What may follow a leading number: "I: Title", "3. Title", "II) Title", "4 – Title", or nothing.
_AFTER = r"\s*(?:[:.)\u2013\u2014-]\s*|$)"


def _words_pattern(language: str) -> str:
    words = {w.lower() for say in (NUMBER_WORDS.get(language.split("-")[0].lower()), _english) if say
             for w in (say(n) for n in range(1, 100)) if w}
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


def own_number(title: str, language: str) -> str | None:
    """The number a chapter title already carries ("I", "3", "Chapter One"), or None.

    A leading arabic number of one to three digits or a roman numeral needs a separator after
    it or nothing ("3. The Move", "I: Ancestry", "IV"), so that "1984" and "I Was Born" are
    titles; a number word needs a separator and a title ("One: The Start", not "One"); after
    the word for chapter ("Chapter 3", "Chapter One: ...") none is needed.
    """
    words = _words_pattern(language)
    chapter = "|".join(set(CHAPTER_WORDS.get(language.split("-")[0].lower(), ())) | set(CHAPTER_WORDS["en"]))
    # The roman numeral: capitals only, and not empty (every part of _ROMAN_RE is optional).
    numeral = rf"\d{{1,3}}|(?-i:(?=[IVXLCDM]){_ROMAN_RE}(?<=[IVXLCDM]))"
    match = (
        re.match(rf"^\s*(?:{chapter})\s+({numeral}|{words})\b", title, re.I)
        or re.match(rf"^\s*({numeral}){_AFTER}", title, re.I)
        # A number word alone ("One") may be a title; followed by a separator and a title it is a number.
        or re.match(rf"^\s*({words})\s*[:.)\u2013\u2014-]\s*\S", title, re.I)
    )
    if not match:
        return None
    # Number words are matched whole and case-blind; a roman numeral only in capitals.
    return match.group(1)


# -- the pass -------------------------------------------------------------------------------------
def label_chapters(book: Book, report: Report | None = None) -> None:
    """Give every numbered chapter the number it prints (``Chapter.number_label``).

    A title that carries its own number gets none (never "Chapter 1 / I: Ancestry"), and the
    book gets one warning suggesting ``numbering: none``.
    """
    style, language = book.config.numbering, book.config.language
    own: list[Chapter] = []
    no_words = False
    for chapter in book.chapters:
        chapter.number_label = None
        if chapter.kind != "chapter" or not chapter.number or style == "none":
            continue
        if own_number(chapter.title, language):
            own.append(chapter)
            continue
        if style == "roman":
            chapter.number_label = roman(chapter.number)
        elif style == "words":
            chapter.number_label = number_words(chapter.number, language)
            no_words = no_words or chapter.number_label is None
            chapter.number_label = chapter.number_label or str(chapter.number)
        else:
            chapter.number_label = str(chapter.number)
    if no_words:
        warn(f"'numbering': no number words for language '{language}'; chapters are numbered 1, 2, 3",
             book.config.path, line_in_file(book.config.path, "numbering:"), code="BM112")
    if own:
        first = own[0]
        count = f"{len(own)} chapter titles carry their" if len(own) > 1 else "a chapter title carries its"
        warn(
            f"{count} own number ('{first.title}'); bookmaker adds no second one to them; "
            "set 'numbering: none' in book.yaml if the titles number the chapters",
            first.source, line_in_file(first.source, first.title) or first.body_line, code="BM111",
        )
