"""Real shapes of SQL in Python (h32c): query builders of a module (`queries.py`) that return
psycopg's `sql.SQL("…").format(…)` of their parameters, sent by other modules."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.project_files import findings_of_check, write_project

# users own cars through users_cars: the user is the tenant
SCHEMA = (
    "CREATE TABLE users (id int PRIMARY KEY, name text);\n"
    "CREATE TABLE cars (id int PRIMARY KEY, model text);\n"
    "CREATE TABLE users_cars (user_id int NOT NULL REFERENCES users(id), "
    "car_id int NOT NULL REFERENCES cars(id), PRIMARY KEY (user_id, car_id));\n"
)
CONFIG = '[tool.tenantguard]\ntenant_column = "user_id"\nschema_paths = ["schema.sql"]\n'

QUERIES = """from psycopg2 import sql


def link(one, two):
    return sql.SQL("INSERT INTO users_cars VALUES ({one}, {two})").format(
        one=sql.Literal(one), two=sql.Literal(two)
    )


def all_rows(table):
    return sql.SQL("SELECT * FROM {table}").format(table=sql.Identifier(table))
"""

CALLER = """from app import queries


class Garage:
    def __init__(self, cursor):
        self.cursor = cursor

    def add(self, user_id, car_id):
        self.cursor.execute(queries.link(user_id, car_id))

    def every_link(self):
        self.cursor.execute(queries.all_rows("users_cars"))
"""


def test_a_builders_own_fault_is_said_once_where_it_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`INSERT INTO users_cars VALUES (…)` (no column list) is wrong whatever the call gives:
    said at the builder's text, not once more at each call (it was also at garage.py:9). What
    only the call's constants make (`all_rows("users_cars")`: every tenant's links) stays said
    at the call."""
    files = {"app/__init__.py": "", "app/queries.py": QUERIES, "app/garage.py": CALLER}
    write_project(tmp_path, SCHEMA, CONFIG, files)
    assert findings_of_check(tmp_path, capsys, monkeypatch) == [
        ("app/garage.py", 12, "TG001"),
        ("app/queries.py", 5, "TG002"),
    ]


async def test_what_the_call_makes_of_a_builder_leaks_on_the_server(database: str) -> None:
    """The statement `all_rows("users_cars")` sends reads both users' links: the finding kept
    at the call is a leak."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(SCHEMA)
        await conn.execute(
            "INSERT INTO users VALUES (1, 'a'), (2, 'b'); INSERT INTO cars VALUES (10, 'x'), "
            "(20, 'y'); INSERT INTO users_cars VALUES (1, 10), (2, 20)"
        )
        rows = await conn.fetch('SELECT * FROM "users_cars"')
        assert sorted(r["user_id"] for r in rows) == [1, 2]
    finally:
        await conn.close()
