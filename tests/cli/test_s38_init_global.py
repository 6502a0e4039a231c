"""`tenantguard init` says which global tables it writes (session 38, h38D): it printed
"Global tables (no company_id): companies, units" and wrote `global_tables = ["companies"]`
only — a newcomer comparing the two saw `units` lost. Only the registry is written; the others
are read from the schema at each check, and the line now says so."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_h34H_newcomer import run

SCHEMA = """
CREATE TABLE companies (id bigint PRIMARY KEY, name text);
CREATE TABLE units (code text PRIMARY KEY);
CREATE TABLE items (id bigint, company_id bigint NOT NULL REFERENCES companies (id), unit text);
"""


def test_init_says_which_global_tables_it_writes(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    result = run("init", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    said = result.stdout + result.stderr
    (line,) = [x for x in said.splitlines() if x.startswith("Global tables")]
    assert line == (
        "Global tables (no company_id; read from the schema at each check; companies, the "
        "registry, also written): companies, units"
    )
    assert 'global_tables = ["companies"]' in said
