"""Time ``bookmaker build --watch``: from saving one paragraph of one chapter to the new PDF.

    python benchmarks/watch.py --chapters 34 --repeat 5

The generated book (34 chapters is about 300 pages) is built once by the watcher; then one
word of a paragraph in the middle chapter is changed, repeatedly, and the time from the
save to the watcher's "done in" line is reported (median, and every sample).  The watcher
keeps its worker processes and the layout cache between rebuilds (issue 10: about 2 s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate  # noqa: E402

BIN = Path(sys.executable).parent


def wait_for(process: subprocess.Popen[str], needle: str, timeout: float = 300) -> str:
    """Read the watcher's output until a line holds ``needle``; return that line."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"the watcher ended before printing {needle!r}")
        if needle in line:
            return line
    raise SystemExit(f"no {needle!r} within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", type=int, default=34)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("benchmarks/work/watch"))
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    manuscript = generate(args.work / "manuscript", args.chapters)
    out = args.work / "out"
    chapters = sorted(manuscript.glob("*-chapter-*.md"))
    target = chapters[len(chapters) // 2]
    # stdout carries "wrote ... (N pages)" and "done in", stderr "watching": one stream of both.
    process = subprocess.Popen([str(BIN / "bookmaker"), "build", str(manuscript), "-o", str(out), "--watch"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})  # a pipe is block-buffered
    samples = []
    pages = ""
    try:
        wait_for(process, "watching ")
        time.sleep(1.0)  # the line is printed just before the file watcher starts
        for rep in range(args.repeat):
            text = target.read_text(encoding="utf-8")
            head, body = text.split("---\n\n", 1)
            target.write_text(head + "---\n\n" + body.replace(" the ", f" watched{rep} ", 1), encoding="utf-8")
            saved = time.monotonic()
            pages = wait_for(process, ".pdf (").strip()
            wait_for(process, "done in")
            samples.append(time.monotonic() - saved)
            print(f"  [{rep + 1}/{args.repeat}] {samples[-1]:.2f} s", file=sys.stderr)
            time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(f"{args.chapters} chapters ({pages.split('(')[-1].rstrip(')')}): save to new PDF in build --watch, "
          f"median {statistics.median(samples):.2f} s; samples " + ", ".join(f"{s:.2f}" for s in samples))


if __name__ == "__main__":
    main()
