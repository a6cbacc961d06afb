"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

from autograd_core import RULES
from autograd_core import rules as rules_module

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    shipped = dict(RULES)
    try:
        exec(compile(BLOCKS[index], f"README.md block {index}", "exec"), namespace)
    finally:
        # An example that registers a primitive leaves the other tests the shipped table.
        if dict(RULES) != shipped:
            rules_module._install(shipped)
    if index == 0:
        # The ten-line example prints dL/dw and dL/db last: check them by hand.
        import math

        y = 1 / (1 + math.exp(-(0.5 * 2.0 - 0.3)))
        delta_s = (y - 1.0) * y * (1 - y)
        last = capsys.readouterr().out.strip().splitlines()[-1].split()
        assert [float(v) for v in last] == pytest.approx([delta_s * 2.0, delta_s], rel=1e-12)
    if index == 1:
        assert namespace["history"].accuracy[-1] == 1.0
    if index == 2:
        assert (tmp_path / "steps.html").exists()
        assert namespace["svg"].lstrip().startswith("<?xml") or "<svg" in namespace["svg"]
