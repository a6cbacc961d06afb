# Every target sets itself up: a virtual environment in .venv, the package installed
# into it, and the system tools the tests need (a `dot` binary; chromium for the
# browser test). Running a target twice does the set-up once.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
export PATH := $(abspath $(BIN)):$(PATH)
export MPLBACKEND := Agg

.PHONY: setup demo test docs lint sanitize bench bench-compare clean

setup: $(VENV)/.installed
	@bash .ci/system-deps

# The editable install also compiles the optional node store (autograd_core/_fastnode.c)
# in place; a changed C file recompiles it.
$(VENV)/.installed: pyproject.toml setup.py autograd_core/_fastnode.c
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,notebooks,browser,docs,torch]'
	@touch $@

demo: setup
	$(PY) -m viz demo --out out

# Everything on the compiled node store, then the engine's and hardening tests again on
# the pure-Python one (both must give the same numbers).
test: setup
	AUTOGRAD_CORE_PURE=1 $(PY) -m pytest -q tests/autograd_core tests/hardening
	$(PY) -m pytest -q tests notebooks --nbmake

# The engine's tests against a build of the compiled node store with AddressSanitizer
# and UndefinedBehaviorSanitizer (gcc's); CI runs it too.
sanitize: setup
	bash .ci/sanitize

# The course site, into build/docs (open build/docs/index.html): the notebooks executed,
# the API and rules pages generated from the code. Warnings are errors. Sphinx rebuilds
# only what changed; any change to the packages' code re-executes every page.
docs: setup
	$(PY) -m sphinx -W --keep-going -q -b html -d build/docs-doctrees docs build/docs

lint: setup
	$(BIN)/ruff check autograd_core nn viz tests benchmarks docs setup.py

# The benchmark sets up its own environment (benchmarks/.venv, with the peers).
bench: $(VENV)/.installed
	@mkdir -p benchmarks/results
	$(PYTHON) benchmarks/run.py --output benchmarks/results/latest.md

# This checkout's figures against an earlier commit's, alternated in one run:
# make bench-compare REV=<commit> [ROUNDS=n]
bench-compare: $(VENV)/.installed
	@test -n "$(REV)" || { echo "usage: make bench-compare REV=<commit> [ROUNDS=n]"; exit 2; }
	@mkdir -p benchmarks/results
	$(PYTHON) benchmarks/compare.py $(REV) $(if $(ROUNDS),--rounds $(ROUNDS)) --output benchmarks/results/compare.md

clean:
	rm -rf $(VENV) out build docs/_generated .pytest_cache .hypothesis
