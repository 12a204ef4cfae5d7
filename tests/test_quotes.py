"""Quotes, apostrophes and French spacing follow the language of the text they are in (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from bookmaker.markup import new_markdown, render_markdown
from bookmaker.quotes import NNBSP, quote_marks

N = NNBSP


def md(text: str, language: str, smart: bool = True) -> str:
    """The inner HTML of the first paragraph."""
    html = new_markdown(language, smart).convert(text)
    return html.split("<p>", 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize(
    ("language", "source", "expected"),
    [
        # German: „…“ outside, ‚…‘ inside; the apostrophe stays ’ (inside a word, and after s with no quote open).
        ("de", "Er sagte: \"Ich will 'Uhren' bauen.\"", "Er sagte: „Ich will ‚Uhren‘ bauen.“"),
        ("de", "O'Reillys Buch und Hans' Werkstatt.", "O’Reillys Buch und Hans’ Werkstatt."),
        ("de", "\"Ich fass' es nicht.\"", "„Ich fass’ es nicht.“"),
        ("de-AT", "Die '80er und \"*betont*\".", "Die ’80er und „<em>betont</em>“."),
        ("de-CH", "Er sagte \"Grüezi\" und 'Ade'.", "Er sagte «Grüezi» und ‹Ade›."),
        # English, for comparison: the closing single quote is the apostrophe.
        ("en", "\"Hello,\" she said, 'it's the '80s' -- rock 'n' roll.", "“Hello,” she said, ‘it’s the ’80s’ – rock ’n’ roll."),
        ("en", "The dogs' bones and \"[a link](x)\".", "The dogs’ bones and “<a href=\"x\">a link</a>”."),
        # French: guillemets with narrow no-break spaces inside, and before ; : ! ? (typed space or not).
        ("fr", "Il demanda : \"Vous venez ?\" Elle dit: \"Oui; demain!\"",
         f"Il demanda{N}: «{N}Vous venez{N}?{N}» Elle dit{N}: «{N}Oui{N}; demain{N}!{N}»"),
        ("fr", "Aujourd'hui « ici » et «là». Quoi?! À 10:30, voir http://exemple.fr.",
         f"Aujourd’hui «{N}ici{N}» et «{N}là{N}». Quoi{N}?! À 10:30, voir http://exemple.fr."),
        ("fr-CA", "C'est \"bien\".", f"C’est «{N}bien{N}»."),
        ("fr-CH", "C'est \"bien\" !", "C’est «bien» !"),
        ("es", "Dijo: \"Hola, 'amigo'\".", "Dijo: «Hola, “amigo”»."),
        ("it", "Disse: \"Ciao\".", "Disse: «Ciao»."),
        ("pt-BR", "Disse: \"Olá\".", "Disse: “Olá”."),
        ("pt", "Disse: \"Olá\".", "Disse: «Olá»."),
        ("nl", "Hij zei: \"Goedemorgen\" op 's avonds.", "Hij zei: “Goedemorgen” op ’s avonds."),
        ("ja", "彼は\"こんにちは\"と言った。'内側'。", "彼は「こんにちは」と言った。『内側』。"),
        ("zh-Hans", "他说：\"你好\"。", "他说：“你好”。"),
        ("zh-Hant", "他說：\"你好\"。", "他說：「你好」。"),
    ],
)
def test_quotes_by_language(language: str, source: str, expected: str) -> None:
    assert md(source, language) == expected


def test_lang_span_quotes_and_spacing_follow_the_span() -> None:
    german = md('Er rief ["Bienvenue, mademoiselle!"]{lang=fr} und "ging".', "de")
    assert german == f'Er rief <span lang="fr">«{N}Bienvenue, mademoiselle{N}!{N}»</span> und „ging“.'
    french = md('Il lut : ["Vergiss nicht!"]{lang=de} et partit !', "fr")
    assert french == f'Il lut{N}: <span lang="de">„Vergiss nicht!“</span> et partit{N}!'
    # A lang on a whole paragraph (attribute list) works the same way.
    block = new_markdown("en").convert('"Quel temps !"\n{: lang=fr }')
    assert block == f'<p lang="fr">«{N}Quel temps{N}!{N}»</p>'


def test_code_escapes_and_raw_html_keep_their_quotes() -> None:
    # Text between raw tags is text (educated); the tags and their attributes are left alone.
    assert md('Say `"x" isn\'t` and \\"this\\" and <b title="a">"b"</b>.', "de") == (
        'Say <code>"x" isn\'t</code> and "this" and <b title="a">„b“</b>.'
    )
    fenced = new_markdown("fr").convert('```\nprint("Bonjour !")\n```\n')
    assert 'print("Bonjour !")' in fenced.replace("&quot;", '"')


def test_smart_punctuation_false_leaves_everything_as_typed() -> None:
    assert md("Il dit : \"Oui !\" -- O'Reilly", "fr", smart=False) == "Il dit : \"Oui !\" -- O'Reilly"


def test_notes_captions_and_titles_are_educated(tmp_path: Path) -> None:
    source = tmp_path / "a.md"
    text = ('# L\'été "chaud"\n\nTexte.[^1]\n\n![Une image](i.png "La montre \'Patek\'")\n\n'
            '[^1]: Voir "ailleurs" !\n')
    source.write_text(text, encoding="utf-8")
    markup = render_markdown(text, source, "fr", "a")
    assert markup.title == f"L’été «{N}chaud{N}»"
    note = "".join(markup.notes[0].body.itertext())
    assert note.strip() == f"Voir «{N}ailleurs{N}»{N}!"
    caption = markup.body.find(".//figcaption")
    assert "".join(caption.itertext()) == "La montre “Patek”"


def test_quote_marks_resolve_tags_like_the_catalogue() -> None:
    assert quote_marks("de-AT") == ("„", "“", "‚", "‘")
    assert quote_marks("zh-TW") == ("「", "」", "『", "』")
    assert quote_marks("fr") == ("«", "»", "“", "”")  # docutils' spaces are taken out; spacing is ours
    assert quote_marks("tlh") == ("“", "”", "‘", "’")


def test_every_quote_is_balanced_in_a_long_german_paragraph() -> None:
    words = []
    for i in range(60):
        words.append(f"\"Satz {i} mit 'innen {i}' und Hans' Hut.\"" if i % 2 else f"Man sagt's {i}.")
    html = md(" ".join(words), "de")
    text = etree.fromstring(f"<p>{html}</p>").text or ""
    assert text.count("„") == text.count("“") == 30
    assert text.count("‚") == text.count("‘") == 30
    assert '"' not in text and "'" not in text
