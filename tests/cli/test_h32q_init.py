"""`tenantguard init` picks the tenant column robustly: a link table's other side never wins
over the column most tables carry, and a tie is said, never silently broken (helper h32q: on a
project whose tenant is the user, `users_cars(user_id → users, car_id → cars)` made init
propose car_id)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TENANTGUARD = Path(sys.executable).parent / "tenantguard"


def _init(tmp_path: Path, schema: str) -> str:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001.sql").write_text(schema, encoding="utf-8")
    done = subprocess.run(
        [str(TENANTGUARD), "init", "--dry-run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


USERS_CARS = """
CREATE TABLE users (id bigserial PRIMARY KEY, email text);
CREATE TABLE cars (id bigserial PRIMARY KEY, model text);
CREATE TABLE users_cars (
    user_id bigint REFERENCES users (id),
    car_id bigint REFERENCES cars (id),
    PRIMARY KEY (user_id, car_id)
);
CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL, total int);
CREATE TABLE addresses (id bigserial PRIMARY KEY, user_id bigint NOT NULL, street text);
CREATE TABLE payments (id bigserial PRIMARY KEY, user_id bigint NOT NULL, amount int);
"""


def test_link_table_other_side_loses_to_the_column_most_tables_carry(tmp_path: Path) -> None:
    # user_id and car_id are each referenced once (the link table), but user_id is in 4 tables
    out = _init(tmp_path, USERS_CARS)
    assert 'tenant_column = "user_id"' in out
    assert "Tenant column: user_id" in out
    assert "next: car_id → cars" in out  # the runner-up, so a user can correct it
    assert "orders" in out.split("Tenant tables")[1].split("\n")[0]


def test_more_foreign_keys_to_cars_do_not_outvote_the_tables_keyed_by_user(
    tmp_path: Path,
) -> None:
    schema = USERS_CARS + (
        "CREATE TABLE car_photos (id bigserial PRIMARY KEY, car_id bigint REFERENCES cars (id));\n"
    )
    out = _init(tmp_path, schema)
    assert 'tenant_column = "user_id"' in out
    assert "next: car_id → cars" in out


def test_foreign_keys_to_users_from_several_tables(tmp_path: Path) -> None:
    schema = USERS_CARS.replace("user_id bigint NOT NULL", "user_id bigint REFERENCES users (id)")
    out = _init(tmp_path, schema)
    assert 'tenant_column = "user_id"' in out
    assert "Warning: tie" not in out


TIE = """
CREATE TABLE projects (id bigserial PRIMARY KEY);
CREATE TABLE boards (id bigserial PRIMARY KEY);
CREATE TABLE cards (id bigserial PRIMARY KEY, project_id bigint REFERENCES projects (id),
    board_id bigint REFERENCES boards (id));
CREATE TABLE lanes (id bigserial PRIMARY KEY, project_id bigint REFERENCES projects (id),
    board_id bigint REFERENCES boards (id));
"""


def test_a_tie_is_said_with_both_candidates(tmp_path: Path) -> None:
    out = _init(tmp_path, TIE)
    warning = [line for line in out.splitlines() if line.startswith("Warning: tie")]
    assert len(warning) == 1, out
    assert "board_id" in warning[0] and "project_id" in warning[0]
    assert "tenant_column" in warning[0]  # how to correct it


def test_a_tenant_like_name_breaks_a_tie_and_says_so(tmp_path: Path) -> None:
    out = _init(tmp_path, TIE.replace("project", "team"))
    assert 'tenant_column = "team_id"' in out
    assert "Warning: tie" not in out
    assert "broken by name" in out
    assert "next: board_id → boards" in out


def test_a_tie_is_kept_as_a_comment_where_the_choice_is_written(tmp_path: Path) -> None:
    out = _init(tmp_path, TIE)
    written = out.split("Would write to")[1]
    assert "# a tie: board_id → boards and project_id → projects" in written


def test_without_foreign_keys_a_tie_is_said(tmp_path: Path) -> None:
    out = _init(
        tmp_path,
        "CREATE TABLE a (id int, org_id int, team_id int);\n"
        "CREATE TABLE b (id int, org_id int, team_id int);\n",
    )
    assert "Warning: tie: org_id and team_id" in out


def test_without_foreign_keys_tables_keyed_by_user_id(tmp_path: Path) -> None:
    out = _init(
        tmp_path,
        "CREATE TABLE users (id int PRIMARY KEY);\n"
        "CREATE TABLE a (id int, user_id int);\nCREATE TABLE b (id int, user_id int);\n",
    )
    assert 'tenant_column = "user_id"' in out
    assert "Warning: tie" not in out


def test_a_key_named_like_the_referenced_key_counts_by_its_foreign_keys_only(
    tmp_path: Path,
) -> None:
    # account_settings(id → accounts): `id` is in every table, but as each table's own key (the
    # primary keys declared under another name than <table>_pkey are not read as such)
    out = _init(
        tmp_path,
        "CREATE TABLE accounts (id bigint, name text);\n"
        "ALTER TABLE accounts ADD CONSTRAINT acc_pk PRIMARY KEY (id);\n"
        "CREATE TABLE account_settings (id bigint REFERENCES accounts (id), theme text);\n"
        "CREATE TABLE projects (id bigint, account_id bigint REFERENCES accounts (id));\n"
        "CREATE TABLE tasks (id bigint, account_id bigint REFERENCES accounts (id));\n"
        "CREATE TABLE plans (id bigint, price int);\n",
    )
    assert 'tenant_column = "account_id"' in out
