"""Checking on several processes gives what one process gives, even when a worker dies."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources import files
from tenantguard.sources.files import FileReport, check_files, discover

POLICY = Policy(tenant_tables=frozenset({"patients", "appointments"}))
LEAK = "SELECT * FROM patients WHERE dni = $1;\n"
SAFE = "SELECT * FROM appointments WHERE tenant_id = $1 AND id = $2;\n"


@pytest.fixture
def tree(tmp_path: Path) -> list[files.SourceFile]:
    """Enough bytes for the parallel path: 120 files of different sizes, some leaking."""
    for n in range(120):
        body = (SAFE * (20 + n * 3)) + (LEAK if n % 7 == 0 else "")
        if n % 2:
            (tmp_path / f"q{n:03d}.sql").write_text(body, encoding="utf-8")
        else:
            calls = "".join(
                f"    await conn.fetch({s.strip()!r}, 1, 2)\n" for s in body.splitlines()
            )
            (tmp_path / f"m{n:03d}.py").write_text(f"async def f(conn):\n{calls}", encoding="utf-8")
    found, missing = discover(
        [tmp_path], root=tmp_path, include=["*.sql", "*.py"], exclude=[], pipeline=[]
    )
    assert not missing and sum(f.size for f in found) > files._PARALLEL_MIN_BYTES
    return found


def run(found: list[files.SourceFile], jobs: int) -> list[FileReport]:
    return check_files(found, Analyzer(POLICY), Analyzer(POLICY, in_patch=True), jobs=jobs)


def summary(reports: list[FileReport]) -> list[tuple[str, int, list[tuple[int, int, str]]]]:
    return [
        (r.path, r.statements, [(f.line, f.column, f.code) for f in r.findings]) for r in reports
    ]


def test_two_processes_report_what_one_does_in_the_same_order(
    tree: list[files.SourceFile],
) -> None:
    serial = summary(run(tree, 1))
    assert sum(len(findings) for _, _, findings in serial) == 18  # the 18 files with a leak
    assert summary(run(tree, 2)) == serial
    assert summary(run(tree, 3)) == serial


def test_garbage_collection_settings_are_restored(tree: list[files.SourceFile]) -> None:
    before = gc.get_threshold()
    run(tree, 2)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def _claim_some_then_die() -> list[FileReport]:
    """A worker that takes three files and dies before reporting them."""
    batch = files._BATCH
    assert batch is not None
    with batch.claimed.get_lock():
        batch.claimed.value += 3
    os._exit(3)


def test_files_of_a_worker_that_died_are_checked_here(
    tree: list[files.SourceFile], monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = summary(run(tree, 1))
    monkeypatch.setattr(files, "_drain_in_worker", _claim_some_then_die)
    assert summary(run(tree, 2)) == serial


def test_one_process_restores_garbage_collection_too(tree: list[files.SourceFile]) -> None:
    before = gc.get_threshold()
    run(tree[:3], 1)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_stream_left_unread_leaves_garbage_collection_as_it_was(
    tree: list[files.SourceFile],
) -> None:
    """The reports stream: a consumer that stops after one (an error while writing the report)
    and keeps the stream alive must not leave the collector frozen or tuned."""
    before = gc.get_threshold()
    stream = files.iter_checked(tree[:3], Analyzer(POLICY), Analyzer(POLICY, in_patch=True), jobs=1)
    first = next(iter(stream))
    assert first.path
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    del stream


def test_without_semaphores_one_process_checks_everything(
    tree: list[files.SourceFile], monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing

    def no_semaphores(*args: object) -> None:
        raise OSError(38, "Function not implemented")

    serial = summary(run(tree, 1))
    monkeypatch.setattr(multiprocessing.get_context("fork"), "Value", no_semaphores)
    assert summary(run(tree, 2)) == serial


def test_when_fork_fails_this_process_checks_everything(
    tree: list[files.SourceFile], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    serial = summary(run(tree, 1))
    monkeypatch.setattr(os, "fork", no_fork)
    assert summary(run(tree, 2)) == serial


def test_a_freeze_of_the_caller_is_left_in_place(tree: list[files.SourceFile]) -> None:
    gc.freeze()
    try:
        run(tree[:3], 1)
        assert gc.get_freeze_count() > 0  # still frozen: not unfrozen by the check
    finally:
        gc.unfreeze()


def test_a_check_run_leaves_the_collector_as_it_was(
    tree: list[files.SourceFile], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check` freezes the heap it starts with for the run (its reports stream out file by
    file), and lets it go at the end, findings or not, on one process or two."""
    from tenantguard.cli import main

    before = gc.get_threshold()
    for jobs in ("1", "2"):
        argv = ["check", "--isolated", "--no-cache", "--tenant-tables", "patients"]
        code = main([*argv, "--jobs", jobs, str(tmp_path)])
        assert code == 1  # the leaking files
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0
    assert "TG001" in capsys.readouterr().out
