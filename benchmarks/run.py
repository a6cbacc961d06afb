"""Reproducible speed comparison: our engine against micrograd, numpy and PyTorch.

``python benchmarks/run.py`` (or ``make bench``) first sets up its own virtual
environment in ``benchmarks/.venv`` with the peers (micrograd 0.1.0, numpy and, if
pip finds a local wheel of it, the CPU build of PyTorch), then runs every (workload,
engine) pair in a fresh process and prints a Markdown table of medians and same-run
ratios.

Options:
    --quick         fewer repeats (a smoke run, numbers are noisy)
    --full          run micrograd's W3 demo for all 100 steps (minutes) for its accuracy
    --no-torch      do not install or run PyTorch
    --output PATH   also write the table (with the machine description) to PATH
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import venv
from collections.abc import Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")
PEERS = ["micrograd==0.1.0", "numpy", "tqdm"]  # tqdm: imported by our nn
TORCH = "torch==2.13.0"
NO_GC = "+gc-paused"  # the workers' suffix for "cyclic garbage collector paused"
PURE = "+python-store"  # the workers' suffix for "our engine on its pure-Python node store"


# ---------------------------------------------------------------------------
# The environment


def ensure_environment(with_torch: bool) -> bool:
    """Create benchmarks/.venv with the peers once; returns whether torch is there."""
    if not os.path.exists(VENV_PYTHON):
        print("creating benchmarks/.venv ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not all(_importable(name.split("=")[0]) for name in PEERS):
        subprocess.run([VENV_PYTHON, "-m", "pip", "install", "-q", *PEERS], check=True)
    if not with_torch:
        return False
    if not _importable("torch"):
        # Only a wheel pip finds locally (a CPU build, through its find-links): from
        # the index, pip would pull the multi-gigabyte CUDA build. Then its small
        # pure-Python dependencies, which may come from the index.
        print(f"installing {TORCH} from a local wheel, if there is one ...", file=sys.stderr)
        pip = [VENV_PYTHON, "-m", "pip", "install", "-q"]
        local = subprocess.run([*pip, "--no-index", "--no-deps", TORCH], capture_output=True)
        if local.returncode != 0 or subprocess.run([*pip, TORCH]).returncode != 0:
            print("no local PyTorch wheel; its rows are skipped", file=sys.stderr)
            return False
    return True


def _importable(module: str) -> bool:
    check = subprocess.run([VENV_PYTHON, "-c", f"import {module}"], capture_output=True)
    return check.returncode == 0


# Some machines set these to steer OpenBLAS's choice of kernel; the benchmark leaves
# the choice to OpenBLAS (in its own workers only) and reports the kernel it took.
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def worker_environment() -> dict[str, str]:
    """The workers' environment: one thread for numpy and torch, no kernel override."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for name in BLAS_OVERRIDES:
        env.pop(name, None)
    return env


