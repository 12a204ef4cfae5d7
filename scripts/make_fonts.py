"""Regenerate the bundled fonts in styles/fonts/ from Debian's font packages (EB Garamond, Noto, JetBrains Mono)."""

# Maintainer tool only: neither the build nor CI runs it.
#
#   apt-get install -y fonts-ebgaramond fonts-noto-cjk fonts-noto-core fonts-jetbrains-mono
#   .venv/bin/python scripts/make_fonts.py
#
# or, without installing them system-wide (installed fonts would leak into other builds):
#
#   apt-get download fonts-ebgaramond fonts-noto-cjk fonts-noto-core fonts-jetbrains-mono
#   .venv/bin/python scripts/make_fonts.py --debs .
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
MONO_PACKAGE = "fonts-jetbrains-mono"
MONO_DIR = Path("/usr/share/fonts/truetype/jetbrains-mono")
SYMBOLS_PACKAGE = "fonts-noto-core"
SYMBOLS_DIR = Path("/usr/share/fonts/truetype/noto")
#: Package versions read from the .deb files given with --debs (else from dpkg).
DEB_VERSIONS: dict[str, str] = {}

# The code face, copied unchanged: JetBrains Mono has box drawing, block elements, arrows,
# mathematical operators and Latin/Greek/Cyrillic, what compilers and terminals print.
MONO_FACES: dict[str, str] = {
    "JetBrainsMono-Regular.ttf": "JetBrainsMono-Regular.ttf",
    "JetBrainsMono-Italic.ttf": "JetBrainsMono-Italic.ttf",
    "JetBrainsMono-Bold.ttf": "JetBrainsMono-Bold.ttf",
    "JetBrainsMono-BoldItalic.ttf": "JetBrainsMono-BoldItalic.ttf",
}

# Symbol fallbacks for text: subset to the symbol blocks a biography may use, so the book never
# falls back to the machine's fonts for an arrow, a check mark or a chess piece.
SYMBOL_RANGES: list[tuple[int, int]] = [
    (0x2100, 0x214F),  # Letterlike Symbols
    (0x2150, 0x218F),  # Number Forms
    (0x2190, 0x21FF),  # Arrows
    (0x2200, 0x22FF),  # Mathematical Operators
    (0x2300, 0x23FF),  # Miscellaneous Technical
    (0x2400, 0x243F),  # Control Pictures
    (0x2460, 0x24FF),  # Enclosed Alphanumerics
    (0x25A0, 0x25FF),  # Geometric Shapes
    (0x2600, 0x26FF),  # Miscellaneous Symbols
    (0x2700, 0x27BF),  # Dingbats
    (0x27C0, 0x27FF),  # Misc. Mathematical Symbols-A, Supplemental Arrows-A
    (0x2900, 0x29FF),  # Supplemental Arrows-B, Misc. Mathematical Symbols-B
    (0x2A00, 0x2AFF),  # Supplemental Mathematical Operators
    (0x2B00, 0x2BFF),  # Miscellaneous Symbols and Arrows
]
SYMBOL_JOBS: list[tuple[str, str]] = [
    ("NotoSansMath-Regular.ttf", "NotoSansMath-Symbols.ttf"),
    ("NotoSansSymbols-Regular.ttf", "NotoSansSymbols-Symbols.ttf"),
    ("NotoSansSymbols2-Regular.ttf", "NotoSansSymbols2-Symbols.ttf"),
]

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
MAX_WIDE_CJK_BYTES = 10 * 1024 * 1024
#: Beyond GB2312: names that the GBK face must print.
CJK_WIDE_PROBE = "镕堃喆玥昇"


@dataclass(frozen=True)
class CjkJob:
    """One Noto Serif CJK weight to extract and subset."""

    source: str
    output: str
    wide: bool = False


