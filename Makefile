# The two quick-start commands: `make run` and `make test` (each sets up first).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.photoclip-installed

.PHONY: run test lint bench tiny-model clean

run: $(STAMP)
	$(BIN)/photoclip $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check photoclip tests benchmarks packaging
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check photoclip tests benchmarks packaging

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

tiny-model: $(STAMP)
	$(BIN)/python tests/make_tiny_clip.py tests/.cache/tiny-clip-manual

# pip (not uv/poetry) so torch comes from the local wheel cache where there is one.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) tests/.cache build dist *.egg-info
