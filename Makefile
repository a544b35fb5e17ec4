# gdplay's tasks. `make run` and `make test` do all the set-up on a fresh machine.
#
# TORCH picks the PyTorch build. The default is the CPU build 2.13.0 (on this project's
# machines it lies on local disk; a plain unpinned `torch` would pull a multi-GB CUDA build).
# A CUDA user: make TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126" install
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint docs bench demo fuzz schema lessons clean chromium

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) chromium

# The interactive page's test runs in the system's Chromium (Playwright drives it; no browser
# download). Installed here when missing, as root with apt-get; elsewhere the test skips, saying why.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium not installed (needs root and apt-get): the page's browser test will be skipped"

run: $(STAMP)
	$(VENV)/bin/gdplay run configs/quadratic.yaml

test: $(STAMP) chromium
	$(PY) -m pytest -q -n 2

lint: $(STAMP)
	$(VENV)/bin/ruff check gdplay tests benchmarks
	$(VENV)/bin/ruff format --check gdplay tests benchmarks
	$(VENV)/bin/mypy gdplay

# The manual (docs/, mkdocs.yml) as a site in site/; --strict fails on a broken link or anchor and on
# a page left out of nav. `make test` builds it too (tests/test_docs.py), and runs its examples.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# JAX is the sweep's peer; it comes only with the optional `bench` extra, never as a dependency.
bench: $(STAMP) chromium
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) benchmarks/bench.py
	$(PY) benchmarks/speed.py --readme
	$(PY) benchmarks/page_latency.py

demo: $(STAMP)
	$(VENV)/bin/gdplay run configs/quadratic.yaml configs/quadratic_momentum.yaml

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q -n 2 tests -k "property or fuzz"
	GDPLAY_KILL_GROUPS=10 $(PY) -m pytest -q -n 2 tests/test_kill_update.py

# After a change to the config model: regenerate the shipped JSON Schema (a test fails until then).
schema: $(STAMP)
	$(VENV)/bin/gdplay schema --write gdplay/config/config.schema.json

# After editing a lesson in gdplay/teach/lessons/ (the source): refresh the copies in configs/lessons/.
lessons: $(STAMP)
	$(VENV)/bin/gdplay lessons --export configs/lessons --force

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis site
