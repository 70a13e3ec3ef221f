# Two entry points for a fresh Debian/Ubuntu machine:
#   make run   - install whatever is missing, then start the app
#   make test  - install whatever is missing, then run the whole test suite
# Both are idempotent: a second run only re-installs when pyproject.toml or TORCH_SPEC
# changed, or .venv is gone.
#   make classical - the whole Cadenza 2 pipeline: make the classical data, train the
#                    three instrument members, tune the ensemble, score it
#                    (see models/CLASSICAL_MODEL_CARD.md)
#   make default-ensemble - retrain the embedded default ensemble as it was made, tune
#                    and score it (see models/MODEL_CARD.md); needs ../shared/data and,
#                    for its last stage, a GPU (TRAIN_DEVICE=cpu runs it on the CPU)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Inside the venv: deleting .venv deletes what says it is installed.
INSTALLED := $(VENV)/.installed
# The CPU build of torch; on machines that carry it locally pip takes the local file.
# Elsewhere PyPI's torch brings CUDA (GBs): TORCH_INDEX="--index-url
# https://download.pytorch.org/whl/cpu" fetches the CPU build instead.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
# python3-venv: Debian's python3 makes no venv without it. fluidsynth +
# fluid-soundfont-gm render the classical data (remixer data classical).
SYSTEM_PACKAGES := python3-venv libportaudio2 libegl1 libgl1 libxkbcommon0 libfontconfig1 \
	libdbus-1-3 fluidsynth fluid-soundfont-gm

REMIXER := $(VENV)/bin/remixer
CLASSICAL ?= data/classical
DEFAULT ?= data/default
MUSDB ?= ../shared/data/musdb18_7s
HRIR ?= ../shared/data/hrir/VP_N6-BTE_fr.mat
TRAIN_DEVICE ?= cuda

.PHONY: run test system install clean classical default-ensemble FORCE

run: install
	$(VENV)/bin/remixer-app

test: install
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

install: system $(INSTALLED)

system:
	@bash packaging/install_system_deps.sh $(SYSTEM_PACKAGES)

$(INSTALLED): pyproject.toml $(VENV)/.torch-spec
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

# The two members train at once, one thread each (a 2-core machine), into first/; then
# each is continued from those weights (600 and 500 more steps; tfc_tdf into second/),
# and tfc_tdf once more from second/ (1000 steps, two threads), as models/classical.yaml
# was made; the NMF member's dictionaries are learned into models/ too, and every run
# there rewrites the ensemble file listing the members in it. The same command resumes
# an interrupted run.
classical: install
	$(REMIXER) data classical --out $(CLASSICAL)/data
	$(REMIXER) train classical_tasnet --data $(CLASSICAL)/data/train --out $(CLASSICAL)/first \
		--ensemble-name classical --threads 1 & other=$$!; \
	$(REMIXER) train classical_tfc_tdf --data $(CLASSICAL)/data/train --out $(CLASSICAL)/first \
		--ensemble-name classical --threads 1; status=$$?; wait $$other && exit $$status
	$(REMIXER) train classical_tasnet --data $(CLASSICAL)/data/train --out $(CLASSICAL)/models \
		--ensemble-name classical --init $(CLASSICAL)/first/classical_tasnet.safetensors \
		--steps 600 --threads 1 & other=$$!; \
	$(REMIXER) train classical_tfc_tdf --data $(CLASSICAL)/data/train --out $(CLASSICAL)/second \
		--ensemble-name classical --init $(CLASSICAL)/first/classical_tfc_tdf.safetensors \
		--steps 500 --threads 1; status=$$?; wait $$other && exit $$status
	$(REMIXER) train classical_tfc_tdf --data $(CLASSICAL)/data/train --out $(CLASSICAL)/models \
		--ensemble-name classical --init $(CLASSICAL)/second/classical_tfc_tdf.safetensors \
		--steps 1000 --threads 2
	$(REMIXER) train classical_nmf --data $(CLASSICAL)/data/train --out $(CLASSICAL)/models \
		--ensemble-name classical --threads 2
	$(REMIXER) tune-ensemble $(CLASSICAL)/models/classical.yaml --data $(CLASSICAL)/data/train \
		--choose-remask
	$(REMIXER) evaluate --classical $(CLASSICAL)/data --ensemble $(CLASSICAL)/models/classical.yaml \
		--out $(CLASSICAL)/scores.csv --overwrite

