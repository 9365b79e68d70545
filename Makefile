# qcikit: `make demo` renders the sample engagements, `make test` runs every test.
# Both create .venv when it is missing and install the package with its extras.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench samples corpus clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,dask]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/qcikit demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Regenerate the committed sample engagements and the bad-input corpus.
samples: $(STAMP)
	$(BIN)/python -m qcikit.samples data/samples

corpus: $(STAMP)
	$(BIN)/python tests/data/make_corpus.py

clean:
	rm -rf $(VENV) reports .pytest_cache