def measure(workload: str, engine: str, repeats: int, packages: str | None = None) -> dict:
    """One (workload, engine) pair in a fresh process of the benchmark environment.

    ``packages``: the checkout whose packages the worker imports (default: this one).
    """
    command = [VENV_PYTHON, os.path.join(HERE, "workloads.py"), workload, engine, str(repeats)]
    env = worker_environment()
    if packages is not None:
        env["BENCH_PACKAGES"] = packages
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        return {"error": tail[0]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# The replay's target is a ratio to hand-written numpy, and one process can land in a
# slow spell of the shared machine that the next one misses: these engines run in
# alternating processes, several rounds, and each keeps its fastest round: a slow spell
# only ever adds time, and the rounds of both engines face the same spells.
W3_ALTERNATED = ("replay", "numpy", "fit-trace", "torch")
W5_ENGINES = ("fit-trace", "numpy", "torch")


def measure_alternated(workload: str, engines: Sequence[str], rounds: int) -> dict:
    """Each engine once per round, alternating, in fresh processes; fastest round per engine.

    The other fields (accuracy, steps) are the first round's; a failure is reported as is.
    """
    runs: dict[str, list[dict]] = {engine: [] for engine in engines}
    for _ in range(rounds):
        for engine in engines:
            runs[engine].append(measure(workload, engine, 0))
    results = {}
    for engine, measured in runs.items():
        failed = [r for r in measured if "error" in r]
        if failed:
            results[engine] = failed[0]
            continue
        results[engine] = dict(measured[0])
        results[engine]["ms_per_step"] = min(r["ms_per_step"] for r in measured)
        results[engine]["rounds"] = rounds
    return results


# ---------------------------------------------------------------------------
# The table


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [line.split(":", 1)[1].strip() for line in info if "model name" in line]
        cpu = f"{names[0]} x {len(names)}" if names else cpu
    except OSError:
        pass
    versions = subprocess.run(
        [
            VENV_PYTHON,
            "-c",
            "import numpy, importlib.util as u; print(numpy.__version__, "
            "__import__('torch').__version__ if u.find_spec('torch') else '-')",
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    numpy_version, torch_version = (versions + ["?", "?"])[:2]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    kernel = measure("blas", "-", 0).get("kernel", "unknown")
    unset = [name for name in BLAS_OVERRIDES if name in os.environ]
    override = (f" ({' and '.join(unset)} unset for the workers)" if unset
                else f" ({' and '.join(BLAS_OVERRIDES)} not set)")
    return (
        f"{cpu}; {platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"numpy {numpy_version}; torch {torch_version}; OpenBLAS kernel {kernel}{override}; "
        f"load average at start {load}. "
        "Times are CPU time of one single-threaded process (time.process_time)."
    )


def _ratio(reference: float | None, value: float | None) -> str:
    if not reference or not value:
        return "-"
    return f"{reference / value:,.1f}x"


def _label(engine: str, result: dict) -> str:
    """The engine's name, with the node store that ran for our engine's rows."""
    core = result.get("core")
    return f"{engine} [{core}]" if core else engine


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def run(args: argparse.Namespace) -> str:
    torch = ensure_environment(not args.no_torch)
    quick = args.quick
    paused = [f"micrograd{NO_GC}", f"eager{NO_GC}"]
    scalar_engines = ["micrograd", "eager", f"eager{PURE}", *paused]
    scalar_engines += ["torch"] if torch else []
    lines = [f"Machine: {machine()}", ""]

    def progress(name: str) -> None:
        print(f"  running {name} ...", file=sys.stderr, flush=True)

    # W1
    w1 = {}
    for engine in scalar_engines:
        progress(f"W1 {engine}")
        w1[engine] = measure("W1", engine, 1 if quick else (3 if "micrograd" in engine else 7))
    ref = w1["micrograd"].get("total_ns")
    lines += [
        "W1: 100,000-op chain x = exp(tanh(x * w + b)); medians; ratio = micrograd / engine; "
        f"{NO_GC}: the cyclic garbage collector disabled for the run; {PURE}: our engine "
        "on its pure-Python node store; [compiled] / [python]: the store that ran",
        "",
        "| engine | forward ns/op | backward ns/op | total ns/op | vs micrograd "
        "| peak bytes/op | freed by refcount |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for engine, r in w1.items():
        if "error" in r:
            lines.append(f"| {engine} | failed: {r['error']} | | | | | |")
            continue
        lines.append(
            f"| {_label(engine, r)} | {_num(r['forward_ns'])} | {_num(r['backward_ns'])} "
            f"| {_num(r['total_ns'])} | {_ratio(ref, r['total_ns'])} | {_num(r['bytes'])} "
            f"| {'yes' if r['freed_by_refcount'] else 'no'} |"
        )

    # W2
    lines += [
        "",
        "W2: chains at the default recursion limit (forward + backward; fastest of 5, 3, 1 runs)",
        "",
        "| engine | 10^4 | 10^5 | 10^6 |",
        "|---|---:|---:|---:|",
    ]
    for engine in ["micrograd", "eager"]:
        progress(f"W2 {engine}")
        r = measure("W2", engine, 1)
        cells = []
        for depth in ("10000", "100000", "1000000"):
            d = r.get("depths", {}).get(depth)
            if d is None:
                cells.append("not run (failed shallower)" if "depths" in r else r.get("error", "-"))
            elif d["ok"]:
                cells.append(f"{d['seconds']:.2f} s")
            else:
                cells.append(f"fails ({d['error']})")
        lines.append(f"| {engine} | " + " | ".join(cells) + " |")

    # W3
    w3_engines = ["micrograd", "eager", f"eager{PURE}", f"eager{NO_GC}", "fit", "fit-trace",
                  "replay", "numpy"]
    w3_engines += ["torch"] if torch else []
    alternated = [engine for engine in W3_ALTERNATED if engine in w3_engines]
    w3 = {}
    for engine in w3_engines:
        if engine in W3_ALTERNATED:
            continue
        progress(f"W3 {engine}")
        steps = 0
        if engine.startswith("micrograd") and not args.full:
            steps = 2 if quick else 5
        w3[engine] = measure("W3", engine, steps)
    progress(f"W3 {', '.join(alternated)}, alternated")
    w3.update(measure_alternated("W3", alternated, rounds=2 if quick else 7))
    w3 = {engine: w3[engine] for engine in w3_engines}
    ref = w3["micrograd"].get("ms_per_step")
    numpy_ms = w3["numpy"].get("ms_per_step")
    lines += [
        "",
        "W3: micrograd's moons demo, MLP(2, [16, 16, 1]), 100 points, 100 full-batch SGD "
        f"steps; mean ms per step ({', '.join(alternated)}: the fastest of "
        f"{w3[alternated[0]].get('rounds', 1)} runs in alternating processes); fit-trace: "
        "nn.fit(engine=\"trace\") end to end per step (100 epochs minus 5, so its one-off "
        "set-up, shown in brackets, cancels)",
        "",
        "| engine | ms/step | vs micrograd | vs numpy | final accuracy |",
        "|---|---:|---:|---:|---:|",
    ]
    for engine, r in w3.items():
        if "error" in r:
            lines.append(f"| {engine} | failed: {r['error']} | | | |")
            continue
        accuracy = "-" if r["accuracy"] is None else f"{r['accuracy']:.2f}"
        if r["steps"] != 100:
            accuracy += f" ({r['steps']} steps timed; --full for all 100)"
        ms = r["ms_per_step"]
        setup = f" (+{r['setup_ms']:.1f} ms once)" if "setup_ms" in r else ""
        lines.append(
            f"| {_label(engine, r)} | {_num(ms, 3)}{setup} | {_ratio(ref, ms)} | "
            f"{'-' if not numpy_ms else f'{ms / numpy_ms:,.2f}x slower'} | {accuracy} |"
        )

    # W5
    w5_engines = [engine for engine in W5_ENGINES if torch or engine != "torch"]
    progress(f"W5 {', '.join(w5_engines)}, alternated")
    w5 = measure_alternated("W5", w5_engines, rounds=2 if quick else 5)
    numpy_ms = w5["numpy"].get("ms_per_step")
    lines += [
        "",
        "W5: MLP(2, [64, 64, 1]) on 1,000 moons points, batches of 100, SGD with momentum "
        "0.9, max-margin loss and L2 penalty, 10 epochs (100 steps), the same batches for "
        f"every engine; ms per step (the fastest of {w5['numpy'].get('rounds', 1)} runs in "
        "alternating processes; numpy and torch: their whole loop / steps, each run the "
        "fastest of 3; fit-trace: 12 epochs minus 2, so its set-up cancels)",
        "",
        "| engine | ms/step | vs numpy | final accuracy |",
        "|---|---:|---:|---:|",
    ]
    for engine, r in w5.items():
        if "error" in r:
            lines.append(f"| {engine} | failed: {r['error']} | | |")
            continue
        ms = r["ms_per_step"]
        setup = f" (+{r['setup_ms']:.1f} ms once)" if "setup_ms" in r else ""
        lines.append(
            f"| {_label(engine, r)} | {_num(ms, 3)}{setup} | "
            f"{'-' if not numpy_ms else f'{ms / numpy_ms:,.2f}x'} | {r['accuracy']:.3f} |"
        )

    # W4
    w4 = {}
    for engine in ["micrograd", "eager", "replay", "numpy"] + (["torch"] if torch else []):
        progress(f"W4 {engine}")
        slow = engine in ("micrograd", "eager")
        w4[engine] = measure("W4", engine, (3 if slow else 20) if quick else (7 if slow else 200))
    ref = w4["micrograd"].get("us_per_sample")
    lines += [
        "",
        "W4: MLP(64, [32, 10]), cross-entropy, one sample, forward + backward",
        "",
        "| engine | us/sample | vs micrograd | loss |",
        "|---|---:|---:|---:|",
    ]
    for engine, r in w4.items():
        if "error" in r:
            lines.append(f"| {engine} | failed: {r['error']} | | |")
            continue
        lines.append(
            f"| {_label(engine, r)} | {_num(r['us_per_sample'], 1)} "
            f"| {_ratio(ref, r['us_per_sample'])} "
            f"| {r['loss']:.6f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--output")
    args = parser.parse_args()
    table = run(args)
    print(table)
    if args.output:
        tmp = args.output + ".tmp"
        with open(tmp, "w") as out:
            out.write(table)
        os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
