"""The sample manuscripts of the test corpus (issue 9), written by deterministic generators in our own words.

Each generator writes one manuscript folder unlike the demo book and returns it:

- ``technical``: a programming book of 44 files: fenced and indented code, over-long lines,
  SVG and PNG figures, images in table cells, a ``contents`` order unlike the path order;
- ``memoir``: chapter titles that carry their own roman numerals, poems with hard line
  breaks, 108 notes, tables without a header row;
- ``german`` and ``french``: biography excerpts typed with straight quotes;
- ``subfolders``: part folders whose file names repeat (``part-1/chapter-1.md``,
  ``part-2/chapter-1.md``), with the author's ids on the title headings.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

_TECH_WORDS = (
    "the compiler reads each module once and the linker joins what it wrote into one program while the "
    "allocator hands out memory in pages and the scheduler decides which thread runs next so that a careful "
    "programmer can reason about ownership lifetimes and the cost of every copy before the tests run again"
).split()
_LIFE_WORDS = (
    "the valley was quiet in those years and my grandmother kept bees behind the school where the river bent "
    "toward the mill and every autumn the carts came down from the hill farms with apples and news of weddings "
    "and quarrels that the whole parish would repeat until the snow closed the roads again"
).split()


def _sentence(rng: random.Random, words: tuple[str, ...] | list[str], count: int) -> str:
    chosen = [rng.choice(words) for _ in range(count)]
    return " ".join(chosen).capitalize() + "."


def _paragraph(rng: random.Random, words: list[str], sentences: int = 4) -> str:
    return " ".join(_sentence(rng, words, rng.randint(9, 18)) for _ in range(sentences))


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _png(path: Path, width: int, height: int, seed: int, dpi: int = 300) -> None:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i in range(10):
        x0 = 40 + i * (width - 80) // 10
        top = rng.randint(height // 5, height - 60)
        draw.rectangle([x0, top, x0 + (width - 80) // 14, height - 40], fill=(30 + 15 * i, 30, 30))
    draw.line([30, height - 40, width - 30, height - 40], fill="black", width=4)
    image.save(path, dpi=(dpi, dpi))


def _svg(path: Path, width: int, height: int, label: str) -> None:
    """An SVG diagram that declares its size in pixels, as exported by drawing programs."""
    boxes = "".join(
        f'<rect x="{40 + i * (width - 80) // 4}" y="{height // 3}" width="{(width - 160) // 4}" height="{height // 3}" '
        f'fill="none" stroke="black" stroke-width="6"/>'
        for i in range(4)
    )
    arrows = "".join(
        f'<line x1="{40 + (i + 1) * (width - 80) // 4 - 40}" y1="{height // 2}" x2="{40 + (i + 1) * (width - 80) // 4}" '
        f'y2="{height // 2}" stroke="black" stroke-width="6"/>'
        for i in range(3)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
        f"<title>{label}</title>{boxes}{arrows}</svg>\n",
        encoding="utf-8",
    )


# -- the technical book ---------------------------------------------------------------------------
_TECH_PARTS = ("Foundations", "Memory and Ownership", "Concurrency in Practice")
_TECH_TOPICS = (
    "Reading a Compiler Error", "Modules and Crates", "Internationalization Infrastructure", "Testing Strategies",
    "Ownership Explained", "Borrowing Rules", "Lifetimes Without Fear", "Smart Pointers",
    "Threads and Channels", "Shared State", "Asynchronous Programming", "Performance Measurement",
)


def _tech_chapter(rng: random.Random, n: int, title: str) -> str:
    long_line = "let configuration = Configuration::builder().with_name(\"service\").with_retries(5).with_timeout(Duration::from_secs(30)).build()?;"
    body = [
        f"# {title}",
        _paragraph(rng, _TECH_WORDS),
        "Here is the smallest program that shows the idea, with a `main` function and one call:",
        f"```rust\nfn main() {{\n    let values = vec![1, 2, 3];\n    let total: i32 = values.iter().sum();\n"
        f"    println!(\"chapter {n}: {{}}\", total);\n    {long_line}\n}}\n```",
        "The compiler answers a mistake with a diagnostic whose carets point at the columns:",
        "```text\nerror[E0382]: borrow of moved value: `values`\n --> src/main.rs:4:20\n  |\n"
        "2 |     let values = vec![1, 2, 3];\n  |         ------ move occurs here\n"
        "4 |     println!(\"{:?}\", values);\n  |                    ^^^^^^ value borrowed here after move\n```",
        _paragraph(rng, _TECH_WORDS, 3),
        "An indented block works as well, for shell sessions copied from a terminal:",
        "    $ cargo build --release\n    $ ./target/release/tool --input data/example.txt --output results/"
        "example-with-a-rather-long-name.json --verbose --threads 8",
    ]
    if n % 3 == 0:
        body.append(f'![A pipeline of four stages for chapter {n}](images/pipeline-{n}.svg "Stages of the build, chapter {n}")')
    if n % 3 == 1:
        body.append(f'![A bar chart of ten timings for chapter {n}](images/timings-{n}.png "Timings, chapter {n}")')
    if n % 4 == 2:
        body.append(
            "| Stage | Diagram | What happens |\n|---|---|---|\n"
            + "\n".join(f"| {s} | ![Stage {s} of the pipeline](images/stage-{s}.svg) | The {s} stage {rng.choice(_TECH_WORDS)}s the input. |"
                        for s in ("parse", "check", "emit"))
        )
    body += [f"## Exercises for {title}", _paragraph(rng, _TECH_WORDS, 2), "```python\nfor line in open('input.txt'):\n    print(line.rstrip())\n```"]
    if n % 2 == 0 and n % 3 and n % 4 != 2:
        # Many files of a converted book are short: keep every other one to its opening code.
        body = body[:4]
    return "\n\n".join(body) + "\n"


def technical(root: Path) -> Path:
    rng = random.Random(101)
    _write(root, "book.yaml", "title: Practical Systems Programming\nsubtitle: Reliable Software from First Principles\n"
           "author: Mara Lindqvist\nlanguage: en\ndate: 2026-04-01\npublisher: Northwind Technical\n"
           "rights: \u00a9 2026 Mara Lindqvist\ncontents:\n")
    contents = ["front/zz-preface.md", "front/aa-introduction.md"]
    _write(root, "front/zz-preface.md", "---\nkind: preface\n---\n\n# Preface\n\n" + _paragraph(rng, _TECH_WORDS) + "\n")
    _write(root, "front/aa-introduction.md", "---\nkind: introduction\n---\n\n# Introduction\n\n" + _paragraph(rng, _TECH_WORDS) + "\n")
    n = 0
    for p, part in enumerate(_TECH_PARTS, 1):
        contents.append(f"part-{p}/00-part.md")
        _write(root, f"part-{p}/00-part.md", f"---\nkind: part\n---\n\n# {part}\n")
        for c in range(12):
            n += 1
            title = f"{_TECH_TOPICS[c]} in Part {part.split()[0]}" if p > 1 else _TECH_TOPICS[c]
            # Files are named by topic, so their path order is not the reading order.
            name = f"part-{p}/{_TECH_TOPICS[c].lower().replace(' ', '-')}.md"
            contents.append(name)
            _write(root, name, _tech_chapter(rng, n, title))
    for letter, title in (("a", "Installing the Toolchain"), ("b", "Reference Tables"), ("c", "Further Reading")):
        name = f"back/appendix-{letter}.md"
        contents.append(name)
        _write(root, name, f"---\nkind: appendix\n---\n\n# Appendix {letter.upper()}: {title}\n\n" + _paragraph(rng, _TECH_WORDS) + "\n")
    with (root / "book.yaml").open("a", encoding="utf-8") as f:
        f.write("".join(f"  - {c}\n" for c in contents))
    for k in range(1, n + 1):
        if k % 3 == 0:
            _svg(root / "part-{}".format((k - 1) // 12 + 1) / "images" / f"pipeline-{k}.svg", 1259, 847, f"Pipeline {k}")
        if k % 3 == 1:
            _png(root / "part-{}".format((k - 1) // 12 + 1) / "images" / f"timings-{k}.png", 1500, 700, k)
    for p in range(1, 4):
        for s in ("parse", "check", "emit"):
            _svg(root / f"part-{p}" / "images" / f"stage-{s}.svg", 1259, 847, f"Stage {s}")
    return root


# -- the memoir -----------------------------------------------------------------------------------
_ROMANS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_MEMOIR_TITLES = (
    "Ancestry and Early Youth", "The Mill on the River", "School Days", "A Winter of Snow", "Leaving Home",
    "The City", "Apprenticeship", "The Printing House", "Marriage", "The War Years", "Return to the Valley",
    "Old Age and Reflection",
)


def memoir(root: Path) -> Path:
    rng = random.Random(202)
    _write(root, "book.yaml", "title: Letters from the Hill Country\nauthor: Elias Brandt\nlanguage: en\ndate: 1911\n"
           "rights: This text is in the public domain.\n")
    _write(root, "00-dedication.md", "---\nkind: dedication\n---\n\nTo the memory of my mother.\n")
    for c, (numeral, title) in enumerate(zip(_ROMANS, _MEMOIR_TITLES), 1):
        body = [f"# {numeral}: {title}"]
        for k in range(1, 10):
            body.append(_paragraph(rng, _LIFE_WORDS, 3) + f"[^n{k}]")
        poem = "\n".join(f"{_sentence(rng, _LIFE_WORDS, 5)[:-1]}," + ("  " if i % 2 == 0 else "\\") for i in range(5))
        body.insert(3, "> " + poem.replace("\n", "\n> ") + "\n> And so the year went round.")
        if c % 3 == 1:
            rows = "\n".join(f"| {1840 + c + r} | {rng.choice(_LIFE_WORDS).capitalize()} | {rng.randint(2, 90)} bushels |" for r in range(4))
            body.insert(5, "|   |   |   |\n|---|---|---|\n" + rows)
        if c % 3 == 2:
            cells = "".join(f"<tr><td>{rng.choice(_LIFE_WORDS)}</td><td>{rng.randint(1, 30)} shillings</td></tr>" for _ in range(3))
            body.insert(5, f"<table>{cells}</table>")
        body += [f"[^n{k}]: {_sentence(rng, _LIFE_WORDS, 12)} See the parish register, page {rng.randint(2, 300)}." for k in range(1, 10)]
        _write(root, f"{c:02d}-chapter.md", "\n\n".join(body) + "\n")
    return root


# -- German and French excerpts -------------------------------------------------------------------
def _excerpt(root: Path, chapters: dict[str, tuple[str, list[str]]]) -> Path:
    """Chapters of a short excerpt, each paragraph given three times so that pages fill."""
    for name, (title, paragraphs) in chapters.items():
        _write(root, name, f"# {title}\n\n" + "\n\n".join(paragraphs * 3) + "\n")
    return root


def german(root: Path) -> Path:
    _write(root, "book.yaml", "title: Ein Leben am Fluss\nauthor: Greta Hoffmann\nlanguage: de\ndate: 2026\n"
           "publisher: Verlag am Hafen\n")
    chapters = {
        "01-kindheit.md": ("Kindheit in Mainz", [
            'Die Mutter sagte oft: "Wer früh aufsteht, sieht den Fluss erwachen." Niemand widersprach ihr.',
            "Der Vater nannte die Werkstatt 'sein kleines Reich', und die Nachbarn lachten darüber.",
            'Im Winter fror der Hafen zu, und die Kinder riefen: "Das Eis trägt!" Es trug selten.',
        ]),
        "02-lehrjahre.md": ("Lehrjahre in Köln", [
            'Der Meister schrieb in sein Buch: "Fleißig, aber ungeduldig." Das stimmte.',
            "Sie lernte, was 'Genauigkeit' heißt, und vergaß es nie wieder.",
            "Die Straßenbahn fuhr bis zum Dom, und jeden Morgen zählte sie die Brücken.",
        ]),
        "03-rueckkehr.md": ("Die Rückkehr", [
            'Als sie heimkam, fragte der Bruder: "Bleibst du jetzt?" Sie nickte nur.',
            "Das Haus war kleiner, als sie es in Erinnerung hatte, die Linde größer.",
        ]),
    }
    return _excerpt(root, chapters)


def french(root: Path) -> Path:
    _write(root, "book.yaml", "title: Une vie à Lyon\nauthor: Claire Morel\nlanguage: fr\ndate: 2026\n"
           "publisher: Éditions du Rhône\n")
    chapters = {
        "01-enfance.md": ("L'enfance sur la colline", [
            'Sa grand-mère répétait : "Le fil ne ment jamais." Personne ne la contredisait.',
            "Le métier à tisser s'appelait 'la bête', et il faisait trembler tout l'immeuble.",
            "Pourquoi quitter la colline ? Elle ne le savait pas encore ; elle le saurait bientôt !",
        ]),
        "02-paris.md": ("Les années parisiennes", [
            'À Paris, le patron lui dit : "Vous commencerez lundi." Elle commença le dimanche.',
            "Elle apprit ce que voulait dire 'travailler vite' dans un atelier de la rue du Temple.",
        ]),
        "03-retour.md": ("Le retour", [
            'En revenant, elle écrivit à sa sœur : "Lyon n\'a pas changé ; moi, si."',
            "Les quais étaient les mêmes, les voix aussi.",
        ]),
    }
    return _excerpt(root, chapters)


# -- the book in subfolders -----------------------------------------------------------------------
def subfolders(root: Path) -> Path:
    rng = random.Random(303)
    _write(root, "book.yaml", "title: The Long Road North\nauthor: Samuel Okafor\nlanguage: en\ndate: 2026-09\n")
    number = 0
    for p, part in enumerate(("Beginnings", "The Crossing", "Arrival"), 1):
        _write(root, f"part-{p}/00-part.md", f"---\nkind: part\n---\n\n# {part}\n")
        for c in range(1, 5):
            number += 1
            link = f"See also [the start of the next part](../part-{p + 1}/chapter-1.md#chapter-{number + 5 - c})." if p < 3 and c == 2 else ""
            _write(root, f"part-{p}/chapter-{c}.md",
                   f"# The Road, Stage {number} {{#chapter-{number}}}\n\n{_paragraph(rng, _LIFE_WORDS)}\n\n"
                   f"## Along the Way\n\n{_paragraph(rng, _LIFE_WORDS)} {link}\n")
    return root


#: Every corpus book, by name.
BOOKS: dict[str, Callable[[Path], Path]] = {
    "technical": technical, "memoir": memoir, "german": german, "french": french, "subfolders": subfolders,
}
