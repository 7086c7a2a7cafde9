# lda-conventions — `make run` and `make test` set everything up on a fresh machine.
PY       ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
APT_PKGS := tesseract-ocr tesseract-ocr-fra ghostscript poppler-utils chromium
OUT      ?= out
INPUT    ?= samples
SHARED   ?= ../shared

.PHONY: help setup system-deps run test test-fast bench lint format score clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: system-deps $(STAMP) ## create .venv and install everything (Debian packages when missing)

system-deps: ## install tesseract (fra), ghostscript, poppler and chromium when missing
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: setup ## run the pipeline on samples/ into out/
	$(BIN)/lda-conventions run $(INPUT) --out $(OUT)

test: setup ## run the whole test suite (slow OCR tests included)
	$(BIN)/python -m pytest -q

test-fast: setup ## tests without the slow marker
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup ## speed and memory on the shared corpus, by style
	$(BIN)/python -m pipeline.bench --corpus $(SHARED)/corpus

lint: setup ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup ## apply ruff's formatting and fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

score: setup ## run and score each style folder of the shared corpus
	@for s in lattice stream scan; do \
	  $(BIN)/lda-conventions run $(SHARED)/corpus/$$s --out $(OUT)/$$s >/dev/null; \
	  printf '%-8s ' $$s; $(PY) $(SHARED)/eval/score.py --truth $(SHARED)/corpus/truth --out $(OUT)/$$s --inputs $(SHARED)/corpus/$$s | tail -n 1; \
	done

clean: ## remove outputs and caches (keeps .venv)
	rm -rf $(OUT) .mypy_cache .ruff_cache .pytest_cache
