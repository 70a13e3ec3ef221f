# Two entry points for a fresh Debian/Ubuntu machine:
#   make run   - install whatever is missing, then start the app
#   make test  - install whatever is missing, then run the whole test suite
# Both are idempotent: a second run only re-installs when pyproject.toml changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .make-stamps
# The CPU build of torch; on machines that carry it locally pip takes the local file.
TORCH_SPEC ?= torch==2.13.0
# fluidsynth + fluid-soundfont-gm render the classical data (remixer data classical).
SYSTEM_PACKAGES := libportaudio2 libegl1 libgl1 libxkbcommon0 libfontconfig1 libdbus-1-3 \
	fluidsynth fluid-soundfont-gm

.PHONY: run test system install clean

run: install
	$(VENV)/bin/remixer-app

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

install: system $(STAMPS)/python

system:
	@bash packaging/install_system_deps.sh $(SYSTEM_PACKAGES)

$(STAMPS)/python: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

clean:
	rm -rf $(VENV) $(STAMPS) build dist *.egg-info
