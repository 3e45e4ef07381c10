# Two commands from a fresh clone: `make reports` (main job) and `make test`.
# Both install from the lock in requirements/ (pinned, with hashes), so a fresh clone gets the versions
# CI tested: `make reports` only what the batch needs (run.txt), `make test` everything (test.txt).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-stamp
STAMP := $(VENV)/.installed-stamp
INSTALL := $(BIN)/python -m pip install --quiet
# `make lock` keeps the pins it can; `make lock UPGRADE=1` moves every package to its newest version.
COMPILE := $(BIN)/uv pip compile --quiet pyproject.toml --python-version 3.11 --custom-compile-command "make lock" \
	$(if $(UPGRADE),--upgrade)

.PHONY: reports test check lab calculator site bench lock citation clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; run 'make PYTHON=/path/to/python3.11 ...'" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# What `ivig-kit reports` needs: the kit's dependencies, without JupyterLab, Voila or the test tools.
$(RUN_STAMP): requirements/run.txt pyproject.toml | $(BIN)/python
	$(INSTALL) --require-hashes -r requirements/run.txt
	$(INSTALL) --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# Everything `make test` needs, on top of the above (also after `make reports` made a smaller .venv).
$(STAMP): requirements/test.txt $(RUN_STAMP)
	$(INSTALL) --require-hashes -r requirements/test.txt
	touch $@

## reports: set up and run the per-site batch on the bundled demo registry
reports: $(RUN_STAMP)
	$(BIN)/ivig-kit reports data/demo_registry.csv --out reports --jobs 2

## test: set up and run the whole test suite (unit, notebooks, browser)
test: $(STAMP)
	$(BIN)/python -m pytest

## check: lint, format, import contracts, types, repo-review, notebooks without outputs (CI runs them first)
CHECKS := "ruff check ivig_kit tests bench" "ruff format --check --output-format concise ivig_kit tests bench" lint-imports mypy \
	"repo-review ." "nbstripout --keep-id --verify notebooks/*.ipynb"
check: $(STAMP)
	@failed=""; for step in $(CHECKS); do \
	  echo "check: $$step"; $(BIN)/$$step || failed="$$failed [$$step]"; \
	done; \
	if [ -n "$$failed" ]; then echo "check: failed:$$failed" >&2; exit 1; fi

## lab: open JupyterLab at the first teaching notebook
lab: $(STAMP)
	$(BIN)/jupyter lab --allow-root --ip=127.0.0.1 --no-browser notebooks/01_total_improvement_score.ipynb

## calculator: serve the standalone TIS calculator page (Voila, no code shown) on this machine only, behind a
## token printed in its URL and a Host check (calculator_server/voila.json), loading nothing from another host
## (calculator_server/; README "The calculator server"); its template is fixed: a ?template= in the URL is ignored
calculator: $(STAMP)
	JUPYTER_PATH="$(CURDIR)/calculator_server" $(BIN)/voila notebooks/calculator.ipynb --token --no-browser --Voila.ip=127.0.0.1 --template=ivig-calculator --Voila.config_file_paths="$(CURDIR)/calculator_server" --VoilaConfiguration.allow_template_override=NO

## site: execute the teaching notebooks and write the static course site to site/ (offline, self-contained)
site: $(STAMP)
	$(BIN)/python -m ivig_kit.teaching.site site

## bench: run the benchmarks
bench: $(STAMP)
	$(BIN)/python bench/tis_throughput.py
	$(BIN)/python bench/tis_cli.py
	$(BIN)/python bench/reports_batch.py

## lock: regenerate requirements/test.txt, requirements/run.txt and binder/requirements.txt from pyproject.toml
lock: | $(STAMP)
	$(COMPILE) --universal --generate-hashes --extra test --group dev -o requirements/test.txt
	$(COMPILE) --universal --generate-hashes -c requirements/test.txt -o requirements/run.txt
	$(COMPILE) --universal --no-annotate --extra lab -c requirements/test.txt -o binder/requirements.txt

## citation: validate CITATION.cff (cffconvert needs jsonschema < 4, so it runs in an environment of its own)
citation: | $(STAMP)
	$(BIN)/uv tool run --quiet --from cffconvert==2.0.0 cffconvert --validate -i CITATION.cff

clean:
	rm -rf $(VENV) reports site build *.egg-info