# As models/default.yaml was made: both members at once, one thread each (their recipe
# runs into first/), then tfc_tdf continued from those weights for 1000 + 200 more
# steps on two threads (into second/), from those for 2000 + 200 more (into third/), for
# 1200 + 200 more (into fourth/), 2200 + 200 more (into fifth/) and 4400 + 200 more
# (into cpu/), hdemucs_small for 2000 + 200 more on one thread (into cpu/); then both
# continued at once on a GPU, 2400 + 800 steps of 16 examples (into gpu/); dttnet from
# that tfc_tdf on two threads (into gpu/); then, at once on one thread each, dttnet
# continued for 3200 + 400 more steps and hdemucs_small for 2000 + 300 more (into
# models/, with a copy of tfc_tdf), and the weights tuned. Every step resumes when run
# again. Without a GPU, TRAIN_DEVICE=cpu runs the GPU stage on the CPU (hours).
# `remixer train` writes each member's `segment: 4` (its inference window; see the model card).
default-ensemble: install
	$(REMIXER) train hdemucs_small --data $(MUSDB)/train --out $(DEFAULT)/first \
		--ensemble-name default --threads 1 & other=$$!; \
	$(REMIXER) train tfc_tdf --data $(MUSDB)/train --out $(DEFAULT)/first \
		--ensemble-name default --threads 1; status=$$?; wait $$other && exit $$status
	$(REMIXER) train tfc_tdf --data $(MUSDB)/train --out $(DEFAULT)/second --ensemble-name default \
		--init $(DEFAULT)/first/tfc_tdf.safetensors --steps 1000 --finetune-steps 200 --threads 2
	$(REMIXER) train tfc_tdf --data $(MUSDB)/train --out $(DEFAULT)/third --ensemble-name default \
		--init $(DEFAULT)/second/tfc_tdf.safetensors --steps 2000 --finetune-steps 200 --threads 2
	$(REMIXER) train tfc_tdf --data $(MUSDB)/train --out $(DEFAULT)/fourth --ensemble-name default \
		--init $(DEFAULT)/third/tfc_tdf.safetensors --steps 1200 --finetune-steps 200 --threads 2
	$(REMIXER) train tfc_tdf --data $(MUSDB)/train --out $(DEFAULT)/fifth --ensemble-name default \
		--init $(DEFAULT)/fourth/tfc_tdf.safetensors --steps 2200 --finetune-steps 200 --threads 2
	$(REMIXER) train tfc_tdf --data $(MUSDB)/train --out $(DEFAULT)/cpu --ensemble-name default \
		--init $(DEFAULT)/fifth/tfc_tdf.safetensors --steps 4400 --finetune-steps 200 --threads 2
	$(REMIXER) train hdemucs_small --data $(MUSDB)/train --out $(DEFAULT)/cpu \
		--ensemble-name default --init $(DEFAULT)/first/hdemucs_small.safetensors \
		--steps 2000 --finetune-steps 200 --threads 1
	for member in tfc_tdf hdemucs_small; do \
		$(REMIXER) train $$member --data $(MUSDB)/train --out $(DEFAULT)/gpu \
			--ensemble-name default --init $(DEFAULT)/cpu/$$member.safetensors \
			--steps 2400 --finetune-steps 800 --batch 16 --device $(TRAIN_DEVICE) \
			--workers 6 --threads 2 & pids="$$pids $$!"; \
	done; for pid in $$pids; do wait $$pid || exit 1; done
	$(REMIXER) train dttnet --data $(MUSDB)/train --out $(DEFAULT)/gpu --ensemble-name default \
		--init $(DEFAULT)/gpu/tfc_tdf.safetensors --threads 2
	mkdir -p $(DEFAULT)/models
	cp $(DEFAULT)/gpu/tfc_tdf.safetensors $(DEFAULT)/gpu/tfc_tdf.json $(DEFAULT)/models/
	$(REMIXER) train hdemucs_small --data $(MUSDB)/train --out $(DEFAULT)/models \
		--ensemble-name default --init $(DEFAULT)/gpu/hdemucs_small.safetensors \
		--steps 2000 --finetune-steps 300 --threads 1 & other=$$!; \
	$(REMIXER) train dttnet --data $(MUSDB)/train --out $(DEFAULT)/models --ensemble-name default \
		--init $(DEFAULT)/gpu/dttnet.safetensors --steps 3200 --finetune-steps 400 --threads 1; \
		status=$$?; wait $$other && exit $$status
	$(REMIXER) tune-ensemble $(DEFAULT)/models/default.yaml --data $(MUSDB)/train --hrir $(HRIR) \
		--limit 24
	$(REMIXER) evaluate --musdb $(MUSDB) --split test --ensemble $(DEFAULT)/models/default.yaml \
		--jobs 2 --out $(DEFAULT)/scores.csv --overwrite

# Rewritten only when the torch wanted changes, so that a change reinstalls.
$(VENV)/.torch-spec: FORCE
	@mkdir -p $(VENV)
	@echo '$(TORCH_SPEC) $(TORCH_INDEX)' | cmp -s - $@ || echo '$(TORCH_SPEC) $(TORCH_INDEX)' > $@

clean:
	rm -rf $(VENV) build dist *.egg-info
