# make run: set everything up and run the IdP (SQLite, local cache, demo data) on 127.0.0.1:$(PORT),
# under granian (granian_conf.py; gunicorn.conf.py stays supported: gunicorn idp.wsgi -c gunicorn.conf.py).
# make test: set everything up and run the test suite (DATABASE_URL=postgres://... for PostgreSQL).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# pytest-xdist workers for make test (auto: one per core).
TEST_WORKERS ?= auto
export PORT

.PHONY: install run test lint check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-test.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	$(BIN)/python -m pip install --quiet --no-deps -e . 2>&1 | grep -v -i "warning\|editable\|wheel_obj" || true
	touch $@

install: $(VENV)/.installed

# Node packages of tests/interop, from the lockfile; without npm those tests skip with the reason.
NODE_TESTS := tests/interop/js/node_modules/.package-lock.json
$(NODE_TESTS): tests/interop/js/package-lock.json
	-command -v npm >/dev/null && npm ci --prefix tests/interop/js --no-audit --no-fund --loglevel=error

run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py idp_demo
	DEBUG=1 WEB_CONCURRENCY=2 exec $(BIN)/python granian_conf.py

# axe-core for tests/authn's accessibility checks, from the lockfile; without npm those tests skip.
AXE_TESTS := tests/authn/js/node_modules/.package-lock.json
$(AXE_TESTS): tests/authn/js/package-lock.json
	-command -v npm >/dev/null && npm ci --prefix tests/authn/js --no-audit --no-fund --loglevel=error

test: install $(NODE_TESTS) $(AXE_TESTS)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup
	$(BIN)/python -m pytest tests/resource --ds=tests.resource.site.settings --confcutdir=tests/resource

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: install
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var db.sqlite3 db.sqlite3-wal db.sqlite3-shm db.sqlite3-journal .pytest_cache
