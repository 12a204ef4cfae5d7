"""book.yaml validation: every problem reported at once, with file and key."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from bookmaker.config import load_config
from bookmaker.errors import ConfigError


def load(tmp_path: Path, text: str):
    (tmp_path / "book.yaml").write_text(text, encoding="utf-8")
    return load_config(tmp_path)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return info.value.problems


def test_missing_required_keys_are_all_reported(tmp_path: Path) -> None:
    found = problems(tmp_path, "subtitle: x\n")
    path = tmp_path / "book.yaml"
    assert f"{path}: 'title' is required" in found
    assert f"{path}: 'author' is required" in found
    assert f"{path}: 'language' is required" in found
    assert len(found) == 3


def test_wrong_types_name_key_and_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "title: [a, b]\nauthor: {a: 1}\nlanguage: en\nsubjects: {a: 1}\n")
    path = tmp_path / "book.yaml"
    assert f"{path}:1: 'title' expected a string, got a list" in found
    assert any(p.startswith(f"{path}:2: 'author' expected a string, a list of strings") for p in found)
    assert f"{path}:4: 'subjects' expected a string or a list of strings" in found


def test_unknown_key_warns_with_near_miss(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bookmaker"):
        with pytest.raises(ConfigError):
            load(tmp_path, "title: T\nautor: Someone\nlanguage: en\n")
    assert f"{tmp_path / 'book.yaml'}:2: 'autor': unknown key; did you mean 'author'?" in caplog.messages


def test_author_forms(tmp_path: Path) -> None:
    assert [a.name for a in load(tmp_path, "title: T\nauthor: Ann\nlanguage: en\n").authors] == ["Ann"]
    config = load(tmp_path, "title: T\nauthor: [Ann, Bob]\nlanguage: en\n")
    assert [(a.name, a.role) for a in config.authors] == [("Ann", "author"), ("Bob", "author")]
    config = load(
        tmp_path,
        "title: T\nlanguage: en\nauthor:\n  - {name: Ann, role: author}\n  - {name: Cy, role: translator}\n",
    )
    assert [(a.name, a.relator) for a in config.authors] == [("Ann", "aut"), ("Cy", "trl")]
    assert [a.name for a in config.creators] == ["Ann"]


def test_unknown_role_suggests(tmp_path: Path) -> None:
    found = problems(tmp_path, "title: T\nlanguage: en\nauthor:\n  - {name: Ann, role: editr}\n")
    assert found == [f"{tmp_path / 'book.yaml'}:3: 'author' entry 1: unknown role 'editr'; did you mean 'editor'?"]


def test_dates_as_date_objects_or_strings(tmp_path: Path) -> None:
    # YAML turns 2026-11-01 into a date object; quoted, it stays a string.
    assert load(tmp_path, "title: T\nauthor: A\nlanguage: en\ndate: 2026-11-01\n").date == "2026-11-01"
    assert load(tmp_path, "title: T\nauthor: A\nlanguage: en\ndate: '2026-11'\n").date == "2026-11"
    assert load(tmp_path, "title: T\nauthor: A\nlanguage: en\ndate: 2026-11-01 10:00:00\n").date == "2026-11-01"
    assert isinstance(dt.date.fromisoformat("2026-11-01"), dt.date)
    found = problems(tmp_path, "title: T\nauthor: A\nlanguage: en\ndate: 2026-13-45\n")
    assert found == [f"{tmp_path / 'book.yaml'}:4: 'date' expected a date such as 2026-11-01 (or 2026-11, or 2026), got '2026-13-45'"]


def test_language_isbn_and_contents_checked_together(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "title: T\nauthor: A\nlanguage: english!\nisbn: 978-0-306-40615-8\ncontents: [a.md, a.md]\n",
    )
    text = "\n".join(found)
    assert "'language' must be a language tag" in text
    assert "'isbn' '978-0-306-40615-8' has a wrong check digit" in text
    assert "'contents' file not found: a.md" in text
    assert "'contents' lists a.md twice" in text
    assert len(found) == 4


def test_valid_isbn_and_contents(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_text("# One\n", encoding="utf-8")
    config = load(tmp_path, "title: T\nauthor: A\nlanguage: zh-Hans\nisbn: 978-0-306-40615-7\ncontents: [one.md]\n")
    assert config.isbn == "9780306406157"
    assert config.contents == [(tmp_path / "one.md").resolve()]
    assert config.language == "zh-Hans"


def test_contents_naming_a_file_twice(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_text("# One\n", encoding="utf-8")
    found = problems(tmp_path, "title: T\nauthor: A\nlanguage: en\ncontents: [one.md, ./one.md]\n")
    assert found == [f"{tmp_path / 'book.yaml'}:4: 'contents' lists ./one.md twice"]


def test_invalid_yaml_reports_line_and_column(tmp_path: Path) -> None:
    found = problems(tmp_path, "title: T\nauthor: [A\nlanguage: en\n")
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'book.yaml'}:")
    assert "invalid YAML" in found[0]


def test_missing_book_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "book.yaml: not found" in str(info.value)


def test_print_geometry_is_validated_with_the_rest(tmp_path: Path) -> None:
    found = problems(tmp_path, "title: T\nauthor: A\nlanguage: xx!\npdf:\n  trim: 7x\n")
    assert len(found) == 2
    assert "'language' must be a language tag" in found[0]
    assert found[1].startswith(f"{tmp_path / 'book.yaml'}:5: 'pdf.trim'")
