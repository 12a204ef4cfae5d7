"""Time this checkout's cold build against another commit's, in alternation, on a generated biography.

    python benchmarks/compare.py 4fd75e6 --chapters 40 --repeat 3

The other commit is checked out into a temporary git worktree and run with its ``src`` first on
``PYTHONPATH`` (same interpreter and packages); both write their bytecode first.  Each build is
a cold ``--no-cache`` build of PDF and EPUB as its own process; the medians of wall and CPU time
(worker processes included) are reported with their ratio, this checkout over the other.

    python benchmarks/compare.py 4fd75e6 --rebuild

times rebuilds instead: each checkout builds once into an output folder of its own (untimed), then
each round changes one word in the middle chapter (the runner's one-paragraph edit) and rebuilds
with both, each from its own cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402
from run import BIN, _become_subreaper, compile_bookmaker, edit_paragraph, measure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit", help="the commit to compare against")
    parser.add_argument("--chapters", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="time rebuilds after a one-paragraph edit")
    args = parser.parse_args()
    kind = "one-paragraph rebuild" if args.rebuild else "cold"
    _become_subreaper()
    compile_bookmaker()
    with tempfile.TemporaryDirectory(prefix="bookmaker-compare-") as tmp:
        work = Path(tmp)
        other = work / "other"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(other), args.commit], check=True)
        try:
            compile_bookmaker(other / "src" / "bookmaker")
            manuscript = generate(work / "manuscript", args.chapters)
            samples: dict[str, list[dict[str, float]]] = {"this checkout": [], args.commit: []}
            sides = (("this checkout", None, work / "out-this"), (args.commit, other / "src", work / "out-other"))

            def build(path: Path | None, out: Path) -> dict[str, float]:
                if path is None:
                    os.environ.pop("PYTHONPATH", None)
                else:
                    os.environ["PYTHONPATH"] = str(path)
                if not args.rebuild:
                    shutil.rmtree(out, ignore_errors=True)
                return measure([str(BIN / "python"), "-m", "bookmaker", "build", str(manuscript), "-o", str(out), "-q",
                                *(() if args.rebuild else ("--no-cache",))], work)

            if args.rebuild:
                for _name, path, out in sides:
                    build(path, out)  # the cache the rebuilds start from
            for rep in range(args.repeat):
                if args.rebuild:
                    edit_paragraph(manuscript, rep)
                for name, path, out in sides:
                    got = build(path, out)
                    samples[name].append(got)
                    print(f"  [{rep + 1}/{args.repeat}] {name}: {got['wall']:.2f} s wall, {got['cpu']:.2f} s CPU",
                          file=sys.stderr)
            os.environ.pop("PYTHONPATH", None)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=False)
    medians = {name: {key: statistics.median(s[key] for s in runs) for key in ("wall", "cpu")}
               for name, runs in samples.items()}
    print(f"| build ({args.chapters} chapters, {kind}, median of {args.repeat}) | wall s | CPU s |")
    print("|---|---|---|")
    for name, values in medians.items():
        print(f"| {name} | {values['wall']:.2f} | {values['cpu']:.2f} |")
    mine, theirs = medians["this checkout"], medians[args.commit]
    print(f"\nthis checkout / {args.commit}: wall {mine['wall'] / theirs['wall']:.2f}, CPU {mine['cpu'] / theirs['cpu']:.2f}")


if __name__ == "__main__":
    main()
