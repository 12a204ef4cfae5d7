"""Regenerate the bundled fonts in styles/fonts/ from Debian's fonts-ebgaramond and fonts-noto-cjk packages."""

# Maintainer tool only: neither the build nor CI runs it.
#
#   apt-get install -y fonts-ebgaramond fonts-noto-cjk
#   .venv/bin/python scripts/make_fonts.py
#
# EB Garamond faces are copied unchanged.  Noto Serif CJK SC is taken out of
# the Debian .ttc collections and subset with fontTools to GB2312 plus Latin
# and CJK punctuation.  The SIL OFL 1.1 texts are taken from the packages'
# Debian copyright files.  Output is deterministic for a given package version.

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEST = REPO_ROOT / "styles" / "fonts"

EBGARAMOND_PACKAGE = "fonts-ebgaramond"
EBGARAMOND_DIR = Path("/usr/share/fonts/opentype/ebgaramond")
NOTO_PACKAGE = "fonts-noto-cjk"
NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
DOC_DIR = Path("/usr/share/doc")

# Debian ships EB Garamond 0.016: there is no Bold Italic and no SemiBold, and
# the Bold is an unfinished draft covering only ASCII and Latin-1 symbols (no
# accented letters, curly quotes or dashes).  Fontconfig therefore does not
# count it as supporting English, and for lang="en" text WeasyPrint picks the
# Regular over it: see styles/fonts/README.md.
EBGARAMOND_FACES: dict[str, str] = {
    "EBGaramond12-Regular.otf": "EBGaramond-Regular.otf",
    "EBGaramond12-Italic.otf": "EBGaramond-Italic.otf",
}

# Debian's 0.016 Bold is an unfinished draft (127 characters), so the bold faces are
# static weight-700 instances of EB Garamond 1.003's variable fonts, from the PyPI
# package fontpkg-eb-garamond (pip download --no-deps fontpkg-eb-garamond; unzip).
BOLD_INSTANCES: dict[str, tuple[str, str]] = {
    "EBGaramond[wght].ttf": ("EBGaramond-Bold.ttf", "Bold"),
    "EBGaramond-Italic[wght].ttf": ("EBGaramond-BoldItalic.ttf", "Bold Italic"),
}

CJK_FAMILY = "Noto Serif CJK SC"

# Layout features kept in the CJK subset: horizontal text only (no 'vert',
# 'vrt2', 'vkrn'...).  'locl' is kept for Simplified Chinese (it picks e.g. the
# CJK em dash and quotes under the ZHS language system).
CJK_FEATURES: list[str] = [
    "calt", "ccmp", "fwid", "halt", "hwid", "kern", "liga",
    "locl", "mark", "mkmk", "palt", "pwid",
]

# OpenType language systems removed before subsetting: through 'locl' they
# would pull in the Japanese, Korean and Traditional Chinese glyph shapes
# (about 5,500 glyphs, 2 MB per file), useless in a GB2312 SC font.
CJK_DROPPED_LANGSYS: frozenset[str] = frozenset({"JAN ", "KOR ", "ZHT ", "ZHH "})

# Every file must contain all of these, or the script fails.
CJK_PROBE = "雷军小米金山武汉仙桃湖北"

MAX_CJK_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True)
class CjkJob:
    """One Noto Serif CJK weight to extract and subset."""

    source: str
    output: str


CJK_JOBS: list[CjkJob] = [
    CjkJob("NotoSerifCJK-Regular.ttc", "NotoSerifSC-Regular-GB2312.otf"),
    CjkJob("NotoSerifCJK-Bold.ttc", "NotoSerifSC-Bold-GB2312.otf"),
]


