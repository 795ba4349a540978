# handbook-bot: `make run` serves the bot, `make test` runs the tests (both set up .venv first).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run run-handbook test lint index ask eval train bench-index bench-load bench-faults bench-scale bench-learning clean teams-schema teams-package icons reindex

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot

# The full published handbook: its git repository (needs internet) + the FAQ, indexed into its own folder
# (the git checkout is kept in HANDBOOK_CACHE and only fetched again on the next run).
HANDBOOK_INDEX ?= var/handbook-index
HANDBOOK_CACHE ?= var/sources
run-handbook: $(STAMP)
	$(PY) -m indexer build --strict --sources deploy/sources.production.toml --out $(HANDBOOK_INDEX) --cache $(HANDBOOK_CACHE)
	$(PY) -m bot serve --index $(HANDBOOK_INDEX)

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check bot indexer tests benchmarks

index: $(STAMP)
	$(PY) -m indexer build

eval: $(STAMP)
	$(PY) -m benchmarks.eval_handbook

# Refit what is learned from ../shared/eval/train*.jsonl and store it as data, in order: the reranker's
# weights (indexer/rerank.json), then the hand-off model and thresholds (bot/decision/params.json), which
# read the reranked results. Refit after any change to ranking, knowledge/examples.toml or the decision.
train: $(STAMP)
	$(PY) -m benchmarks.quality.train
	$(PY) -m benchmarks.quality.handoff --write

bench-index: $(STAMP)
	$(PY) -m benchmarks.bench_index

bench-load: $(STAMP)
	$(PY) -m benchmarks.bench_load

bench-faults: $(STAMP)
	$(PY) -m benchmarks.bench_faults

bench-scale: $(STAMP)
	$(PY) -m benchmarks.bench_scale

# Learning curve of approved example questions (README: Learning from use); reads ../shared/eval.
bench-learning: $(STAMP)
	$(PY) -m benchmarks.bench_learning

clean:
	rm -rf $(VENV) var .pytest_cache

# --- deploy/ (see deploy/README.md) ---
TEAMS := deploy/teams

teams-schema: $(TEAMS)/node_modules/.package-lock.json

$(TEAMS)/node_modules/.package-lock.json: $(TEAMS)/package.json $(TEAMS)/package-lock.json
	cd $(TEAMS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

icons: $(STAMP)
	$(PY) -m deploy.teams.icons $(TEAMS)/build

teams-package: $(STAMP)
	$(PY) -m deploy.teams.package --out $(TEAMS)/build/handbook-bot.zip

reindex: $(STAMP)
	$(PY) deploy/reindex.py $(REINDEX_ARGS)
