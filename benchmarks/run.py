"""Time bookmaker against pandoc (EPUB) and pandoc + WeasyPrint (PDF) on generated biographies.

    python benchmarks/run.py --chapters 40 --repeat 3

Every command runs as its own process; the tasks alternate within each repetition (so a
slow moment of the machine hits every tool alike) and the medians are reported, with CPU
seconds and memory.  pandoc comes from the ``pypandoc-binary`` package, which bookmaker
already depends on for citations.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate, paragraph  # noqa: E402

BIN = Path(sys.executable).parent


def _become_subreaper() -> None:
    """Adopt every orphaned descendant (PR_SET_CHILD_SUBREAPER), so that the CPU time of worker
    processes whose parent never waits for them (a fork server's) still reaches this process."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit("cannot become a child subreaper: CPU times of worker processes would be missed")


def _tree_memory(root: int) -> float:
    """The summed proportional set size (MiB) of ``root`` and every process below it, from /proc:
    PSS divides pages shared by forked workers among them, so the sum is the memory the tree holds."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
    mine = {os.getpid(), root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                changed = True
    mine.discard(os.getpid())
    total = 0
    for pid in mine:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                for line in handle:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total / 2**20


def measure(command: list[str], cwd: Path) -> dict[str, float]:
    """Wall seconds; CPU seconds (user + system) of the process and of every process it started,
    worker processes included; the peak resident memory of the largest single process (MiB);
    and the peak of the whole tree's summed PSS, sampled every 0.2 s (MiB)."""
    import resource
    import threading

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_tree = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree
        while not done.wait(0.2):
            peak_tree = max(peak_tree, _tree_memory(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _pid, status, usage = os.wait4(process.pid, 0)
    largest = usage.ru_maxrss
    # Orphaned workers and fork servers were adopted by this process: wait for them too (the
    # usage wait4 reports covers a process and the descendants it waited for).
    while True:
        try:
            _pid, _status, usage = os.wait4(-1, 0)
        except ChildProcessError:
            break
        largest = max(largest, usage.ru_maxrss)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "rss": largest / 1024, "tree_rss": peak_tree}


def pandoc() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def chapter_files(manuscript: Path) -> list[str]:
    return [p.name for p in sorted(manuscript.glob("*.md"))]


def edit_paragraph(manuscript: Path, rng_seed: int) -> None:
    """Change one word of one paragraph in the middle chapter (the page count stays)."""
    path = sorted(manuscript.glob("*-chapter-*.md"))[len(list(manuscript.glob("*-chapter-*.md"))) // 2]
    text = path.read_text(encoding="utf-8")
    head, body = text.split("---\n\n", 1)
    marker = f" edited{rng_seed} "
    path.write_text(head + "---\n\n" + body.replace(" the ", marker, 1), encoding="utf-8")


def add_page(manuscript: Path, rng_seed: int) -> None:
    """Append about a page of text to the middle chapter's first section."""
    import random

    rng = random.Random(rng_seed)
    path = sorted(manuscript.glob("*-chapter-*.md"))[len(list(manuscript.glob("*-chapter-*.md"))) // 2]
    text = path.read_text(encoding="utf-8")
    head, body = text.split("---\n\n", 1)
    first, rest = body.split("\n\n", 1)
    added = "\n\n".join(paragraph(rng, 150) for _ in range(3))
    path.write_text(head + "---\n\n" + first + "\n\n" + added + "\n\n" + rest, encoding="utf-8")


def tasks(manuscript: Path, work: Path) -> dict[str, list[tuple[str, list[str] | None]]]:
    bookmaker = str(BIN / "bookmaker")
    files = chapter_files(manuscript)
    pd = pandoc()
    out = work / "out"
    return {
        "bookmaker PDF+EPUB cold": [("clear", None), ("run", [bookmaker, "build", str(manuscript), "-o", str(out), "-q"])],
        "bookmaker PDF+EPUB one-paragraph edit": [("edit-paragraph", None),
                                                   ("run", [bookmaker, "build", str(manuscript), "-o", str(out), "-q"])],
        "bookmaker PDF+EPUB page-adding edit": [("add-page", None),
                                                 ("run", [bookmaker, "build", str(manuscript), "-o", str(out), "-q"])],
        # --no-cache: pandoc keeps nothing between runs, so neither may this (a rebuild would
        # reuse the Markdown conversions kept in the output folder).
        "bookmaker EPUB": [("run", [bookmaker, "build", str(manuscript), "-o", str(work / "epub"), "--format", "epub",
                                    "--no-cache", "-q"])],
        "pandoc EPUB": [("run", [pd, *files, "-o", str(work / "pandoc.epub")])],
        "pandoc + WeasyPrint PDF": [("run", [pd, *files, "-s", "-t", "html5", "-o", str(work / "pandoc.html")]),
                                    # The HTML is written outside the manuscript, so the figures' relative
                                    # paths resolve against the manuscript folder (--base-url), as bookmaker's do.
                                    ("run", [str(BIN / "weasyprint"), "--base-url", str(manuscript),
                                             str(work / "pandoc.html"), str(work / "pandoc.pdf")])],
    }


def compile_bookmaker(package: Path | None = None) -> None:
    """Write bookmaker's bytecode (``package``: another checkout's), as installing a package does
    (pip compiled WeasyPrint's): an editable install leaves it to the first import, and where
    PYTHONDONTWRITEBYTECODE is set every timed build -- and its fork server -- would compile the
    sources again."""
    import compileall

    if package is None:
        import bookmaker

        package = Path(bookmaker.__file__).parent
    compileall.compile_dir(str(package), quiet=1)


def run(chapters: int, repeat: int, work: Path) -> dict[str, dict[str, float]]:
    _become_subreaper()
    shutil.rmtree(work, ignore_errors=True)
    manuscript = generate(work / "manuscript", chapters)
    pristine = work / "pristine"
    shutil.copytree(manuscript, pristine)
    plan = tasks(manuscript, work)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in plan}
    for rep in range(repeat):
        for name, steps in plan.items():
            total = {"wall": 0.0, "cpu": 0.0, "rss": 0.0, "tree_rss": 0.0}
            for kind, command in steps:
                if kind == "clear":
                    shutil.rmtree(manuscript)
                    shutil.copytree(pristine, manuscript)
                    shutil.rmtree(work / "out" / ".bookmaker-cache", ignore_errors=True)
                elif kind == "edit-paragraph":
                    edit_paragraph(manuscript, rep)
                elif kind == "add-page":
                    add_page(manuscript, rep)
                else:
                    assert command is not None
                    got = measure(command, manuscript)
                    total = {"wall": total["wall"] + got["wall"], "cpu": total["cpu"] + got["cpu"],
                             "rss": max(total["rss"], got["rss"]), "tree_rss": max(total["tree_rss"], got["tree_rss"])}
            samples[name].append(total)
            print(f"  [{rep + 1}/{repeat}] {name}: {total['wall']:.2f} s", file=sys.stderr)
    pages = None
    for pdf in (work / "out").glob("*.pdf"):
        import pymupdf

        with pymupdf.open(pdf) as doc:
            pages = len(doc)
    medians = {name: {key: statistics.median(s[key] for s in runs) for key in ("wall", "cpu", "rss", "tree_rss")}
               for name, runs in samples.items()}
    medians["_book"] = {"chapters": chapters, "pages": pages or 0}
    return medians


def report(results: dict[int, dict[str, dict[str, float]]]) -> str:
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC", ""]
    lines += ["| chapters | pages | task | wall s | CPU s (all processes) | peak RSS MiB, largest process | "
              "peak PSS MiB, all processes (sampled) |", "|---|---|---|---|---|---|---|"]
    for chapters, medians in results.items():
        pages = int(medians["_book"]["pages"])
        for name, m in medians.items():
            if not name.startswith("_"):
                lines.append(f"| {chapters} | {pages} | {name} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['rss']:.0f} | {m['tree_rss']:.0f} |")
    lines.append("")
    for chapters, m in results.items():
        cold = m["bookmaker PDF+EPUB cold"]["wall"]
        lines.append(f"{chapters} chapters: cold PDF+EPUB / pandoc+WeasyPrint = "
                     f"{cold / m['pandoc + WeasyPrint PDF']['wall']:.2f}; one-paragraph rebuild / cold = "
                     f"{m['bookmaker PDF+EPUB one-paragraph edit']['wall'] / cold:.2f}; page-adding rebuild / cold = "
                     f"{m['bookmaker PDF+EPUB page-adding edit']['wall'] / cold:.2f}; EPUB / pandoc EPUB = "
                     f"{m['bookmaker EPUB']['wall'] / m['pandoc EPUB']['wall']:.2f}")
    sizes = sorted(results)
    if len(sizes) > 1:
        small, large = results[sizes[0]], results[sizes[-1]]
        lines.append(f"t({sizes[-1]}) / t({sizes[0]}) cold PDF+EPUB = "
                     f"{large['bookmaker PDF+EPUB cold']['wall'] / small['bookmaker PDF+EPUB cold']['wall']:.2f}")
    lines += ["", "Targets of issue 10 (measured above; 'met' or 'missed'):"]
    for chapters, m in results.items():
        cold = m["bookmaker PDF+EPUB cold"]["wall"]
        checks = [
            ("cold PDF+EPUB <= 0.8x pandoc + WeasyPrint", cold / m["pandoc + WeasyPrint PDF"]["wall"], 0.8),
            ("one-paragraph rebuild <= 0.2x cold", m["bookmaker PDF+EPUB one-paragraph edit"]["wall"] / cold, 0.2),
            ("page-adding rebuild <= 0.35x cold", m["bookmaker PDF+EPUB page-adding edit"]["wall"] / cold, 0.35),
            ("EPUB <= 0.6x pandoc EPUB", m["bookmaker EPUB"]["wall"] / m["pandoc EPUB"]["wall"], 0.6),
        ]
        pages = m["_book"]["pages"]
        if pages >= 900:
            checks.append((f"peak RSS of the largest process <= 350 MiB ({pages:.0f} pages)",
                           max(v["rss"] for k, v in m.items() if k.startswith("bookmaker PDF")), 350))
            checks.append((f"peak PSS of all processes <= 350 MiB ({pages:.0f} pages)",
                           max(v["tree_rss"] for k, v in m.items() if k.startswith("bookmaker PDF")), 350))
        for label, value, limit in checks:
            lines.append(f"- {chapters} chapters: {label}: {value:.2f} ({'met' if value <= limit else 'missed'})")
    if 10 in results and 100 in results:
        ratio = results[100]["bookmaker PDF+EPUB cold"]["wall"] / results[10]["bookmaker PDF+EPUB cold"]["wall"]
        lines.append(f"- t(100 chapters) / t(10 chapters) <= 10.5: {ratio:.2f} ({'met' if ratio <= 10.5 else 'missed'})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", type=int, nargs="+", default=[40])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/work"))
    parser.add_argument("--json", type=Path, help="also write the medians here")
    args = parser.parse_args()
    compile_bookmaker()
    # Absolute: each command runs in the manuscript folder, where a relative --work means nothing.
    work = args.work.resolve()
    results = {n: run(n, args.repeat, work / str(n)) for n in args.chapters}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(report(results))


if __name__ == "__main__":
    main()
