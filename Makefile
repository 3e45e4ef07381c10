# Two commands from a fresh clone: `make reports` (main job) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: reports test lab calculator site bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

## reports: set up and run the per-site batch on the bundled demo registry
reports: $(STAMP)
	$(BIN)/ivig-kit reports data/demo_registry.csv --out reports --jobs 2

## test: set up and run the whole test suite (unit, notebooks, browser)
test: $(STAMP)
	$(BIN)/python -m pytest

## lab: open JupyterLab at the first teaching notebook
lab: $(STAMP)
	$(BIN)/jupyter lab --allow-root --ip=127.0.0.1 --no-browser notebooks/01_total_improvement_score.ipynb

## calculator: serve the standalone TIS calculator page (Voila, no code shown) on this machine only, behind a
## token printed in its URL, loading nothing from another host (calculator_server/; README "The calculator server")
calculator: $(STAMP)
	JUPYTER_PATH="$(CURDIR)/calculator_server" $(BIN)/voila notebooks/calculator.ipynb --token --no-browser --Voila.ip=127.0.0.1 --template=ivig-calculator

## site: execute the teaching notebooks and write the static course site to site/ (offline, self-contained)
site: $(STAMP)
	$(BIN)/python -m ivig_kit.teaching.site site

## bench: run the benchmarks
bench: $(STAMP)
	$(BIN)/python bench/tis_throughput.py
	$(BIN)/python bench/tis_cli.py
	$(BIN)/python bench/reports_batch.py

clean:
	rm -rf $(VENV) reports site build *.egg-info
