"""Session 36 (helper D), issue 12: a `.sql` file the program reads and sends is one leak,
reported once — at the .sql line, its help naming the Python line that sends it — when a check
of the tree checks that file itself (an application SQL file the walk finds); where Python
sends it otherwise (the file excluded, under the schema pipeline, or the statement completed
in Python). One suppression in the .sql file covers both (h35H)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_h34H_newcomer import run, write
from tests.cli.test_h35H_newcomer import EXPLAIN_SCHEMA, read_sql_project


def _tg001(root: Path, *paths: str) -> list[dict[str, object]]:
    result = run("check", "--no-cache", "--format", "json", *paths, cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    return [f for f in findings if f["rule"] == "TG001"]


def test_read_and_sent_is_reported_once_at_the_sql_line_naming_the_sender(tmp_path: Path) -> None:
    root = read_sql_project(tmp_path / "p")
    found = _tg001(root)
    assert [(f["path"], f["line"]) for f in found] == [("app/sql/q.sql", 1)], found
    assert "sent by app/q.py:3" in str(found[0]["help"])


def test_read_by_another_module_and_sent_twice_is_one_finding_naming_both(tmp_path: Path) -> None:
    """`sql/__init__.py` reads the file; two modules send it: one finding, both senders."""
    root = tmp_path / "p"
    write(root / "db/schema.sql", EXPLAIN_SCHEMA)
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    write(root / "app/sql/q.sql", "-- the export\nSELECT body FROM notes;\n")
    write(
        root / "app/sql/__init__.py",
        "from pathlib import Path\n\nQ = (Path(__file__).parent / 'q.sql').read_text()\n",
    )
    for name in ("a", "b"):
        write(
            root / f"app/{name}.py",
            "from app.sql import Q\n\n\nasync def f(conn):\n    return await conn.fetch(Q)\n",
        )
    found = _tg001(root)
    assert [(f["path"], f["line"]) for f in found] == [("app/sql/q.sql", 2)], found
    assert "app/a.py:5" in str(found[0]["help"]) and "app/b.py:5" in str(found[0]["help"])


def test_each_file_checked_alone_gets_what_it_gets_in_the_tree(tmp_path: Path) -> None:
    """Pre-commit passes the staged files, CI the tree: the finding is the .sql file's when
    the run checks it (a baseline made in CI holds for a pre-commit run of the .sql file);
    the Python file alone says it where it sends it (s39: it said nothing, "proven", a leak
    left to a file the run did not read)."""
    root = read_sql_project(tmp_path / "p")
    found = _tg001(root, "app/q.py")
    assert [(f["path"], f["line"]) for f in found] == [("app/q.py", 3)], found
    found = _tg001(root, "app/sql/q.sql")
    assert [(f["path"], f["line"]) for f in found] == [("app/sql/q.sql", 1)], found
    found = _tg001(root, "app/q.py", "app/sql/q.sql")
    assert [(f["path"], f["line"]) for f in found] == [("app/sql/q.sql", 1)], found
    run("check", "--format", "json", "app/q.py", cwd=root)  # (cached, then the tree)
    found = _tg001(root)
    assert [(f["path"], f["line"]) for f in found] == [("app/sql/q.sql", 1)], found
    assert "sent by app/q.py:3" in str(found[0]["help"])


def test_a_run_from_another_directory_names_the_sender_too(tmp_path: Path) -> None:
    root = read_sql_project(tmp_path / "p")
    found = _tg001(tmp_path, "p")
    assert [(f["path"], f["line"]) for f in found] == [("p/app/sql/q.sql", 1)], found
    assert "sent by p/app/q.py:3" in str(found[0]["help"]), found
    assert root.is_dir()


def test_an_excluded_sql_file_leaves_the_finding_where_python_sends_it(tmp_path: Path) -> None:
    root = read_sql_project(tmp_path / "p")
    write(
        root / "pyproject.toml",
        '[tool.tenantguard]\nschema_paths = ["db"]\nexclude = ["app/sql/*.sql"]\n',
    )
    found = _tg001(root)
    assert [(f["path"], f["line"]) for f in found] == [("app/q.py", 3)], found


def test_text_added_to_the_read_statement_is_its_own_finding(tmp_path: Path) -> None:
    """`Q + " WHERE author_id = 1"`: not the statement the file holds — the .sql file's own
    finding (TG001 at its line) stays, and the Python statement's finding is said where Python
    completes it unless it is the same rule at the same line."""
    root = read_sql_project(tmp_path / "p")
    write(root / "app/sql/q.sql", "SELECT body FROM notes WHERE tenant_id = $1\n")
    write(
        root / "app/q.py",
        "from pathlib import Path\n\n"
        'Q = (Path(__file__).parent / "sql" / "q.sql").read_text()\n\n\n'
        'async def f(conn):\n    return await conn.fetch(Q + " OR TRUE", 1)\n',
    )
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stdout
    paths = {f["path"] for f in json.loads(result.stdout)["findings"]}
    assert "app/q.py" in paths, result.stdout
