# The two quick-start commands: `make run` and `make test` (each sets up first).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.photoclip-installed

.PHONY: run test lint bench soak tiny-model clean validators

run: $(STAMP)
	$(BIN)/photoclip $(ARGS)

test: $(STAMP) validators
	$(BIN)/ruff check photoclip tests benchmarks packaging
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check photoclip tests benchmarks packaging

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# kill -9 rounds of index, --reindex, watch and tag, many times (minutes; not in CI).
soak: $(STAMP)
	$(BIN)/python tests/soak/crash_soak.py --trials 60 --seed 1

tiny-model: $(STAMP)
	$(BIN)/python tests/make_tiny_clip.py tests/.cache/tiny-clip-manual

# pip (not uv/poetry) so torch comes from the local wheel cache where there is one.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,fast]"
	touch $(STAMP)

# desktop-file-validate and appstreamcli check the desktop entry and AppStream file
# (tests/test_packaging.py). Installed from Debian's packages where we are root;
# elsewhere those two checks are skipped (CI sets PHOTOCLIP_REQUIRE_VALIDATORS=1,
# which turns a skip into a failure).
validators:
	@if ! command -v desktop-file-validate >/dev/null || ! command -v appstreamcli >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      desktop-file-utils appstream >/dev/null) \
	      || echo "note: could not install desktop-file-utils/appstream; their checks skip"; \
	  else echo "note: desktop-file-validate or appstreamcli missing; their checks are skipped"; fi; \
	fi

clean:
	rm -rf $(VENV) tests/.cache build dist *.egg-info
