# QA Center — two commands: `make run` (the app with demo data) and `make test` (the whole suite).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TEST_ENV := DJANGO_SETTINGS_MODULE=qa_center.settings_test

.PHONY: run test install install-test assets chromium check-services lint migrate demo clean

$(PY):
	@python=$$(bin/find-python) && echo "Creating $(VENV) with $$python" && "$$python" -m venv $(VENV)
	@$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PIP) install --quiet .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install --quiet ".[test]"
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

# Chart.js comes from the npm registry at install time, never copied into the repository.
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: charts will not render (install Node.js/npm and re-run)" >&2; fi

assets: node_modules/.package-lock.json

# The browser tests drive Debian's Chromium; install it when missing (as root, e.g. in CI).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || exit 1; \
	  else echo "The browser tests need /usr/bin/chromium: sudo apt-get install chromium" >&2; exit 1; fi; \
	fi

# The set-up steps run under `honcho run`, which reads .env as honcho's `start` does for web, worker and
# beat: a DATABASE_URL in .env then migrates and seeds the database the processes use, not the SQLite file.
run: install assets
	@mkdir -p var
	DEBUG=$${DEBUG:-false} $(VENV)/bin/honcho run $(PY) manage.py migrate --noinput
	$(VENV)/bin/honcho run $(PY) manage.py collectstatic --noinput --verbosity 0
	$(VENV)/bin/honcho run $(PY) manage.py seed_demo --if-empty
	@echo "QA Center on http://$${HOST:-127.0.0.1}:$${PORT:-8000}/  (demo logins are printed above; Ctrl-C stops all)"
	$(PY) bin/run-procs

check-services:
	@$(PY) bin/check-services

lint: install-test
	$(VENV)/bin/ruff check .

test: install-test assets chromium check-services
	@# --check compares models with migration files only; the history check it also tries needs a database
	@# named like the test one's origin, which a fresh machine does not have (pytest makes its own).
	$(TEST_ENV) $(PY) -W "ignore:Got an error checking a consistent migration history:RuntimeWarning" \
	  manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(TEST_ENV) $(VENV)/bin/pytest --create-db $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules staticfiles
