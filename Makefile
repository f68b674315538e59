# The two quick-start commands: `make run` and `make test` (each sets up first).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.photoclip-installed
# The system libraries Qt's xcb platform plugin needs and the PySide6 wheel does not carry
# (Debian/Ubuntu names; photoclip/ui/platform_check.py maps each library to its package).
QT_SYSTEM_PACKAGES := libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 \
  libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 \
  libxcb-xfixes0 libxcb-xkb1 libxcb1 libx11-xcb1 libx11-6 libxkbcommon0 libxkbcommon-x11-0 \
  libgl1 libglx0 libglvnd0 libegl1 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0

.PHONY: run test lint bench soak tiny-model clean validators qt-libs screenshots

run: $(STAMP) qt-libs
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

# Re-render docs/screenshots/*.png (a plain test run renders them into a temporary folder).
screenshots: $(STAMP)
	PHOTOCLIP_SCREENSHOTS=docs/screenshots QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest tests/ui -q
	# The real window under Xvfb (needs xvfb, xdotool and imagemagick): the README's e2e-*.png.
	env -u QT_QPA_PLATFORM PHOTOCLIP_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e -q

tiny-model: $(STAMP)
	$(BIN)/python tests/make_tiny_clip.py tests/.cache/tiny-clip-manual

# pip (not uv/poetry) so torch comes from the local wheel cache where there is one.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,fast,places,ocr,dupes]"
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

# Qt's system libraries (QT_SYSTEM_PACKAGES), the ones not installed yet, from Debian's
# packages where we are root; elsewhere a note (the app itself names what is missing).
# Not a Debian-like system (no dpkg-query): nothing to do here.
qt-libs:
	@if command -v dpkg-query >/dev/null; then \
	  missing=""; for p in $(QT_SYSTEM_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	  done; \
	  if [ -n "$$missing" ]; then \
	    if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	        || echo "note: could not install$$missing; the window may not open"; \
	    else echo "note: the window needs$$missing (sudo apt-get install$$missing)"; fi; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) tests/.cache build dist *.egg-info
