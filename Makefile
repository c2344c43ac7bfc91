# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.synced
SERVICE_NAMES := eligibility claims remittance denials

export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: setup bytecode run demo test test-fast lint bench clean

$(UV):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): $(UV) uv.lock pyproject.toml shared/pyproject.toml cli/pyproject.toml services/*/pyproject.toml sandbox/pyproject.toml
	$(UV) sync --frozen --all-packages --quiet --compile-bytecode
	@touch $(STAMP)

# Bytecode for the project's own modules (unchanged ones are skipped): every service process, and every
# restart of one, imports from .pyc even where PYTHONDONTWRITEBYTECODE keeps Python from writing them.
bytecode: $(STAMP)
	@$(VENV)/bin/python -m compileall -q shared cli services sandbox tests bench >/dev/null

setup: $(STAMP) bytecode

run: $(STAMP) bytecode
	$(VENV)/bin/rcm run

demo: $(STAMP) bytecode
	$(VENV)/bin/rcm demo

test: $(STAMP) bytecode
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared/rcm_shared cli/rcm_cli sandbox/sandbox $(foreach s,$(SERVICE_NAMES),services/$(s)/$(s))
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var/*.db var/*.db-* .pytest_cache .mypy_cache .ruff_cache
