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

# The API modules that run jobs, run a second time in the distributed mode: PostgreSQL,
# Celery on Redis and two `ades worker` processes (tests/distributed.py). The rest of
# tests/api does not depend on where jobs run.
DISTRIBUTED_TESTS ?= tests/api/test_jobs.py tests/api/test_job_management.py \
	tests/api/test_job_list.py tests/api/test_job_logs.py tests/api/test_callbacks.py \
	tests/api/test_deployed_runs.py tests/api/test_result_downloads.py tests/api/test_stac_io.py \
	tests/api/test_stac_results.py tests/api/test_job_estimate.py tests/api/test_clients.py \
	tests/api/test_quotas.py tests/api/test_result_cache.py tests/api/test_job_stream.py

test: $(STAMP)
	$(BIN)/ruff check ades tests bench
	@# pytest exits 5 when it collects nothing: say so plainly instead of a bare make error.
	$(BIN)/pytest -q --durations=25; rc=$$?; if [ $$rc -eq 5 ]; then echo 'pytest collected no tests'; fi; exit $$rc
	ADES_TEST_MODE=distributed $(BIN)/pytest -q $(DISTRIBUTED_TESTS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo 'pytest collected no tests (distributed mode)'; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python bench/job_overhead.py
	$(BIN)/python bench/stage_in.py
	$(BIN)/python bench/stage_out.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/auth_overhead.py
	$(BIN)/python bench/cache.py
	$(BIN)/python bench/edge.py
	$(BIN)/python bench/store_scale.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/event_streams.py
	$(BIN)/python bench/provenance.py

clean:
	rm -rf $(VENV) .ades
