# CareCommons — two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
PG_URL := postgresql+psycopg://127.0.0.1:5432/test

.PHONY: run test test-sqlite test-browser test-postgres venv translations chromium services bench fuzz clean

venv: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

# Compiled catalogs (.mo) are built here, not committed: every .po under app/translations/.
PO_FILES := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
translations: $(PO_FILES:.po=.mo)

$(PO_FILES:.po=.mo): %.mo: %.po $(STAMP)
	$(VENV)/bin/pybabel compile -d app/translations

run: $(STAMP) translations
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) run --host 127.0.0.1 --port 5000

chromium:
	@test -x $(CHROMIUM) || { echo "Installing Debian's Chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; }

services:
	@bash .ci/services.sh

test: $(STAMP) translations chromium services test-sqlite test-browser test-postgres

# Unit and web tests on SQLite (the embedded default).
test-sqlite: $(STAMP)
	$(PY) -m pytest -m "not browser" -q -n 2

# Browser tests: Playwright on Debian's Chromium against a live server (own process, own invocation).
test-browser: $(STAMP) chromium
	$(PY) -m pytest -m browser -q

# The database-facing tests again on PostgreSQL (skipped when it is down, a failure under CI=true).
test-postgres: $(STAMP)
	$(PY) -m pytest -m "not browser and not pure and not matrix" -q -n 2 --database=postgresql

# The property tests and the API fuzzing at length (they also run small in `make test`): hypothesis's
# "fuzz" profile, FUZZ_EXAMPLES examples per property (default 2000), FUZZ_API_EXAMPLES per API operation
# and caller (default 200). Not seeded, unlike the small runs: each run explores new inputs.
fuzz: $(STAMP) translations
	$(PY) -m pytest -m fuzz -p no:xdist -q --hypothesis-profile=fuzz --hypothesis-show-statistics

bench: $(STAMP)
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache
