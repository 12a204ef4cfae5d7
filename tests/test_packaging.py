"""The wheel carries the default theme: a manuscript outside the repository builds with it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from conftest import REPO, epubcheck_messages


def test_installed_wheel_builds_with_packaged_theme(make_book: Callable[..., Path], tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(REPO), "-w", str(wheels)],
        check=True, capture_output=True,
    )
    target = tmp_path / "site"
    wheel = next(wheels.glob("bookmaker-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    assert (target / "bookmaker" / "styles" / "print.css").is_file()
    assert (target / "bookmaker" / "styles" / "fonts" / "NotoSerifSC-Regular.otf").is_file()
    # The message catalogues of generated text (bookmaker.labels) travel with the package.
    for language in ("en", "de", "fr", "es", "it", "pt", "nl", "zh-Hans", "zh-Hant", "ja"):
        assert (target / "bookmaker" / "locales" / f"{language}.yaml").is_file(), language
    root = make_book({"book.yaml": "title: Far Away\nauthor: A\nlanguage: en\n", "a.md": "# One\n\n雷军 was here.\n"}, name="other/manuscript")
    env = dict(os.environ, PYTHONPATH=str(target))
    probe = subprocess.run([sys.executable, "-c", "import bookmaker.resources as r; print(r.default_styles())"],
                           env=env, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert probe.stdout.strip() == str(target / "bookmaker" / "styles")
    result = subprocess.run([sys.executable, "-m", "bookmaker", "build", "manuscript", "-o", "build"],
                            env=env, capture_output=True, text=True, cwd=root.parent)
    assert result.returncode == 0, result.stderr
    assert (root.parent / "build" / "far-away.pdf").stat().st_size > 10_000
    assert epubcheck_messages(root.parent / "build" / "far-away.epub") == []