CJK_JOBS: list[CjkJob] = [
    # The regular face covers GBK: every CJK Unified Ideograph of the basic block, so
    # names outside GB2312 (镕 in 朱镕基) print; 9 MB, subset again per book on embedding.
    CjkJob("NotoSerifCJK-Regular.ttc", "NotoSerifSC-Regular.otf", wide=True),
    # Bold (only <strong> text: headings are not bold) stays GB2312; a rarer character in
    # bold text is set in the regular face.
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


def gbk_ideographs() -> set[int]:
    """Return the CJK characters of GBK (all of U+4E00-U+9FA5 plus radicals and compatibility forms)."""
    points: set[int] = set()
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            try:
                text = bytes((lead, trail)).decode("gbk")
            except UnicodeDecodeError:
                continue
            points.update(ord(char) for char in text if 0x2E80 <= ord(char) <= 0x9FFF or 0xF900 <= ord(char) <= 0xFAFF)
    return points


def cjk_codepoints(wide: bool = False) -> set[int]:
    """Return GB2312 (or GBK, ``wide``) plus ASCII, Latin-1 and the punctuation blocks."""
    points = gb2312_codepoints() | (gbk_ideographs() if wide else set())
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


def subset_cjk(source: Path, family: str, output: Path, wide: bool = False) -> None:
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
    subsetter.populate(unicodes=cjk_codepoints(wide))
    subsetter.subset(font)
    rename_cff(font)
    font.save(str(output))
    font.close()
    check_cjk(output, CJK_WIDE_PROBE if wide else "", MAX_WIDE_CJK_BYTES if wide else MAX_CJK_BYTES)


def check_cjk(path: Path, extra: str = "", limit: int = MAX_CJK_BYTES) -> None:
    """Fail unless ``path`` maps every probe character and is small enough."""
    with TTFont(str(path), lazy=True) as font:
        cmap = font.getBestCmap()
    missing = [char for char in CJK_PROBE + extra if ord(char) not in cmap]
    if missing:
        raise SystemExit(f"{path.name}: missing {''.join(missing)}")
    size = path.stat().st_size
    if size > limit:
        raise SystemExit(f"{path.name}: {size} bytes, over {limit}")


def package_version(package: str) -> str:
    """Return the Debian version of ``package`` (of its .deb with --debs, else installed)."""
    if package in DEB_VERSIONS:
        return DEB_VERSIONS[package]
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
        f"Debian's /usr/share/doc/{package}/copyright states:",
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


def copy_mono(source_dir: Path, dest: Path) -> dict[str, str]:
    """Copy the JetBrains Mono faces unchanged; return their copyright statements."""
    statements: dict[str, str] = {}
    for source_name, dest_name in MONO_FACES.items():
        shutil.copyfile(source_dir / source_name, dest / dest_name)
        statements[dest_name] = copyright_statement(source_dir / source_name)
    return statements


def subset_symbols(source_dir: Path, dest: Path) -> dict[str, str]:
    """Cut the Noto symbol fonts down to SYMBOL_RANGES; return their copyright statements."""
    points = {code for low, high in SYMBOL_RANGES for code in range(low, high + 1)}
    statements: dict[str, str] = {}
    for source_name, dest_name in SYMBOL_JOBS:
        options = subset.Options()
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.notdef_outline = True
        options.layout_features = ["*"]
        font = TTFont(str(source_dir / source_name), recalcTimestamp=False)
        subsetter = subset.Subsetter(options=options)
        subsetter.populate(unicodes=points & set(font.getBestCmap()))
        subsetter.subset(font)
        font.save(str(dest / dest_name))
        font.close()
        statements[f"{dest_name} (from {source_name})"] = copyright_statement(dest / dest_name)
    return statements


def unpack_debs(folder: Path) -> Path:
    """Extract every .deb in ``folder`` into a temporary root; record the package versions."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="bookmaker-fonts-"))
    for deb in sorted(folder.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version"],
                                capture_output=True, text=True, check=True).stdout
        values = dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line)
        DEB_VERSIONS[values["Package"]] = values["Version"]
    return root


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
    parser.add_argument("--debs", type=Path, default=None,
                        help="folder of downloaded .deb packages to use instead of the installed ones")
    args = parser.parse_args(argv)
    dest: Path = args.dest
    dest.mkdir(parents=True, exist_ok=True)
    global DOC_DIR
    mono_dir, symbols_dir = MONO_DIR, SYMBOLS_DIR
    if args.debs:
        root = unpack_debs(args.debs)
        DOC_DIR = root / DOC_DIR.relative_to("/")
        args.ebgaramond_dir = root / EBGARAMOND_DIR.relative_to("/")
        args.noto_dir = root / NOTO_DIR.relative_to("/")
        mono_dir = root / MONO_DIR.relative_to("/")
        symbols_dir = root / SYMBOLS_DIR.relative_to("/")

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
        subset_cjk(source, CJK_FAMILY, dest / job.output, job.wide)
        cjk_statements[f"{job.output} (from {job.source}, face {CJK_FAMILY!r})"] = (
            copyright_statement(dest / job.output)
        )
    write_licence(
        dest / "OFL-NotoSerifCJK.txt",
        f"{CJK_FAMILY} (NotoSerifSC-Regular.otf: GBK, NotoSerifSC-Bold-GB2312.otf: GB2312), "
        "subset to those characters + Latin-1 + punctuation.",
        NOTO_PACKAGE, cjk_statements, ("SIL-1.1", "OFL-1.1"),
    )
    # Debian's copyright file gives Apache-2.0 (JetBrains Mono 1.x); the fonts themselves
    # (name IDs 13/14) and upstream since 2.000 say SIL OFL 1.1, whose text follows.
    write_licence(
        dest / "OFL-JetBrainsMono.txt",
        "JetBrains Mono 2.242 (JetBrainsMono-*.ttf), unmodified. Licensed under the SIL Open Font "
        "License 1.1 as stated in the fonts' name tables (IDs 13 and 14).",
        MONO_PACKAGE, copy_mono(mono_dir, dest), ("Apache-2",),
    )
    licence_path = dest / "OFL-JetBrainsMono.txt"
    ofl = debian_licence_text(DOC_DIR / SYMBOLS_PACKAGE / "copyright", ("OFL-1.1",))
    text = licence_path.read_text(encoding="utf-8")
    licence_path.write_text(text + "\n\nSIL Open Font License 1.1 (the licence the fonts state):\n\n" + ofl,
                            encoding="utf-8")
    write_licence(
        dest / "OFL-NotoSymbols.txt",
        "Noto Sans Math, Noto Sans Symbols, Noto Sans Symbols 2 (Noto*-Symbols.ttf), subset to "
        "the symbol blocks (arrows, mathematical operators, technical, shapes, dingbats).",
        SYMBOLS_PACKAGE, subset_symbols(symbols_dir, dest), ("OFL-1.1",),
    )

    for path in sorted([*dest.glob("*.otf"), *dest.glob("*.ttf")]):
        print(describe(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
