"""benchmarks/compare.py's table: figures, ratios, marks and refusals (no timing)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import compare  # noqa: E402


def _rows(table: str) -> dict[tuple[str, str], list[str]]:
    cells = {}
    for line in table.splitlines():
        parts = [p.strip() for p in line.strip("|").split("|")]
        if len(parts) == 6 and parts[0].startswith("W"):
            cells[(parts[0], parts[1])] = parts[2:]
    return cells


def test_the_table_gives_the_fastest_values_and_the_median_ratio_and_marks_it():
    rev = [{"forward_ns": 100.0, "backward_ns": 50.0, "core": "compiled"},
           {"forward_ns": 110.0, "backward_ns": 40.0, "core": "compiled"},
           {"forward_ns": 100.0, "backward_ns": 50.0, "core": "compiled"}]
    head = [{"forward_ns": 105.0, "backward_ns": 60.0, "core": "compiled"},
            {"forward_ns": 99.0, "backward_ns": 44.0, "core": "compiled"},
            {"forward_ns": 130.0, "backward_ns": 56.0, "core": "compiled"}]
    text = compare.table("abc123", 3, {("W1", "eager", 7): {"rev": rev, "head": head}})
    cells = _rows(text)
    # forward ratios 1.05, 0.9, 1.3: median 1.05; backward 1.2, 1.1, 1.12: median 1.12
    assert cells[("W1 eager [compiled]", "forward ns/op")] == ["100.000", "99.000", "1.05", ""]
    assert cells[("W1 eager [compiled]", "backward ns/op")] == [
        "40.000", "44.000", "1.12", "**worse by more than 10%**"]
    assert text.rstrip().endswith("1 figure(s) more than 10% worse than abc123.")


def test_w2_depths_are_figures_and_a_failed_depth_is_not():
    result = {"depths": {"10000": {"ok": True, "seconds": 0.5},
                         "1000000": {"ok": False, "error": "RecursionError"}}}
    assert list(compare.figures(result)) == [("chain of 10,000, s", 0.5)]


def test_a_row_that_fails_or_ran_on_the_wrong_store_compares_nothing():
    ok = {"ms_per_step": 1.0, "core": "compiled"}
    text = compare.table("abc123", 1, {
        ("W4", "replay", 200): {"rev": [{"error": "AttributeError: no logsumexp"}],
                                "head": [ok]},
        ("W3", "eager", 0): {"rev": [{"ms_per_step": 1.0, "core": "python"}], "head": [ok]},
    })
    assert "| W4 replay | - | | | | fails on abc123: AttributeError: no logsumexp |" in text
    assert "| W3 eager | - | | | | fails on abc123: ran on the python node store |" in text
    assert text.rstrip().endswith("0 figure(s) more than 10% worse than abc123.")


def test_a_figure_missing_in_some_run_is_shown_not_a_crash():
    # A W2 depth that fails on this checkout (or on REV) in any round: the table says so
    # (this checkout's loss counts as worse) instead of failing after every round ran.
    def w2(*seconds):
        return {"depths": {str(10 ** (4 + i)): ({"ok": True, "seconds": s} if s else
                                                {"ok": False, "error": "RecursionError"})
                           for i, s in enumerate(seconds)}, "core": "compiled"}
    text = compare.table("abc123", 2, {
        ("W2", "eager", 1): {"rev": [w2(0.5, 5.0, None), w2(0.4, 4.0, 40.0)],
                             "head": [w2(0.5, None, 45.0), w2(0.5, 5.0, 50.0)]},
    })
    cells = _rows(text)
    assert cells[("W2 eager [compiled]", "chain of 10,000, s")] == ["0.400", "0.500", "1.12",
                                                                    "**worse by more than 10%**"]
    assert cells[("W2 eager [compiled]", "chain of 100,000, s")] == [
        "", "", "", "**missing on this checkout**"]
    assert cells[("W2 eager [compiled]", "chain of 1,000,000, s")] == [
        "", "", "", "missing on abc123"]
    assert text.rstrip().endswith("2 figure(s) more than 10% worse than abc123.")


def test_a_revision_that_is_no_commit_is_refused_before_anything_runs():
    assert len(compare.resolve("HEAD")) == 40
    for rev in ("no-such-revision-anywhere", "HEAD~100000", "--help"):
        with pytest.raises(SystemExit, match="is not a commit of this repository"):
            compare.resolve(rev)


def test_an_interrupted_worktree_git_left_locked_is_removed(tmp_path):
    # Ctrl-C during `git worktree add` leaves the new worktree locked; the clean-up
    # removes it all the same (a locked worktree is never pruned).
    repo, tree = tmp_path / "repo", tmp_path / "tree"
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    subprocess.run([*git, "worktree", "add", "-q", "--detach", str(tree)], check=True)
    subprocess.run([*git, "worktree", "lock", str(tree)], check=True)
    compare.remove_worktree(str(tree), str(repo))
    listed = subprocess.run([*git, "worktree", "list", "--porcelain"], check=True,
                            capture_output=True, text=True).stdout
    assert not tree.exists() and str(tree) not in listed


def test_the_setuptools_it_installs_is_the_one_pyproject_requires_to_build():
    # setup.py reads pyproject.toml; the setuptools a new venv comes with may not parse it
    pyproject = (Path(compare.ROOT) / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'requires = \["setuptools>=(\d+)"\]', pyproject)[1] == str(
        compare.SETUPTOOLS_MAJOR)


def test_only_refuses_a_workload_without_rows(monkeypatch, capsys):
    # `--only w2` (or W9) would time nothing and print "0 figure(s) ... worse".
    def timed(*args):
        raise AssertionError(f"compare ran {args}")

    monkeypatch.setattr(compare, "compare", timed)
    for only in ("w2", "W2,W9", "", "W2,"):
        monkeypatch.setattr(sys, "argv", ["compare.py", "HEAD", "--only", only])
        with pytest.raises(SystemExit) as exit_:
            compare.main()
        assert exit_.value.code == 2
        assert "the workloads are ['W1', 'W2', 'W3', 'W4', 'W5']" in capsys.readouterr().err


def test_a_step_timed_by_difference_is_the_slope_and_a_flat_one_is_refused():
    import workloads

    calls = []

    def linear(epochs: int) -> float:  # 0.25 s of set-up, 0.01 s a step, 3 steps an epoch
        calls.append(epochs)
        return 0.25 + 0.01 * 3 * epochs + (0.002 if len(calls) <= 2 else 0.0)

    per_step, setup = workloads._fit_per_step(linear, 2, 12, 3)
    assert per_step == pytest.approx(0.01) and setup == pytest.approx(0.25)
    assert calls == [2, 12, 2, 12, 2, 12]  # alternating, the fastest of each kept
    with pytest.raises(RuntimeError, match="too few steps"):
        workloads._fit_per_step(lambda epochs: 1.0 - 0.001 * epochs, 2, 12, 3)
    with pytest.raises(RuntimeError, match=r"10 epochs more took no longer \(1\.0000 s vs "):
        workloads._fit_per_step(lambda epochs: 1.0, 2, 12, 3)  # flat: a zero step is no figure
