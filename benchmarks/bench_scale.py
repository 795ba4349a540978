"""Retrieval scale benchmark (``make bench-scale``): how build time and search latency grow with the corpus.

Corpora, smallest to largest: the handbook (``../shared/handbook/2025-07`` + the bundled FAQ), each
handbook in ``../shared/corpora/``, then synthetic Markdown corpora of 10k, 30k and 100k sections
(words drawn from the real corpora). Each point is built and searched in its own process by
``benchmarks/bench_index.py``'s ``--child`` mode (its corpus and question helpers are reused, not
copied), so memory and caches of one size do not leak into the next.

Writes a Markdown table to stdout and to ``docs/perf/scale.md``, and a plot to ``docs/perf/scale.png``
(sections on a log axis; search p50/p99 in ms and build seconds).

    python -m benchmarks.bench_scale
    python -m benchmarks.bench_scale --synthetic 5000,20000 --questions 200 --no-plot
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import bench_index  # the sibling benchmark: corpus builders and the per-corpus child run

REPO = Path(__file__).resolve().parent.parent

OUT = REPO / "docs" / "perf"


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def measure(label: str, sources: Path, work: Path, n_questions: int) -> dict | None:
    cmd = [sys.executable, bench_index.__file__, "--child", label, str(sources), "--out", str(work / "index"),
           "--questions", str(n_questions)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        print(f"{label}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    head = "| corpus | sections | pages | build s | index MB | peak RSS MB | search p50 ms | search p99 ms |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['corpus']} | {r['sections']:,} | {r['pages']:,} | {r['build_s']:.2f} | "
                     f"{r['index_mb']:.1f} | {r['peak_rss_mb']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path, subtitle: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["sections"])
    x = [r["sections"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(x, [r["p50_ms"] for r in rows], "o-", label="p50")
    left.plot(x, [r["p99_ms"] for r in rows], "s--", label="p99")
    left.set_title("search latency (Index.search, k=5)")
    left.set_ylabel("ms")
    right.plot(x, [r["build_s"] for r in rows], "o-", color="tab:green")
    right.set_title("index build time")
    right.set_ylabel("seconds")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sections in the index")
        ax.grid(True, which="both", alpha=0.3)
        for r in rows:
            ax.annotate(r["corpus"], (r["sections"], ax.lines[0].get_ydata()[rows.index(r)]), fontsize=7,
                        textcoords="offset points", xytext=(4, 4))
    left.legend()
    fig.suptitle(f"handbook-bot retrieval at scale: {subtitle}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--synthetic", default="10000,30000,100000", help="synthetic corpus sizes in sections")
    p.add_argument("--questions", type=int, default=300)
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--out", type=Path, default=OUT, help="folder for scale.md and scale.png")
    args = p.parse_args(argv)

    shared_corpora = bench_index.SHARED / "corpora"
    names = ["handbook"] + (sorted(d.name for d in shared_corpora.iterdir() if d.is_dir())
                            if shared_corpora.is_dir() else [])
    sizes = [int(s) for s in args.synthetic.split(",") if s.strip()]
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        plan = [(n, n, None) for n in names] + [(f"synthetic-{s // 1000}k", "synthetic-100k", s) for s in sizes]
        for label, kind, size in plan:
            work = Path(tmp) / label
            work.mkdir()
            sources = bench_index.corpus_sources(kind, work, size or 0)
            if sources is None:
                print(f"{label}: not found under {bench_index.SHARED}, skipped", file=sys.stderr)
                continue
            row = measure(label, sources, work, args.questions)
            if row:
                rows.append(row)
                print(f"{label}: {row['sections']} sections, build {row['build_s']}s, "
                      f"p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms", file=sys.stderr)
    rows.sort(key=lambda r: r["sections"])
    machine = _machine()
    command = "python -m benchmarks.bench_scale " + " ".join(argv if argv is not None else sys.argv[1:])
    text = (f"{table(rows)}\n\nMachine: {machine}. Command: `{command.strip()}` "
            f"({time.perf_counter() - started:.0f} s in all).\n")
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.md").write_text(text, encoding="utf-8")
    if not args.no_plot and rows:
        plot(rows, args.out / "scale.png", machine)
        print(f"plot: {args.out / 'scale.png'}")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
