# qcikit: `make demo` renders the sample engagements, `make test` runs every test.
# Both create .venv when it is missing and install the package with its extras.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test postgres bench simulate mutation samples corpus clean browser notebooks

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,dask,parquet,postgres,scale]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/qcikit demo --samples data/samples --out reports

test: $(STAMP) browser postgres
	$(BIN)/python -m pytest

# The report's browser test drives Debian's chromium (browser downloads are not possible here).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The team store's tests start a throwaway PostgreSQL cluster from Debian's server binaries.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Mutation testing of the statistics (metrics, sampling, reliability, scoring): hours on 2 cores; resumable.
mutation: $(STAMP)
	$(BIN)/mutmut run --max-children 2; $(BIN)/mutmut results

# Long coverage studies of the intervals and the agreement verdicts (minutes).
simulate: $(STAMP)
	$(BIN)/python bench/coverage.py

# Regenerate the committed sample engagements and the bad-input corpus.
samples: $(STAMP)
	$(BIN)/python -m qcikit.samples data/samples

# Rewrite and re-execute the notebooks (their committed outputs are what nbval checks).
notebooks: $(STAMP)
	$(BIN)/python tools/build_notebooks.py

corpus: $(STAMP)
	$(BIN)/python tests/data/make_corpus.py

clean:
	rm -rf $(VENV) reports .pytest_cache