def gb2312_codepoints() -> set[int]:
    """Return the code points of every valid two-byte GB2312 character."""
    points: set[int] = set()
    for lead in range(0xA1, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                text = bytes((lead, trail)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            points.update(ord(char) for char in text)
    return points


def cjk_codepoints() -> set[int]:
    """Return GB2312 plus ASCII, Latin-1 and the punctuation blocks."""
    points = gb2312_codepoints()
    points.update(range(0x0020, 0x007F))  # ASCII
    points.update(range(0x00A0, 0x0100))  # Latin-1 Supplement
    points.update(range(0x2000, 0x2070))  # General Punctuation
    points.update(range(0x3000, 0x3040))  # CJK Symbols and Punctuation
    points.update(range(0xFF00, 0xFFF0))  # Halfwidth and Fullwidth Forms
    return points


def find_font_number(collection: Path, family: str) -> int:
    """Return the index of the face whose name ID 1 is ``family``."""
    ttc = TTCollection(str(collection), lazy=True)
    try:
        for number, font in enumerate(ttc.fonts):
            if font["name"].getDebugName(1) == family:
                return number
    finally:
        ttc.close()
    raise LookupError(f"{family!r} not found in {collection}")


def drop_language_systems(font: TTFont, tags: frozenset[str]) -> None:
    """Remove the GSUB/GPOS language systems whose tag is in ``tags``."""
    for table_tag in ("GSUB", "GPOS"):
        if table_tag not in font:
            continue
        for script_record in font[table_tag].table.ScriptList.ScriptRecord:
            script = script_record.Script
            script.LangSysRecord = [
                record for record in script.LangSysRecord
                if record.LangSysTag not in tags
            ]
            script.LangSysCount = len(script.LangSysRecord)


def rename_cff(font: TTFont) -> None:
    """Give the CFF table the face's own names.

    All faces of a Noto CJK collection share one CFF table, named after the
    Japanese face (``NotoSerifCJKjp-Regular``); use name IDs 6, 4 and 1 instead.
    """
    name = font["name"]
    postscript_name = name.getDebugName(6)
    cff = font["CFF "].cff
    old_name = cff.fontNames[0]
    top = cff.topDictIndex[0]
    cff.fontNames = [postscript_name]
    top.FullName = name.getDebugName(4)
    top.FamilyName = name.getDebugName(1)
    for font_dict in getattr(top, "FDArray", []):
        if font_dict.FontName.startswith(old_name):
            font_dict.FontName = postscript_name + font_dict.FontName[len(old_name):]


def subset_cjk(source: Path, family: str, output: Path) -> None:
    """Extract ``family`` from the collection ``source`` and subset it to ``output``."""
    number = find_font_number(source, family)
    font = TTFont(str(source), fontNumber=number, recalcTimestamp=False)
    drop_language_systems(font, CJK_DROPPED_LANGSYS)
    options = subset.Options()
    options.layout_features = CJK_FEATURES
    options.name_IDs = ["*"]  # keep copyright, trademark and licence records
    options.name_languages = ["*"]
    options.notdef_outline = True
    # Keep every glyph at its original index: the source is CID-keyed with CID == GID,
    # and WeasyPrint writes glyph indexes as CIDs, so renumbered glyphs would make
    # MuPDF and Ghostscript (which map CIDs through the CFF charset) draw empty boxes.
    options.retain_gids = True
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=cjk_codepoints())
    subsetter.subset(font)
    rename_cff(font)
    font.save(str(output))
    font.close()
    check_cjk(output)


def check_cjk(path: Path) -> None:
    """Fail unless ``path`` maps every probe character and is small enough."""
    with TTFont(str(path), lazy=True) as font:
        cmap = font.getBestCmap()
    missing = [char for char in CJK_PROBE if ord(char) not in cmap]
    if missing:
        raise SystemExit(f"{path.name}: missing {''.join(missing)}")
    size = path.stat().st_size
    if size > MAX_CJK_BYTES:
        raise SystemExit(f"{path.name}: {size} bytes, over {MAX_CJK_BYTES}")


def package_version(package: str) -> str:
    """Return the installed Debian version of ``package``."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package],
        capture_output=True, text=True, check=True,
    )
    return result.stdout.strip()


def debian_licence_text(copyright_file: Path, short_names: tuple[str, ...]) -> str:
    """Return the unfolded text of a licence from a DEP-5 copyright file.

    The text is either a stand-alone ``License:`` paragraph or the body of the
    ``License:`` field of a ``Files:`` paragraph; the first with one of
    ``short_names`` and a body wins.
    """
    lines = copyright_file.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("License:"):
            continue
        if line.split(":", 1)[1].strip() not in short_names:
            continue
        body: list[str] = []
        for continuation in lines[index + 1:]:
            if not continuation.startswith(" "):
                break
            text = continuation[1:]
            body.append("" if text.strip() == "." else text)
        if body:
            return textwrap.dedent("\n".join(body)).strip() + "\n"
    raise LookupError(f"no {short_names} licence text in {copyright_file}")


def copyright_statement(font_path: Path) -> str:
    """Return a font's copyright (head of name ID 13, else ID 0) and trademark (ID 7)."""
    with TTFont(str(font_path), lazy=True) as font:
        name = font["name"]
        licence = name.getDebugName(13) or ""
        head = licence.split("This Font Software is licensed")[0].strip()
        if not head.startswith(("Copyright", "©")):
            head = name.getDebugName(0) or ""
        parts = [head, name.getDebugName(7) or ""]
    return " ".join(" ".join(parts).split())


def write_licence(
    dest: Path,
    title: str,
    package: str,
    statements: dict[str, str],
    short_names: tuple[str, ...],
) -> None:
    """Write an OFL file: provenance, copyright statements, then the licence."""
    copyright_file = DOC_DIR / package / "copyright"
    header = [
        title,
        f"Source: Debian package {package} {package_version(package)}",
        "",
        "Copyright statements, as given in the fonts' name tables:",
    ]
    header += [f"  {file}: {text}" for file, text in statements.items()]
    header += [
        "",
        f"Debian's {copyright_file} states:",
    ]
    header += [f"  {line}" for line in debian_copyright_lines(copyright_file)]
    header += ["", ""]
    licence = debian_licence_text(copyright_file, short_names)
    dest.write_text("\n".join(header) + licence, encoding="utf-8")


def debian_copyright_lines(copyright_file: Path) -> list[str]:
    """Return the ``Copyright:`` field of the ``Files: *`` paragraph."""
    lines = copyright_file.read_text(encoding="utf-8").splitlines()
    start = lines.index("Files: *")
    found: list[str] = []
    for line in lines[start + 1:]:
        if line.startswith("Copyright:"):
            found.append(line.split(":", 1)[1].strip())
        elif found and line.startswith(" "):
            found.append(line.strip())
        elif found or not line.strip():
            break
    return found


def copy_ebgaramond(source_dir: Path, dest: Path) -> dict[str, str]:
    """Copy the EB Garamond faces unchanged; return their copyright statements."""
    statements: dict[str, str] = {}
    for source_name, dest_name in EBGARAMOND_FACES.items():
        source = source_dir / source_name
        shutil.copyfile(source, dest / dest_name)
        statements[f"{dest_name} (from {source_name})"] = copyright_statement(source)
    return statements


def instantiate_bold(variable_dir: Path, dest: Path) -> None:
    """Cut static Bold and Bold Italic (wght 700) out of EB Garamond 1.003's variable fonts."""
    from fontTools.varLib import instancer

    for source_name, (dest_name, style) in BOLD_INSTANCES.items():
        font = instancer.instantiateVariableFont(TTFont(str(variable_dir / source_name)), {"wght": 700})
        name = font["name"]
        for name_id, value in ((1, "EB Garamond"), (2, style), (4, f"EB Garamond {style}"),
                               (6, f"EBGaramond-{style.replace(' ', '')}")):
            name.setName(value, name_id, 3, 1, 0x409)
        name.removeNames(nameID=16)
        name.removeNames(nameID=17)
        font["OS/2"].usWeightClass = 700
        font.save(str(dest / dest_name))


def describe(path: Path) -> str:
    """Return one summary line: file, size and name IDs 1/2 and 16/17."""
    with TTFont(str(path), lazy=True) as font:
        name = font["name"]
        ids = [name.getDebugName(i) for i in (1, 2, 16, 17)]
        weight = font["OS/2"].usWeightClass
    return f"{path.name}: {path.stat().st_size} bytes, names 1/2={ids[:2]} 16/17={ids[2:]}, weight {weight}"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and regenerate every file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="output folder")
    parser.add_argument("--ebgaramond-dir", type=Path, default=EBGARAMOND_DIR)
    parser.add_argument("--noto-dir", type=Path, default=NOTO_DIR)
    parser.add_argument("--ebgaramond-variable-dir", type=Path, default=None,
                        help="folder with EB Garamond 1.003's variable fonts (fontpkg-eb-garamond)")
    args = parser.parse_args(argv)
    dest: Path = args.dest
    dest.mkdir(parents=True, exist_ok=True)

    statements = copy_ebgaramond(args.ebgaramond_dir, dest)
    if args.ebgaramond_variable_dir:
        instantiate_bold(args.ebgaramond_variable_dir, dest)
    write_licence(
        dest / "OFL-EBGaramond.txt",
        "EB Garamond 12 (EBGaramond-Regular.otf, EBGaramond-Italic.otf), unmodified.",
        EBGARAMOND_PACKAGE, statements, ("OFL-1.1",),
    )

    cjk_statements: dict[str, str] = {}
    for job in CJK_JOBS:
        source = args.noto_dir / job.source
        subset_cjk(source, CJK_FAMILY, dest / job.output)
        cjk_statements[f"{job.output} (from {job.source}, face {CJK_FAMILY!r})"] = (
            copyright_statement(dest / job.output)
        )
    write_licence(
        dest / "OFL-NotoSerifCJK.txt",
        f"{CJK_FAMILY} (NotoSerifSC-*-GB2312.otf), subset to GB2312 + Latin-1 + punctuation.",
        NOTO_PACKAGE, cjk_statements, ("SIL-1.1", "OFL-1.1"),
    )

    for path in sorted(dest.glob("*.otf")):
        print(describe(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
