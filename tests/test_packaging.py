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
    wheel = next(wheels.glob("bookmaker_press-*.whl"))
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


def _fresh_venv(where: Path) -> Path:
    """A new virtual environment whose only bookmaker is the one installed into it.

    The dependencies (WeasyPrint and the rest) come from this test run's environment through a
    path file: a path added that way does not run that environment's own .pth files, so the
    checkout's editable install stays out of the new environment.
    """
    import site
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, capture_output=True)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(where), "platbase": str(where)}))
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (purelib / "parent-deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    return where / "bin"


def test_release_wheel_and_sdist_install_and_build_the_demo(tmp_path: Path) -> None:
    import shutil
    import tarfile

    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-d", str(dist)], check=True, capture_output=True, cwd=REPO)
    wheel = next(dist.glob("bookmaker_press-*.whl"))
    sdist = next(dist.glob("bookmaker_press-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    top = names[0].split("/")[0]
    for member in ("src/bookmaker/cli.py", "styles/print.css", "styles/fonts/EBGaramond-Regular.otf",
                   "manuscript/book.yaml", "README.md", "pyproject.toml"):
        assert f"{top}/{member}" in names, member
    demo = tmp_path / "demo"
    shutil.copytree(REPO / "manuscript", demo / "manuscript")
    for label, artifact in (("wheel", wheel), ("sdist", sdist)):
        bin_dir = _fresh_venv(tmp_path / f"venv-{label}")
        python = bin_dir / "python"
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(artifact)],
                       check=True, capture_output=True)
        shown = subprocess.run([str(python), "-m", "pip", "show", "bookmaker-press"], capture_output=True, text=True, check=True)
        assert "Name: bookmaker-press" in shown.stdout
        where = subprocess.run([str(python), "-c", "import bookmaker.resources as r, bookmaker; print(bookmaker.__file__); print(r.default_styles())"],
                               capture_output=True, text=True, check=True, cwd=tmp_path)
        module, styles = where.stdout.split()
        assert str(REPO) not in module and Path(styles, "fonts", "NotoSerifSC-Regular.otf").is_file()
        out = tmp_path / f"out-{label}"
        result = subprocess.run([str(bin_dir / "bookmaker"), "build", "manuscript", "-o", str(out), "-q"],
                                capture_output=True, text=True, cwd=demo, env=dict(os.environ, PYTHONPATH=""))
        assert result.returncode == 0, result.stderr
        assert (out / "lei-jun.pdf").stat().st_size > 100_000 and (out / "lei-jun.epub").stat().st_size > 50_000
