# Two commands a person needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ades serve --workspaces workspaces

test: $(STAMP)
	$(BIN)/ruff check ades tests bench
	@# pytest exits 5 when it collects nothing: say so plainly instead of a bare make error.
	$(BIN)/pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo 'pytest collected no tests'; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python bench/job_overhead.py
	$(BIN)/python bench/stage_in.py

clean:
	rm -rf $(VENV) .ades
