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

# `make run PORT=8080 HOST=0.0.0.0` listens there; without them ADES_PORT and ADES_HOST
# apply, else 127.0.0.1:8000. Only values given on make's command line count: a HOST or
# PORT variable a shell happens to export must not move the server.
given = $(if $(filter command line,$(origin $(1))),$(2) $($(1)))
run: $(STAMP)
	$(BIN)/ades serve --workspaces workspaces $(call given,HOST,--host) $(call given,PORT,--port)

test: $(STAMP)
	$(BIN)/ruff check ades tests bench
	@# pytest exits 5 when it collects nothing: say so plainly instead of a bare make error.
	$(BIN)/pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo 'pytest collected no tests'; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python bench/job_overhead.py
	$(BIN)/python bench/stage_in.py

clean:
	rm -rf $(VENV) .ades
