# The front door (STYLE §10): `make run` and `make test` work from a fresh clone.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: setup lock run test worker beat lint format check browser migrate demo bench clean

# Install exactly what requirements.lock names (every transitive package, hash-checked), only when the lock
# changed or the venv is new. requirements.txt lists the direct dependencies; `make lock` compiles it into the lock.
$(STAMP): requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	touch $(STAMP)

setup: $(STAMP)

# Regenerate requirements.lock after editing requirements.txt (uv, pinned in requirements.txt, keeps every other
# pin as it was); commit both files. `make lock LOCK_ARGS=--upgrade` moves every transitive pin to its newest release.
lock: setup
	$(BIN)/uv pip compile requirements.txt --quiet --generate-hashes --universal --python-version 3.11 \
		--custom-compile-command "make lock" $(LOCK_ARGS) -o requirements.lock

migrate: setup
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@if [ -n "$$REDIS_URL" ]; then \
		echo "REDIS_URL is set: starting a Celery worker and beat beside the web server"; \
		$(BIN)/celery -A marketing_ai worker -l warning --concurrency 2 & \
		$(BIN)/celery -A marketing_ai beat -l warning & \
	fi; \
	trap 'kill $$(jobs -p) 2>/dev/null' EXIT; \
	echo "Serving on http://127.0.0.1:$(PORT)/"; \
	$(BIN)/python -m marketing_ai.serve -b 127.0.0.1 -p $(PORT) marketing_ai.asgi:application

# Browser tests drive the system Chromium; install it when missing (Debian package, root only).
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Chromium for the browser tests"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
		else echo "Chromium is missing: browser tests will be skipped (install the 'chromium' package)"; fi; }

# The suite runs in TEST_WORKERS processes (pytest-xdist; one per core, at most 4). Each worker has a test database
# and a Redis database of its own (REDIS_URL's number plus the worker's index, tests/conftest.py), so REDIS_URL's
# database and the next TEST_WORKERS-1 must be free. `make test TEST_WORKERS=0` runs it in this one process.
TEST_WORKERS ?= auto
test: setup browser
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --maxprocesses 4 $(PYTEST_ARGS)

worker: setup
	$(BIN)/celery -A marketing_ai worker -l info

beat: setup
	$(BIN)/celery -A marketing_ai beat -l info

lint: setup
	$(BIN)/ruff format --check . && $(BIN)/ruff check .

format: setup
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

check: setup
	$(BIN)/python manage.py check && $(BIN)/python manage.py makemigrations --check --dry-run

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script; done

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
