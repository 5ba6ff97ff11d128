# Candor: `make run` starts the embedded app (web + worker); `make test` runs the suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DATA_DIR ?= var

.PHONY: install run test test-production lint migrate demo clean system-deps test-photos

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first: otherwise invisible-watermark pulls a multi-GB CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0+cpu"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# From Debian, only where missing: libGL and GLib (OpenCV needs them at import), Chromium and its driver (the
# browser tests), Node.js and npm (the C2PA interop check runs a second implementation, @trustnxt/c2pa-ts; the
# accessibility audit injects axe-core). One apt-get update, and none at all on a machine that has everything.
system-deps:
	@missing=""; \
	ldconfig -p | grep -q 'libGL.so.1' || missing="$$missing libgl1"; \
	ldconfig -p | grep -q 'libgthread-2.0.so.0' || missing="$$missing libglib2.0-0"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "Installing from Debian:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0

# The demo account only on a plain-HTTP server bound to loopback (manage.py demo_account checks, and says why not).
demo: migrate
	@CANDOR_LOCAL_HTTP=$${CANDOR_LOCAL_HTTP:-1} $(PY) manage.py demo_account

run: demo
	CANDOR_LOCAL_HTTP=$${CANDOR_LOCAL_HTTP:-1} exec $(PY) -m config.launcher

# Two (three) photos of one person for the portrait-copy tests: face_recognition 1.3.0's test images, from its sdist,
# checked by SHA-256, into var/test-photos/ (never committed: their licence is unclear). No network once there.
test-photos: install
	$(PY) -m tests.photos_fetch

# Two test processes by default (pytest-xdist; each test file runs whole in one of them, so a module's shared render
# is made once): much of the suite waits on a browser, a Celery worker or a child process. TEST_PROCESSES=0 runs in one.
TEST_PROCESSES ?= 2
test: install
	@$(MAKE) --no-print-directory system-deps
	@$(MAKE) --no-print-directory test-photos
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

# ruff (style and bugs), mypy (strict for inference/ and core/) and import-linter (the layers in pyproject.toml).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Production mode: PostgreSQL, Redis and two workers (docs/production.md); refuses to run without both servers.
test-production: install
	@case "$${DATABASE_URL:-}" in postgres://*|postgresql://*) ;; *) echo "test-production needs DATABASE_URL=postgres://..." >&2; exit 2;; esac
	@case "$${CELERY_BROKER_URL:-}" in redis://*) ;; *) echo "test-production needs CELERY_BROKER_URL=redis://..." >&2; exit 2;; esac
	CANDOR_REQUIRE_SERVICES=1 CANDOR_TEST_WORKERS=2 $(PY) -m pytest -m "e2e or production" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(DATA_DIR)/test
