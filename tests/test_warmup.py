"""The fork server parses the book's theme before it forks the layout workers (pool.offer_theme,
bookmaker.warmup): each worker starts with it, and what the parse warned still reaches every build."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import run_cli

from bookgen import generate_book

PROBE = textwrap.dedent("""\
    import json, sys
    from pathlib import Path
    from bookmaker import engine, pool
    from bookmaker.builders.pdf import print_theme
    from bookmaker.config import load_config

    pool.start_server()
    offer = sys.argv[2] == "offer"
    pool.offer_theme(print_theme(load_config(Path(sys.argv[1]))) if offer else None)
    workers = pool.LayoutPool(2)
    workers.start()
    # What a worker holds before it has laid anything out.
    print(json.dumps(workers.submit(engine.warmed).result()))
    workers.close()
""")


def _probe(book: Path, mode: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, str(book), mode], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_book(tmp_path_factory.mktemp("warm") / "manuscript", chapters=2, paragraphs=2, parts=0, tables=False)


def test_workers_start_with_the_offered_theme(book: Path) -> None:
    """And with the patches applied and the book's hyphenation dictionary loaded (for "en", the
    one WeasyPrint would look up)."""
    import pyphen

    warm = _probe(book, "offer")
    (themes,) = warm["themes"]
    assert [Path(p).name for p in themes] == ["print.css"]
    assert warm["patched"] and warm["hyphenation"] == [Path(str(pyphen.LANGUAGES[pyphen.language_fallback("en")])).name]


def test_without_an_offer_the_workers_parse_it_themselves(book: Path) -> None:
    assert _probe(book, "none") == {"themes": [], "patched": False, "hyphenation": []}


def test_warnings_of_a_theme_parsed_in_the_server_reach_every_build(book: Path, tmp_path: Path) -> None:
    themed = tmp_path / "book"
    shutil.copytree(book, themed)
    (themed / "theme").mkdir()
    (themed / "theme" / "print.css").write_text('@import url("https://example.invalid/theme-import.css");\n',
                                                      encoding="utf-8")
    config = themed / "book.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "styles: theme\n", encoding="utf-8")
    out = tmp_path / "out"
    for build in ("cold", "from the cache"):
        result = run_cli("build", str(themed), "-o", str(out), "-j", "2", "--format", "pdf", timeout=180)
        assert result.returncode == 0, (build, result.stderr)
        # Said once per build, though every section's layout reports it.
        assert result.stderr.count("refused to load 'https://example.invalid/theme-import.css'") == 1, (build, result.stderr)
    reports = [json.loads(p.read_text(encoding="utf-8")) for p in (out / ".bookmaker-cache").rglob("*.json")
               if p.name != "markdown.json"]
    sections = [r for r in reports if "anchors" in r]
    assert sections and all(any("theme-import.css" in w[0] for w in r["warnings"]) for r in sections)


def test_the_build_process_itself_never_loads_weasyprint(book: Path, tmp_path: Path) -> None:
    """With workers, WeasyPrint is loaded by the fork server only: the build's own process (which
    reads the manuscript and writes the EPUB while the server loads it) stays light."""
    script = ("import sys\nfrom bookmaker.cli import main\n"
              f"for _ in range(2):\n    try:\n        main(['build', {str(book)!r}, '-o', {str(tmp_path / 'out')!r}, '-j', '2', '-q'])\n"
              "    except SystemExit as end:\n        assert not end.code, end.code\n"
              "print('weasyprint' in sys.modules, 'bookmaker.warmup' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"], result.stdout
    assert list((tmp_path / "out").glob("*.pdf"))
