# The two commands: `make run` (fresh machine -> running service on SQLite) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test install lint bench chromium

$(BIN)/postwarden: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/postwarden

run: install
	$(BIN)/postwarden init
	$(BIN)/postwarden serve

test: install chromium
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

# The web interface's end-to-end tests drive Debian's chromium (Playwright cannot
# download its own browsers here); install it when it is missing, or stop and say so.
chromium:
	@command -v chromium >/dev/null || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; \
	} || { echo "chromium is missing and could not be installed: the web tests need it" >&2; exit 1; }

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
