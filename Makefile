# Two commands set everything up on a fresh machine:
#   make demo   install, then build the example issue and dry-run send it (no account, no key)
#   make test   install the test dependencies, then lint and run the whole test suite
#   make check  lint + the fast tests (no slow, no browser tests): about a minute
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
ISSUE  ?= 2026-11-garden-notes
# Browser tests drive Debian's chromium; Playwright never downloads a browser.
CHROMIUM ?= /usr/bin/chromium
SUDO    = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Another apt (unattended upgrades on a fresh VM) may hold the lock: wait for it instead of failing.
APT     = $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600
FAST    = not slow and not browser

.PHONY: demo test check lint docs bench clean

# Debian's python3 comes without venv's pip bootstrap until python3-venv is installed.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV) && $(APT) update && $(APT) install -y python3-venv \
		&& $(PYTHON) -m venv $(VENV); }
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
	$(APT) update
	$(APT) install -y chromium

# Page-dump styles for tests and benchmarks: lynx and w3m dumps are made from the shared pages.
DUMPERS = /usr/bin/lynx /usr/bin/w3m

$(DUMPERS):
	@command -v apt-get >/dev/null || { echo "install lynx and w3m"; exit 1; }
	$(APT) update
	$(APT) install -y lynx w3m

# check --spam scores with Debian's SpamAssassin (local rules); its tests need it.
SPAMASSASSIN = /usr/bin/spamassassin

$(SPAMASSASSIN):
	@command -v apt-get >/dev/null || { echo "install spamassassin"; exit 1; }
	$(APT) update
	$(APT) install -y spamassassin

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m newsletter.cli.reference --check

# The command and settings references in docs/ are generated from the code.
docs: $(VENV)/.installed
	$(BIN)/python -m newsletter.cli.reference

# libfaketime moves the clock for a whole command and everything it starts (Debian's faketime).
# Not named FAKETIME: make exports its variables to commands, and libfaketime reads FAKETIME as the
# time to fake, so `faketime DATE make check` would hand every command the path instead of the date.
FAKETIME_CMD = /usr/bin/faketime

$(FAKETIME_CMD):
	@command -v apt-get >/dev/null || { echo "install faketime (libfaketime)"; exit 1; }
	$(APT) update
	$(APT) install -y faketime

# The calendar's edges: a year's last seconds, a new year's first, a leap day. The fast suite and
# the first hour (init, new, the newcomer's replay) must hold on each.
CLOCKS = "2026-12-31 23:59:50" "2027-01-01 00:00:10" "2028-02-29 12:00:00"
ON_ANY_DAY = tests/test_newcomer.py tests/test_init.py

# Tools are called by their venv path: nothing depends on PATH or an activated venv.
test: lint $(CHROMIUM) $(DUMPERS) $(SPAMASSASSIN) $(FAKETIME_CMD)
	for clock in $(CLOCKS); do \
		echo "== the clock at $$clock"; \
		$(FAKETIME_CMD) "$$clock" $(BIN)/python -m pytest -q -p no:cacheprovider \
			-m "$(FAST)" -n auto || exit 1; \
		$(FAKETIME_CMD) "$$clock" $(BIN)/python -m pytest -q -p no:cacheprovider \
			$(ON_ANY_DAY) || exit 1; \
	done
	NEWSLETTER_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

# Two test processes per core: the fast tests are independent (own temp folders, free ports), and
# many wait on a socket or a timeout rather than compute (1.5 min with one per core, 1.1 with two).
check: lint
	$(BIN)/python -m pytest -q -m "$(FAST)" -n $$(( $$(nproc) * 2 ))

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

# MJML's Node CLI, the peer that benchmarks/cold_build.py measures against (npm registry).
benchmarks/.node/node_modules/mjml/bin/mjml:
	npm install --prefix benchmarks/.node --no-audit --no-fund --silent mjml@5

bench: $(VENV)/.installed-bench benchmarks/.node/node_modules/mjml/bin/mjml $(CHROMIUM) $(DUMPERS)
	$(BIN)/python benchmarks/build.py
	$(BIN)/python benchmarks/cold_build.py
	$(BIN)/python benchmarks/preview.py
	NEWSLETTER_CHROMIUM=$(CHROMIUM) $(BIN)/python benchmarks/eval_extraction.py
	$(BIN)/python benchmarks/eval_summaries.py
	$(BIN)/python benchmarks/send.py
	$(BIN)/python benchmarks/featured.py
	$(BIN)/python benchmarks/images.py
	$(BIN)/python benchmarks/fetch.py

clean:
	rm -rf $(VENV) build outbox
