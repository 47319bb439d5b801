"""Batched log writing: every line arrives, in order, in batches rather than one by one."""

from ades.db.logs import LogStore
from ades.execution.log_buffer import LogBuffer
from ades.model import LogLevel
from tests.api.conftest import poll
from tests.db.conftest import ready_engine


def test_lines_arrive_in_order_in_batches(tmp_path):
    store = LogStore(ready_engine(f"sqlite:///{tmp_path / 'logs.db'}"))
    buffer = LogBuffer(store, "job-1", interval=60, batch=100)
    for i in range(1050):
        buffer.add(LogLevel.INFO if i % 2 else LogLevel.WARNING, f"line {i}")
    buffer.close()
    entries = store.page("job-1", None, LogLevel.DEBUG, 5000)
    assert [e.message for e in entries] == [f"line {i}" for i in range(1050)]
    # Each batch is one insert with one timestamp: 11 of them, not one per line.
    assert len({e.time for e in entries}) <= 11
    assert len(store.page("job-1", None, LogLevel.WARNING, 5000)) == 525


def test_a_quiet_run_still_shows_its_last_lines_soon(tmp_path):
    store = LogStore(ready_engine(f"sqlite:///{tmp_path / 'logs.db'}"))
    buffer = LogBuffer(store, "job-2", interval=0.05)
    buffer.add(LogLevel.INFO, "then nothing for a while")
    poll(lambda: store.page("job-2", None, LogLevel.DEBUG, 10), bool, deadline=30)
    buffer.close()
