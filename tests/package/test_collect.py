"""The garbage-collection tuning around parses and proofs: shared by nested and concurrent
callers, and always put back as it was found (a library call must not leave the process's
collector changed)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from tenantguard import Policy
from tenantguard._collect import collections_paused, young_collections_less
from tenantguard.engine.analyze import analyze_statement, parse_statement

POLICY = Policy("tenant_id", {"patients"})


@pytest.fixture(autouse=True)
def default_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_raised_inside_and_restored_after() -> None:
    with young_collections_less():
        assert gc.get_threshold()[0] == 10_000
        with young_collections_less():  # nested: no change of its own
            assert gc.get_threshold()[0] == 10_000
        assert gc.get_threshold()[0] == 10_000  # the inner exit did not restore early
    assert gc.get_threshold() == (700, 10, 10)


def test_a_larger_threshold_or_collection_turned_off_is_left_alone() -> None:
    for found in ((50_000, 5, 5), (0, 10, 10)):
        gc.set_threshold(*found)
        with young_collections_less():
            assert gc.get_threshold() == found
        assert gc.get_threshold() == found


def test_thresholds_set_by_someone_else_meanwhile_are_kept() -> None:
    with young_collections_less():
        gc.set_threshold(2_000, 10, 10)
    assert gc.get_threshold() == (2_000, 10, 10)


def test_concurrent_callers_restore_once_the_last_leaves() -> None:
    inside = threading.Barrier(2)
    first_left = threading.Event()
    seen: list[int] = []

    def first() -> None:
        with young_collections_less():
            inside.wait()
        first_left.set()

    def second() -> None:
        with young_collections_less():
            inside.wait()
            first_left.wait()
            seen.append(gc.get_threshold()[0])  # the first left: still raised for this one

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [10_000]
    assert gc.get_threshold() == (700, 10, 10)


def test_parse_and_analysis_leave_the_collector_as_they_found_it() -> None:
    sql = " UNION ALL ".join("SELECT id FROM patients WHERE tenant_id = $1" for _ in range(50))
    assert parse_statement(sql)[0] is not None
    verdict = analyze_statement(sql, POLICY)
    assert verdict.findings == ()
    assert analyze_statement("SELECT id FROM patients", POLICY).findings  # unpinned: found
    assert parse_statement("SELECT (")[0] is None  # an error leaves it as found too
    assert gc.get_threshold() == (700, 10, 10)


# a large statement: no automatic collection while it is analysed


def test_collection_is_paused_inside_and_enabled_after_the_last_leaves() -> None:
    assert gc.isenabled()
    with collections_paused():
        assert not gc.isenabled()
        with collections_paused():  # nested: no change of its own
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner exit did not enable early
    assert gc.isenabled()


def test_collection_turned_off_before_stays_off() -> None:
    gc.disable()
    try:
        with collections_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_concurrent_pauses_enable_once_the_last_leaves() -> None:
    inside = threading.Barrier(2)
    first_left = threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collections_paused():
            inside.wait()
        first_left.set()

    def second() -> None:
        with collections_paused():
            inside.wait()
            first_left.wait()
            seen.append(gc.isenabled())  # the first left: still paused for this one

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [False]
    assert gc.isenabled()


def test_a_large_statement_is_analysed_with_collection_paused_and_left_as_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No automatic collection starts while a statement past 16 KiB is parsed and proven (a
    smaller one: the raised threshold only); the collector is left as it was found."""
    from tenantguard.engine import analyze

    inside: list[bool] = [False]
    during: list[bool] = []  # for each collection that started: was an analysis running?
    real = analyze._analyze_statement

    def watched(*args: object) -> object:
        inside[0] = True
        try:
            return real(*args)  # type: ignore[arg-type]
        finally:
            inside[0] = False

    monkeypatch.setattr(analyze, "_analyze_statement", watched)
    unit = "SELECT id FROM patients WHERE tenant_id = $1"
    large = " UNION ALL ".join(unit for _ in range(400))
    small = " UNION ALL ".join(unit for _ in range(290))
    assert len(small) < 16_384 < len(large)

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            during.append(inside[0])

    gc.callbacks.append(callback)
    try:
        assert analyze_statement(large, POLICY).findings == ()
        paused = list(during)
        during.clear()
        assert analyze_statement(small, POLICY).findings == ()
    finally:
        gc.callbacks.remove(callback)
    assert True not in paused
    assert True in during  # a smaller one's analysis is collected in (the test can see one)
    assert gc.isenabled() and gc.get_threshold() == (700, 10, 10)


def test_a_proofs_records_are_freed_as_the_statement_ends_not_left_to_the_collector() -> None:
    """Blocks point at their sources and back, facts at the sources they pin: left as cycles,
    they would be garbage only the collector finds, among the next statements' trees (it ran
    ~15 % more often on a check than on parsing alone). The verdict made, they are freed."""
    policy = Policy("tenant_id", {"patients", "visits"})
    statements = [
        "SELECT p.name FROM patients p JOIN visits v ON v.patient_id = p.id "
        "WHERE p.tenant_id = $1 AND v.tenant_id = $1",
        "WITH x AS (SELECT * FROM visits WHERE tenant_id = $1) "
        "SELECT * FROM patients p, x WHERE p.tenant_id = x.tenant_id",
        "SELECT * FROM patients WHERE tenant_id = $1 UNION SELECT * FROM patients "
        "WHERE tenant_id = $1 AND id IN (SELECT patient_id FROM visits WHERE tenant_id = $1)",
        "UPDATE visits v SET note = 'x' FROM patients p WHERE p.id = v.patient_id "
        "AND p.tenant_id = $1 AND v.tenant_id = $1 RETURNING v.id",
        "SELECT * FROM patients",  # a finding: near misses, facts of no pin
    ]
    analyze_statement(statements[0], policy)  # lazy set-up first
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        verdicts = [analyze_statement(s, policy) for s in statements]
        gc.collect()
        left = [type(o).__qualname__ for o in gc.garbage if "tenantguard" in type(o).__module__]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()
    assert verdicts[-1].findings and not verdicts[0].findings  # the statements were analysed
    assert left == []
