# Two commands set everything up on a fresh machine:
#   make demo   install, then build the example issue and dry-run send it (no account, no key)
#   make test   install the test dependencies, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
ISSUE  ?= 2026-11-garden-notes
# Browser tests drive Debian's chromium; Playwright never downloads a browser.
CHROMIUM ?= /usr/bin/chromium
SUDO    = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/newsletter build $(ISSUE)
	$(BIN)/newsletter send $(ISSUE)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "install chromium, or set CHROMIUM=/path/to/chromium"; exit 1; }
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

test: $(VENV)/.installed-test $(CHROMIUM)
	NEWSLETTER_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/build.py
	$(BIN)/python benchmarks/preview.py
	$(BIN)/python benchmarks/eval_extraction.py
	$(BIN)/python benchmarks/eval_summaries.py
	$(BIN)/python benchmarks/send.py
	$(BIN)/python benchmarks/featured.py
	$(BIN)/python benchmarks/images.py

clean:
	rm -rf $(VENV) build outbox
