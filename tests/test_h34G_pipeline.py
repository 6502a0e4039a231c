"""Round 34: the patch pipeline under fault injection (helper h34G), on a real server. Each test
names what the server held, what apply said and whether a retry finishes, before the fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.patches.files import PatchError
from tenantguard.patches.runner import apply_patches
from tests.test_pipeline_faults import cli, fetchval, ledger_names, write

_FIRST = "CREATE TABLE IF NOT EXISTS first_patch (id int);\n"


@pytest.mark.parametrize(
    "text",
    [
        # the known open item: SET TRANSACTION outside a transaction is a WARNING, no more
        "-- tenantguard: no-transaction\nSET TRANSACTION ISOLATION LEVEL SERIALIZABLE;\n",
        "-- tenantguard: no-transaction\nSET LOCAL statement_timeout = 0;\n",
        "-- tenantguard: no-transaction\nSET statement_timeout = 0;\n",
        "-- tenantguard: no-transaction\nRESET ALL;\n",
        "-- tenantguard: no-transaction\nSET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;\n",
        "SET search_path = app, public;\nSET LOCAL lock_timeout = '1min';\n",
    ],
)
async def test_a_patch_that_only_sets_its_session_is_refused_before_anything_runs(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """1. A patch whose every statement only changes its session's settings — a no-transaction
    patch `SET TRANSACTION …`, `SET LOCAL …`, `SET …`, `RESET ALL` — changed nothing that stays
    (the runner cleans the session before each patch, and SET LOCAL and SET TRANSACTION outside
    a transaction are a WARNING): it was recorded as applied, exit 0, and its author believed
    the next patch ran with the setting. Before: applied ['0001_first.sql', '0002_set.sql']."""
    patches = tmp_path / "patches"
    write(patches, "0001_first.sql", _FIRST)
    write(patches, "0002_set.sql", text)
    line = 2 if text.startswith("--") else 1
    with pytest.raises(PatchError, match=rf"0002_set\.sql:{line}:1: .*only sets the session"):
        await apply_patches(database, patches)
    assert await fetchval(database, "SELECT to_regclass('first_patch')") is None
    assert await ledger_names(database) == []
    capsys.readouterr()
    assert await cli("patches", "apply", "--dsn", database, "--dir", str(patches)) == 1
    err = capsys.readouterr().err
    assert "0002_set.sql" in err and "Traceback" not in err
    assert await ledger_names(database) == []


async def test_a_patch_with_a_setting_and_a_statement_is_applied(
    database: str, tmp_path: Path
) -> None:
    """1, safe twin: a setting followed by the statement it is for."""
    patches = tmp_path / "patches"
    write(
        patches,
        "0001_first.sql",
        "SET LOCAL lock_timeout = '1min';\nCREATE TABLE IF NOT EXISTS first_patch (id int);\n",
    )
    write(patches, "0002_vacuum.sql", "-- tenantguard: no-transaction\nVACUUM first_patch;\n")
    assert (await apply_patches(database, patches)).applied == ["0001_first.sql", "0002_vacuum.sql"]
