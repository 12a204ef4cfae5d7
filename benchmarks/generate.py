"""A deterministic generator of biographies for the benchmarks: N chapters with notes, figures and tables."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

WORDS = (
    "the of and a to in he was that his it with as for on at by an be this had from not but they were "
    "which or all one their we there been has when who would more will so if out up into them about "
    "than some could time these two may then first any like now only its over also after new years "
    "company city river factory letter winter summer school mother father brother market engineer "
    "machine station harbour province village morning evening journey account ledger contract council "
    "printing telegraph railway foundry workshop apprentice merchant partner patent decade fortune"
).split()


ORDINALS = ("Early", "Restless", "Quiet", "Busy", "Lean", "Golden", "Hard", "Last", "Wandering", "Settled")


def paragraph(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(WORDS) for _ in range(words)]
    sentences, start = [], 0
    while start < len(chosen):
        length = rng.randint(9, 24)
        sentence = " ".join(chosen[start:start + length])
        sentences.append(sentence[:1].upper() + sentence[1:] + ".")
        start += length
    return " ".join(sentences)


def figure(path: Path, seed: int) -> None:
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (1800, 1100), "white")
    draw = ImageDraw.Draw(image)
    for i in range(12):
        height = rng.randint(100, 1000)
        draw.rectangle([60 + i * 140, 1080 - height, 170 + i * 140, 1080], fill=(40 + i * 15, 60, 120))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=False)


def generate(root: Path, chapters: int, words_per_chapter: int = 2800, seed: int = 1) -> Path:
    """Write ``root`` (book.yaml, a preface, ``chapters`` chapters in parts, acknowledgments)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "book.yaml").write_text(
        "title: The Engineer of Small Things\nsubtitle: A Life\nauthor:\n  - name: Ada Benchmark\n"
        "language: en\ndate: 2026-01-01\npublisher: Bench Press\nrights: \u00a9 2026 Ada Benchmark\n",
        encoding="utf-8")
    (root / "000-preface.md").write_text(
        "---\nkind: preface\ntitle: Preface\n---\n\n" + "\n\n".join(paragraph(rng, 120) for _ in range(4)) + "\n",
        encoding="utf-8")
    parts = max(1, chapters // 10)
    index = 10
    for n in range(1, chapters + 1):
        if (n - 1) % (chapters // parts) == 0 and (n - 1) // (chapters // parts) < parts:
            number = (n - 1) // (chapters // parts) + 1
            (root / f"{index:04d}-part-{number}.md").write_text(
                f"---\nkind: part\ntitle: Part {number}\n---\n\nThe years of part {number}.\n", encoding="utf-8")
            index += 1
        body, written, notes = [], 0, 0
        while written < words_per_chapter:
            length = rng.randint(80, 170)
            text = paragraph(rng, length)
            if rng.random() < 0.12:
                notes += 1
                text += f"[^{notes}]"
            body.append(text)
            written += length
            if len(body) % 9 == 0:
                body.append(f"## Section {len(body) // 9}")
        if n % 4 == 1:
            figure(root / "images" / f"figure-{n}.png", seed * 1000 + n)
            body.insert(3, f"![A bar chart for chapter {n}](images/figure-{n}.png \"Output by year, chapter {n}\")")
        if n % 5 == 2:
            rows = "\n".join(f"| {1900 + r} | {paragraph(rng, 6)} | {rng.randint(10, 999)} |" for r in range(14))
            body.insert(5, f"| Year | Event | Count |\n|---|---|---:|\n{rows}")
        body += [f"[^{i}]: {paragraph(rng, rng.randint(15, 45))}" for i in range(1, notes + 1)]
        (root / f"{index:04d}-chapter-{n}.md").write_text(
            f"---\ntitle: The {ORDINALS[n % len(ORDINALS)]} Years, Part {n}\n---\n\n" + "\n\n".join(body) + "\n", encoding="utf-8")
        index += 1
    (root / "9000-acknowledgments.md").write_text(
        "---\nkind: acknowledgments\ntitle: Acknowledgments\n---\n\n" + paragraph(rng, 90) + "\n", encoding="utf-8")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--chapters", type=int, default=40)
    parser.add_argument("--words", type=int, default=2800, help="words per chapter")
    args = parser.parse_args()
    generate(args.folder, args.chapters, args.words)


if __name__ == "__main__":
    main()
