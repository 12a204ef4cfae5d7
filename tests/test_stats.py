"""``bookmaker stats``: counts per chapter, totals and estimates, as a table and as JSON."""

from __future__ import annotations

import json
import re

from bookmaker.stats import WORDS_PER_MINUTE, count_words
from conftest import DEMO, MINIMAL_YAML, run_cli

BOOK = {
    "book.yaml": MINIMAL_YAML,
    "00-dedication.md": "---\nkind: dedication\n---\n\nFor Ann.\n",
    "01-one.md": "# One\n\nThe quick brown fox jumps.[^a] Over the dog.[^b]\n\n![A box](box.png)\n\n[^a]: First note here.\n[^b]: Second.\n",
}


def test_words_count_latin_words_and_each_cjk_character():
    assert count_words("Lei Jun's company, founded in 2010, isn't small.") == 8
    assert count_words("Xiantao (仙桃) is in Hubei (湖北).") == 8
    assert count_words("well-known — e.g. ‘this’") == 3


def test_stats_json_counts_chapters_and_totals(make_book):
    from PIL import Image

    root = make_book(BOOK)
    Image.new("RGB", (10, 10)).save(root / "box.png")
    result = run_cli("stats", str(root), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    dedication, one = data["chapters"]
    assert dedication == {"file": "00-dedication.md", "title": "Dedication", "kind": "dedication", "words": 2, "notes": 0, "figures": 0}
    # Title (1) + body (8) + notes (4); alt text is not counted.
    assert (one["words"], one["notes"], one["figures"]) == (13, 2, 1)
    assert (data["words"], data["notes"], data["figures"]) == (15, 2, 1)
    assert data["pages"] == 5 + 2 + 2  # front matter, then chapters opening on a right-hand page
    assert data["reading_minutes"] == 1


def test_stats_table_of_the_demo_book():
    result = run_cli("stats", str(DEMO))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["File", "Title", "Words", "Notes", "Figures"]
    assert any(line.startswith("11-early-life.md") and line.split()[-3:] == ["1,039", "3", "1"] for line in lines)
    total = next(line for line in lines if "Total" in line).split()
    words = int(total[1].replace(",", ""))
    # Notes: every [^x]: / [^^x]: definition, plus one note per citation in the running text
    # (the demo's citations write into the note stream, 'citation-notes').
    texts = [p.read_text(encoding="utf-8") for p in sorted(DEMO.glob("*.md"))]
    defined = sum(len(re.findall(r"^\[\^\^?[^\]]+\]:", t, re.M)) for t in texts)
    cited = sum(len(re.findall(r"\[[^\]]*@[\w-]+[^\]]*\]", line)) for t in texts for line in t.splitlines()
                if not re.match(r"\[\^", line))
    assert words > 8000 and total[2:] == [str(defined + cited), "1"]
    assert f"at {WORDS_PER_MINUTE} words a minute" in lines[-1]
    # The demo book prints on 53 pages; the estimate should be close.
    pages = int(result.stdout.split("Estimated print pages: ")[1].split()[0])
    assert 45 <= pages <= 60


def test_stats_reports_a_broken_manuscript_in_one_line(make_book):
    root = make_book({"book.yaml": "title: [\n"})
    result = run_cli("stats", str(root))
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and "book.yaml:2" in result.stderr
