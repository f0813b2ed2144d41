# CareCommons — two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
PG_URL := postgresql+psycopg://127.0.0.1:5432/test

.PHONY: run test test-sqlite test-browser test-postgres e2e venv translations chromium services bench faults load fuzz clean

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

# The four end-to-end journeys alone (they are browser tests, so test-browser runs them too); a screenshot
# of each step lands in tests/artifacts/<journey>/.
e2e: $(STAMP) translations chromium
	$(PY) -m pytest -m journey -q

# The database-facing tests again on PostgreSQL (a failure when it does not answer, never a skip).
test-postgres: $(STAMP)
	$(PY) -m pytest -m "not browser and not pure and not matrix" -q -n 2 --database=postgresql

# The property tests and the API fuzzing at length (they also run small in `make test`): hypothesis's
# "fuzz" profile, FUZZ_EXAMPLES examples per property (default 2000), FUZZ_API_EXAMPLES per API operation
# and caller (default 200). Not seeded, unlike the small runs: each run explores new inputs.
fuzz: $(STAMP) translations
	$(PY) -m pytest -m fuzz -p no:xdist -q --hypothesis-profile=fuzz --hypothesis-show-statistics

bench: $(STAMP)
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

# Faults end to end against real servers on private services (PostgreSQL and Redis restarted, a full
# disk); needs root and takes about three minutes, so it is not part of `make bench`. README "Faults".
faults: $(STAMP)
	$(PY) bench/faults.py

# The load test (not part of `make bench`): its own schema on PostgreSQL, gunicorn + gevent servers with
# Redis, 200 simulated members for 5 minutes, then the library page against a bare route; exits 1 on errors.
# Shorter trial: make load LOAD_ARGS="--users 50 --minutes 1"
LOAD_ARGS ?= --users 200 --minutes 5
load: $(STAMP) translations services
	$(PY) bench/load.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
