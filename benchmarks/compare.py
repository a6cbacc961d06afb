"""This checkout's benchmark figures against an earlier commit's, in one run.

``python benchmarks/compare.py REV`` (or ``make bench-compare REV=...``) checks REV out
into a temporary git worktree, compiles its node store there, and times every row of
``make bench`` that runs our engine on both trees: each row once per round per tree,
each time in a fresh process of the benchmark environment, alternating which tree goes
first, and always with this checkout's ``workloads.py`` (the same measurement for both;
only the packages it imports differ). It prints each figure's fastest value per tree
and the median of the per-round ratios (this checkout / REV), and marks a ratio above
1.10: "no figure more than 10% worse than before", checked in one run.

Options:
    --rounds N      rounds per row (default 5)
    --only W1,W3    only the rows of these workloads
    --output PATH   also write the table to PATH

A row whose workload uses what REV does not have shows REV's error instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import NO_GC, PURE, VENV_PYTHON, ensure_environment, machine, measure  # noqa: E402

ROOT = os.path.dirname(HERE)
LIMIT = 1.10  # a ratio above this is marked
SETUPTOOLS_MAJOR = 77  # pyproject.toml's [build-system] requires

# (workload, engine, repeats): the rows of `make bench` that run our engine, with its
# repeats (0: the workload's full length).
ROWS = [
    ("W1", "eager", 7), ("W1", f"eager{PURE}", 7), ("W1", f"eager{NO_GC}", 7),
    ("W2", "eager", 1),
    ("W3", "eager", 0), ("W3", f"eager{PURE}", 0), ("W3", f"eager{NO_GC}", 0),
    ("W3", "fit", 0), ("W3", "fit-trace", 0), ("W3", "replay", 0),
    ("W4", "eager", 7), ("W4", "replay", 200),
    ("W5", "fit-trace", 0),
]

# The figures of a worker's result: (key, label). W2's come per depth.
FIGURES = [
    ("forward_ns", "forward ns/op"), ("backward_ns", "backward ns/op"),
    ("total_ns", "total ns/op"), ("bytes", "peak bytes/op"),
    ("ms_per_step", "ms/step"), ("us_per_sample", "us/sample"),
]


def figures(result: dict) -> Iterator[tuple[str, float]]:
    """(label, value) for each figure a worker reported."""
    for key, label in FIGURES:
        if isinstance(result.get(key), (int, float)):
            yield label, float(result[key])
    for depth, run in result.get("depths", {}).items():
        if run.get("ok"):
            yield f"chain of {int(depth):,}, s", float(run["seconds"])


def resolve(rev: str, root: str = ROOT) -> str:
    """REV's commit id, or a SystemExit naming what is wrong (before anything is timed)."""
    found = subprocess.run(["git", "-C", root, "rev-parse", "--verify", "--quiet",
                            "--end-of-options", f"{rev}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        raise SystemExit(f"compare.py: {rev!r} is not a commit of this repository")
    return found.stdout.strip()


def checkout(rev: str, into: str) -> None:
    """REV's files in a detached worktree at ``into``, its node store compiled in place."""
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "--quiet", into, rev],
                   check=True)
    build = subprocess.run([VENV_PYTHON, "setup.py", "-q", "build_ext", "--inplace"],
                           cwd=into, capture_output=True, text=True)
    if build.returncode != 0:
        raise SystemExit(f"could not compile {rev}'s node store:\n{build.stderr[-2000:]}")


def remove_worktree(tree: str, root: str = ROOT) -> None:
    """Remove the temporary worktree, even one git left locked (an interrupted add)."""
    subprocess.run(["git", "-C", root, "worktree", "remove", "--force", "--force", tree],
                   capture_output=True)


def compare(rev: str, rounds: int, workloads: set[str] | None) -> str:
    """Time every row on both trees; returns the Markdown table."""
    if shutil.which("git") is None:
        raise SystemExit("compare.py needs git")
    commit = resolve(rev)
    ensure_environment(with_torch=False)
    # REV's node store is built by setup.py, which reads pyproject.toml: that needs the
    # setuptools of its build requirement, newer than the one a new venv may come with.
    has = subprocess.run([VENV_PYTHON, "-c", "import setuptools, sys; sys.exit(int("
                          f"setuptools.__version__.split('.')[0]) < {SETUPTOOLS_MAJOR})"],
                         capture_output=True)
    if has.returncode:
        subprocess.run([VENV_PYTHON, "-m", "pip", "install", "-q",
                        f"setuptools>={SETUPTOOLS_MAJOR}"], check=True)
    rows = [row for row in ROWS if workloads is None or row[0] in workloads]
    base = tempfile.mkdtemp(prefix="bench-compare-")
    tree = os.path.join(base, "tree")
    try:
        checkout(commit, tree)
        trees = {"rev": tree, "head": ROOT}
        runs: dict[tuple, dict[str, list[dict]]] = {row: {"rev": [], "head": []} for row in rows}
        for round_ in range(rounds):
            for row in rows:
                print(f"  round {round_ + 1}/{rounds}: {row[0]} {row[1]}", file=sys.stderr,
                      flush=True)
                order = ["rev", "head"] if round_ % 2 == 0 else ["head", "rev"]
                for name in order:
                    runs[row][name].append(measure(*row, packages=trees[name]))
    finally:
        remove_worktree(tree)
        shutil.rmtree(base, ignore_errors=True)
    return f"Machine: {machine()}\n\n{table(rev, rounds, runs)}"


def _store(results: list[dict]) -> str:
    stores = {r.get("core") for r in results if "core" in r}
    return f" [{'/'.join(sorted(stores))}]" if stores else ""


def table(rev: str, rounds: int, runs: dict[tuple, dict[str, list[dict]]]) -> str:
    """The Markdown table: fastest value per tree, median per-round ratio, marks.

    Computed from the results alone (``compare`` puts the machine's description above).
    """
    lines = [
        f"This checkout against {rev}: {rounds} alternating rounds of fresh processes per "
        "row, the same workloads.py for both; fastest value per tree; ratio = median over "
        f"rounds of this checkout / {rev} (lower is better; marked above {LIMIT:.2f}).",
        "",
        f"| row | figure | {rev} | this checkout | ratio | |",
        "|---|---|---:|---:|---:|---|",
    ]
    worse = 0
    for (workload, engine, _), results in runs.items():
        name = f"{workload} {engine}"
        failed = {side: next((r for r in results[side] if "error" in r), None)
                  for side in results}
        expected = "python" if engine.endswith(PURE) else "compiled"
        for side in results:  # a compiled row that ran on the Python store compares nothing
            stray = next((r for r in results[side] if r.get("core", expected) != expected),
                         None)
            if stray and not failed[side]:
                failed[side] = {"error": f"ran on the {stray['core']} node store"}
        if failed["rev"] or failed["head"]:
            side = "rev" if failed["rev"] else "head"
            who = rev if side == "rev" else "this checkout"
            lines.append(f"| {name} | - | | | | fails on {who}: {failed[side]['error']} |")
            continue
        label = f"{name}{_store(results['rev'] + results['head'])}"
        # Every figure either side reported in any round (a W2 depth can fail on one).
        runs_figures = {side: [dict(figures(r)) for r in results[side]] for side in results}
        names = dict.fromkeys(figure for side in runs_figures for run in runs_figures[side]
                              for figure in run)
        for figure in names:
            rev_values = [run.get(figure) for run in runs_figures["rev"]]
            head_values = [run.get(figure) for run in runs_figures["head"]]
            if None in head_values or None in rev_values:
                lost = None in head_values  # a figure this checkout no longer gives: worse
                mark = "**missing on this checkout**" if lost else f"missing on {rev}"
                worse += lost
                lines.append(f"| {label} | {figure} | | | | {mark} |")
                continue
            ratios = [h / r for h, r in zip(head_values, rev_values) if r > 0]
            ratio = statistics.median(ratios) if ratios else float("nan")
            mark = "**worse by more than 10%**" if ratio > LIMIT else ""
            worse += ratio > LIMIT
            lines.append(f"| {label} | {figure} | {min(rev_values):,.3f} | "
                         f"{min(head_values):,.3f} | {ratio:.2f} | {mark} |")
    lines += ["", f"{worse} figure(s) more than {LIMIT - 1:.0%} worse than {rev}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the commit to compare against (any git revision)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W3")
    parser.add_argument("--output", help="also write the table to this file")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    workloads = None if args.only is None else set(args.only.split(","))
    known = {row[0] for row in ROWS}
    if workloads is not None and not workloads <= known:
        # an empty table would read as "nothing worse"
        parser.error(f"--only: no rows for {sorted(workloads - known)}; "
                     f"the workloads are {sorted(known)}")
    text = compare(args.rev, args.rounds, workloads)
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
