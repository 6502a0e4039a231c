"""Round 35 (helper h35E): `tenantguard patches lint` handed the baseline (a pg_dump of what
the patches build) linted it as if it were a patch: `patches lint patches db` in this repo gave
133 errors (its BEGIN/COMMIT, its unguarded CREATE TABLEs), exit 1, while the default `patches
lint` (the patch directory alone) is clean. A baseline is not a patch: it is left out of the
patch rules, and said so; naming only the baseline is refused with that message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main

REPO = Path(__file__).resolve().parent.parent.parent

_DUMP = (
    "--\n-- PostgreSQL database dump\n--\n\nBEGIN;\nSET statement_timeout = 0;\n"
    "CREATE TABLE public.notes (id integer NOT NULL, tenant_id integer NOT NULL);\nCOMMIT;\n"
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_shipped_baseline_named_with_the_patches_is_not_linted_as_a_patch(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = run(
        capsys, "patches", "lint", "--no-cache", "--format", "json", "patches", "db"
    )
    assert code == 0, (out, err)
    assert json.loads(out)["findings"] == []
    assert "db/init/dentalogic_schema.sql" in err and "baseline" in err
    # the default is unchanged
    code, out, err = run(capsys, "patches", "lint", "--no-cache")
    assert code == 0, (out, err)


@pytest.mark.parametrize("named", ["db", "db/init", "db/init/dentalogic_schema.sql"])
def test_the_baseline_alone_is_refused_with_a_message_saying_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = run(capsys, "patches", "lint", "--no-cache", named)
    assert code == 2, (out, err)
    assert "is the baseline" in err and "patches verify" in err
    assert "COMMIT" not in out + err


def test_a_configured_baseline_elsewhere_and_a_pg_dump_are_baselines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\nglobal_tables = ["tenants"]\nbaseline = "schema/base.sql"\n',
        encoding="utf-8",
    )
    (tmp_path / "patches").mkdir()
    (tmp_path / "patches" / "0001_a.sql").write_text(
        "CREATE TABLE IF NOT EXISTS tenants (id int PRIMARY KEY);\n", encoding="utf-8"
    )
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "base.sql").write_text(
        "BEGIN;\nCREATE TABLE tenants (id int PRIMARY KEY);\nCOMMIT;\n", encoding="utf-8"
    )
    (tmp_path / "dumps").mkdir()
    (tmp_path / "dumps" / "prod.sql").write_text(_DUMP, encoding="utf-8")
    code, out, err = run(capsys, "patches", "lint", "--no-cache", "patches", "schema", "dumps")
    assert code == 0, (out, err)
    assert "schema/base.sql" in err and "dumps/prod.sql" in err
    # a patch that says COMMIT is still a patch: its finding stays
    (tmp_path / "patches" / "0002_b.sql").write_text(
        "BEGIN;\nCREATE TABLE IF NOT EXISTS tenants (id int PRIMARY KEY);\nCOMMIT;\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "patches", "lint", "--no-cache", "patches", "schema")
    assert code == 1 and "0002_b.sql" in out and "base.sql:" not in out, (out, err)
