"""Generate realistic test biographies of any length: parts, notes, figures, tables, Chinese names."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw

_WORDS = (
    "the company grew from a rented office into a name every engineer knew and its founder "
    "spent long nights with the code while investors waited for numbers that came slowly at "
    "first then all at once a market shifted and a product found its people the board met "
    "again in spring to weigh the risk of another city another factory another promise kept "
    "careful readers of the archive will find letters memoranda and the quiet record of a "
    "decision taken late in the evening when the lights of the district were going out"
).split()

_NAMES = ["Lei Jun (雷军)", "Xiaomi (小米)", "Kingsoft (金山)", "Wuhan (武汉)", "Beijing (北京)", "Zhuhai (珠海)"]


def _paragraph(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(_WORDS) for _ in range(words)]
    chosen[0] = chosen[0].capitalize()
    text = " ".join(chosen)
    name = rng.choice(_NAMES)
    return f"{text}, said one account of {name}, and the work went on."


def draw_figure(path: Path, width: int = 1800, height: int = 900) -> Path:
    """A simple chart image drawn locally (no downloads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for i in range(8):
        x0 = 100 + i * 200
        draw.rectangle([x0, height - 100 - i * 80, x0 + 120, height - 100], fill=(40, 40, 40))
    draw.line([80, height - 100, width - 80, height - 100], fill="black", width=6)
    image.save(path, dpi=(300, 300))
    return path


def generate_book(
    root: Path,
    chapters: int = 12,
    paragraphs: int = 8,
    parts: int = 2,
    notes_per_chapter: int = 2,
    figures: bool = True,
    tables: bool = True,
    title: str = "A Generated Life",
    extra_yaml: str = "",
    seed: int = 7,
) -> Path:
    """Write a manuscript folder with front matter, parts, chapters and back matter; return it."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "book.yaml").write_text(
        f"title: {title}\nsubtitle: A Test Biography\nauthor:\n  - name: Test Author\n    role: author\n"
        f"  - name: Ed Itor\n    role: editor\nlanguage: en\ndate: 2026-03-01\npublisher: Test Press\n"
        f"rights: © 2026 Test Author\ndescription: A generated biography for tests.\nsubjects: [Biography, Tests]\n"
        + extra_yaml,
        encoding="utf-8",
    )
    (root / "00-dedication.md").write_text("---\nkind: dedication\n---\n\nFor the testers.\n", encoding="utf-8")
    (root / "01-preface.md").write_text(
        "---\nkind: preface\ntitle: Preface\n---\n\n" + "\n\n".join(_paragraph(rng, 60) for _ in range(3)) + "\n",
        encoding="utf-8",
    )
    if figures:
        draw_figure(root / "images" / "chart.png")
    per_part = max(1, chapters // max(parts, 1)) if parts else chapters
    index = 10
    for n in range(1, chapters + 1):
        if parts and (n - 1) % per_part == 0 and (n - 1) // per_part < parts:
            part_no = (n - 1) // per_part + 1
            (root / f"{index:03d}-part-{part_no}.md").write_text(
                f"---\nkind: part\ntitle: Part {part_no}\n---\n\nIn which things happen.\n", encoding="utf-8"
            )
            index += 1
        body: list[str] = []
        for p in range(paragraphs):
            text = _paragraph(rng, rng.randint(60, 140))
            if p < notes_per_chapter:
                text += f"[^{p + 1}]"
            body.append(text)
            if p == paragraphs // 2:
                body.append("## A Turning Point")
            if p == paragraphs // 3:
                body.append("* * *")
        if figures and n % 4 == 1:
            body.insert(2, f'![A bar chart of eight rising bars for chapter {n}](images/chart.png "Growth, chapter {n}")')
        if tables and n % 5 == 2:
            rows = "\n".join(f"| {1990 + r} | Event number {r} in a long and eventful year |" for r in range(12))
            body.insert(3, f"| Year | Event |\n|---|---|\n{rows}")
        for p in range(notes_per_chapter):
            body.append(f"[^{p + 1}]: Note {p + 1} of chapter {n}: {_paragraph(rng, 20)}")
        (root / f"{index:03d}-chapter-{n}.md").write_text(
            f"---\ntitle: Chapter Title Number {n}\n---\n\n" + "\n\n".join(body) + "\n", encoding="utf-8"
        )
        index += 1
    (root / "900-acknowledgments.md").write_text(
        "---\nkind: acknowledgments\ntitle: Acknowledgments\n---\n\nThanks to everyone.\n", encoding="utf-8"
    )
    return root
