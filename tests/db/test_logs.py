"""The log store on SQLite and PostgreSQL: ids rise, pages follow an offset, levels filter."""

from __future__ import annotations

from ades.db.logs import LogStore
from ades.model import LogLevel
from tests.db.test_jobs import store  # noqa: F401  (the fixture, on both databases)


def test_pages_after_an_offset_at_a_minimum_level(store):  # noqa: F811
    logs = LogStore(store.engine)
    logs.add_many("j1", [(LogLevel.DEBUG, "d"), (LogLevel.INFO, "i"), (LogLevel.ERROR, "e")])
    logs.add("j2", LogLevel.ERROR, "other job")
    logs.add("j1", LogLevel.WARNING, "w")
    everything = logs.page("j1", None, LogLevel.DEBUG, 100)
    assert [e.message for e in everything] == ["d", "i", "e", "w"]
    ids = [e.id for e in everything]
    assert ids == sorted(ids)
    assert [e.message for e in logs.page("j1", ids[1], LogLevel.DEBUG, 100)] == ["e", "w"]
    assert [e.message for e in logs.page("j1", None, LogLevel.WARNING, 100)] == ["e", "w"]
    assert [e.message for e in logs.page("j1", None, LogLevel.DEBUG, 2)] == ["d", "i"]
    assert everything[0].time.tzinfo is not None


def test_a_page_is_read_off_its_index(store):  # noqa: F811
    from tests.db.conftest import plans_left_unbounded

    logs = LogStore(store.engine)
    calls = [
        lambda: logs.page("j", None, LogLevel.INFO, 10),
        lambda: logs.page("j", 3, LogLevel.INFO, 10),
        lambda: logs.last_ids(["j", "k"]),
    ]
    assert plans_left_unbounded(store.engine, calls) == {}


def test_last_ids_give_each_jobs_newest_entry_in_one_query(store):  # noqa: F811
    logs = LogStore(store.engine)
    logs.add_many("j1", [(LogLevel.DEBUG, "a"), (LogLevel.ERROR, "b")])
    logs.add("j2", LogLevel.INFO, "c")
    newest = {job: logs.page(job, None, LogLevel.DEBUG, 10)[-1].id for job in ("j1", "j2")}
    assert logs.last_ids(["j1", "j2", "j3"]) == newest
    assert logs.last_ids([]) == {}
