"""Round 36 (helper h36E): `patches status` names an index of an applied patch's name whose
definition is another (made by hand before the patch's CREATE INDEX IF NOT EXISTS, which then
skipped it): exit 1. Twins that must stay quiet (exit 0): the same index spelled otherwise, an
index a later patch drops and builds again, the shipped Dentalogic pipeline. On a real
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantguard.patches.runner import apply_patches
from tests.pipeline.test_pipeline_faults import cli, fetchval, write

_REPO = Path(__file__).resolve().parents[2]


async def _status(
    database: str, patches: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = await cli("patches", "status", "--dsn", database, "--dir", str(patches))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


_TABLE = "CREATE TABLE IF NOT EXISTS t (tenant_id bigint NOT NULL, x int, y text);\n"


@pytest.mark.parametrize(
    ("by_hand", "patch", "other"),
    [
        ("CREATE INDEX t_i ON t (x)", "CREATE INDEX IF NOT EXISTS t_i ON t (tenant_id, x);", True),
        (
            "CREATE INDEX t_i ON t (tenant_id, x)",
            "CREATE UNIQUE INDEX IF NOT EXISTS t_i ON t (tenant_id, x);",
            True,
        ),
        ("CREATE INDEX t_i ON t USING hash (x)", "CREATE INDEX IF NOT EXISTS t_i ON t (x);", True),
        ("CREATE INDEX t_i ON t (x DESC)", "CREATE INDEX IF NOT EXISTS t_i ON t (x);", True),
        # the same index, spelled otherwise
        (
            "CREATE INDEX t_i ON t (tenant_id, x)",
            "create index if not exists t_i on public.t using btree (tenant_id, x asc);",
            False,
        ),
        (
            "CREATE INDEX t_i ON t (x DESC)",
            "CREATE INDEX IF NOT EXISTS t_i ON t (x DESC NULLS FIRST);",
            False,
        ),
        (
            "CREATE INDEX t_i ON t (x NULLS LAST)",
            "CREATE INDEX IF NOT EXISTS t_i ON t (x ASC NULLS LAST);",
            False,
        ),
        (
            "CREATE INDEX t_i ON t (y)",
            'CREATE INDEX IF NOT EXISTS t_i ON t (y COLLATE "default");',
            False,
        ),
        ("CREATE INDEX t_i ON t (y text_ops)", "CREATE INDEX IF NOT EXISTS t_i ON t (y);", False),
        # expressions and predicates are not judged (the server prints them its own way)
        (
            "CREATE INDEX t_i ON t (lower(y))",
            "CREATE INDEX IF NOT EXISTS t_i ON t (upper(y));",
            False,
        ),
        (
            "CREATE INDEX t_i ON t (x) WHERE x > 1",
            "CREATE INDEX IF NOT EXISTS t_i ON t (x) WHERE x > 0;",
            False,
        ),
    ],
    ids=[
        "columns",
        "unique",
        "method",
        "order",
        "spelled_same",
        "desc_nulls_first",
        "nulls_last",
        "default_collation",
        "default_opclass",
        "expression_not_judged",
        "predicate_not_judged",
    ],
)
async def test_status_names_a_hand_made_index_unlike_its_patch(
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    by_hand: str,
    patch: str,
    other: bool,
) -> None:
    write(tmp_path, "0001_t.sql", _TABLE)
    await apply_patches(database, tmp_path)
    await fetchval(database, by_hand)
    write(tmp_path, "0002_i.sql", patch + "\n")
    assert (await apply_patches(database, tmp_path)).applied == ["0002_i.sql"]
    code, out = await _status(database, tmp_path, capsys)
    if other:
        assert code == 1, out
        assert "OTHER     index of 0002_i.sql" in out and "the database has: CREATE" in out
        assert "1 indexes unlike their patch's" in out
    else:
        assert code == 0, out
        assert "OTHER" not in out


async def test_an_index_a_later_patch_drops_and_builds_again_is_judged_by_the_last(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "0001_t.sql", _TABLE + "CREATE INDEX IF NOT EXISTS t_i ON t (x);\n")
    write(tmp_path, "0002_again.sql", "DROP INDEX t_i;\nCREATE INDEX t_i ON t (tenant_id, x);\n")
    write(
        tmp_path, "0003_rename.sql", "CREATE INDEX t_j ON t (y);\nALTER INDEX t_j RENAME TO t_k;\n"
    )
    assert len((await apply_patches(database, tmp_path)).applied) == 3
    code, out = await _status(database, tmp_path, capsys)
    assert code == 0, out
    await fetchval(database, "DROP INDEX t_i")  # by hand, later
    await fetchval(database, "CREATE INDEX t_i ON t (x)")
    code, out = await _status(database, tmp_path, capsys)
    assert code == 1 and "OTHER     index of 0002_again.sql" in out, out


async def test_the_shipped_pipeline_has_no_index_unlike_its_patch(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    patches = _REPO / "patches"
    assert (await apply_patches(database, patches)).applied
    code, out = await _status(database, patches, capsys)
    assert code == 0, out
    assert "OTHER" not in out
