"""A newcomer on a fresh machine, round 35 (h35H, issue 12 item 1): the real `tenantguard`
command in a fresh process on projects laid out as real ones are; misconfiguration never passes
silently, in any format, and standard output keeps only the report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_h34H_newcomer import FORMATS, TENANTGUARD, run, write

DJANGO_INITIAL = """from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True)),
                ("tenant_id", models.IntegerField()),
                ("total", models.IntegerField()),
            ],
        ),
    ]
"""
DJANGO_RUNSQL = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.RunSQL(
            "CREATE TABLE shop_invoice (id bigserial PRIMARY KEY, tenant_id int NOT NULL,"
            " amount int);",
            reverse_sql="DROP TABLE shop_invoice;",
        ),
    ]
"""
DJANGO_VIEWS = """from django.db import connection


def totals():
    with connection.cursor() as cur:
        cur.execute("SELECT amount FROM shop_invoice")
        return cur.fetchall()


def orders():
    with connection.cursor() as cur:
        cur.execute("SELECT total FROM shop_order")
        return cur.fetchall()
"""


def django_project(root: Path, *, models: bool = True) -> Path:
    """A Django app `shop` whose migrations are the configured schema path: 0001 a CreateModel
    (the table shop_order, with tenant_id), 0002 a RunSQL making shop_invoice."""
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["shop/migrations"]\n')
    write(root / "shop/__init__.py", "")
    write(root / "shop/migrations/__init__.py", "")
    if models:
        write(root / "shop/migrations/0001_initial.py", DJANGO_INITIAL)
    write(root / "shop/migrations/0002_invoices.py", DJANGO_RUNSQL)
    write(root / "shop/views.py", DJANGO_VIEWS)
    return root


@pytest.mark.parametrize("fmt", FORMATS)
def test_django_migrations_models_as_schema_are_said_not_read(tmp_path: Path, fmt: str) -> None:
    """`schema_paths = ["shop/migrations"]` of a Django app: the RunSQL's `shop_invoice` was
    read (its SELECT a TG001), the CreateModel's `shop_order` (with tenant_id) was not, and
    nothing said so — `SELECT total FROM shop_order` passed, the folder counted as a schema
    read. A warning names the Django migrations and what to point at instead (a pg_dump or
    sqlmigrate SQL file); standard output stays the report alone — in the text formats; the
    machine formats carry the warning in their document once (session 38: json
    `configuration_warnings`, SARIF's configuration notifications, a github annotation)."""
    root = django_project(tmp_path / "p")
    for cache in (["--no-cache"], [], []):  # said again from the cache
        result = run("check", *cache, "--format", fmt, cwd=root)
        assert result.returncode == 1, result.stderr
        assert result.stderr.count("CreateModel") == 1, result.stderr
        assert "shop/migrations" in result.stderr and "pg_dump" in result.stderr, result.stderr
        assert "sqlmigrate" in result.stderr, result.stderr
        assert result.stdout.count("CreateModel") == (fmt in ("json", "sarif", "github"))
        if fmt == "json":
            found = {(f["path"], f["rule"]) for f in json.loads(result.stdout)["findings"]}
            assert found == {("shop/views.py", "TG001")}, found
    if fmt == "text":  # init proposing that folder says the same
        (root / "pyproject.toml").unlink()
        proposed = run("init", "--dry-run", cwd=root)
        assert proposed.returncode == 0, proposed.stderr
        assert "CreateModel" in proposed.stderr and "pg_dump" in proposed.stderr


def test_django_migrations_of_sql_alone_are_read_without_a_warning(tmp_path: Path) -> None:
    """The twin: migrations holding only RunSQL are read whole; nothing to warn of."""
    root = django_project(tmp_path / "p", models=False)
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stderr
    assert "warning" not in result.stderr, result.stderr


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_a_cache_directory_that_cannot_be_written_is_said_once(
    tmp_path: Path, fmt: str, where: str
) -> None:
    """TENANTGUARD_CACHE_DIR where nothing can be made (under a file, in /proc): the run went
    on without a cache and said nothing — every run checked every file again. One warning line
    on standard error; the report (and exit code) as without a cache."""
    root = django_project(tmp_path / "p")
    (tmp_path / "a-file").write_text("x\n", encoding="utf-8")
    cache = str(tmp_path / "a-file/cache") if where == "under-a-file" else "/proc/tg-h35H-cache"
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": cache}
    plain = run("check", "--no-cache", "--format", fmt, cwd=root, env=env)
    result = run("check", "--format", fmt, cwd=root, env=env)
    assert result.returncode == plain.returncode == 1
    assert result.stdout == plain.stdout
    said = [line for line in result.stderr.splitlines() if "cache" in line and cache in line]
    assert len(said) == 1 and said[0].startswith("tenantguard: warning:"), result.stderr
    assert "--no-cache" in said[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a folder of mode 0o555")
def test_a_cache_directory_without_write_permission_is_said(tmp_path: Path) -> None:
    root = django_project(tmp_path / "p")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": str(locked / "cache")}
    result = run("check", cwd=root, env=env)
    assert result.returncode == 1
    assert result.stderr.count("tenantguard: warning: the cache") == 1, result.stderr


def test_a_writable_cache_says_nothing(tmp_path: Path) -> None:
    root = django_project(tmp_path / "p", models=False)
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):
        result = run("check", cwd=root, env=env)
        assert result.returncode == 1 and "warning" not in result.stderr, result.stderr


EXPLAIN_SCHEMA = "CREATE TABLE notes (id int, tenant_id int, body text);\n"


@pytest.mark.parametrize(
    ("sql", "code", "verdict"),
    [
        ("SELECT body FROM notes WHERE tenant_id = $1", 0, "proven"),
        ("SELECT body FROM notes", 1, "not proven"),
        ("SELECT 1", 0, "nothing to prove"),
        ("SELEC body FROM notes", 1, "not proven"),
    ],
)
def test_explain_prints_json_with_the_same_exit_codes(
    tmp_path: Path, sql: str, code: int, verdict: str
) -> None:
    """`explain` had no --format (check has text/json/sarif/github): an editor or a script had
    to scrape its prose. `--format json` is one document, its exit code the text's."""
    root = tmp_path / "p"
    write(root / "db/schema.sql", EXPLAIN_SCHEMA)
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    text = run("explain", sql, cwd=root)
    result = run("explain", "--format", "json", sql, cwd=root)
    assert result.returncode == text.returncode == code, (result.stderr, text.stdout)
    document = json.loads(result.stdout)
    assert document["version"] and len(document["statements"]) == 1
    statement = document["statements"][0]
    assert statement["verdict"] == verdict and statement["line"] == 1
    assert document["failed"] is bool(code)
    if ("FROM notes" in sql and verdict != "not proven") or sql == "SELECT body FROM notes":
        (reference,) = statement["references"]
        assert reference["table"] == "notes" and reference["pinned"] is (code == 0)
    if sql == "SELECT body FROM notes":
        assert [f["rule"] for f in statement["findings"]] == ["TG001"]
    assert run("explain", "--format", "text", sql, cwd=root).stdout == text.stdout


def test_explain_json_errors_are_documents(tmp_path: Path) -> None:
    """A usage or configuration error of `explain --format json` prints a document naming it
    (as check's do), exit 2; an unknown format is a usage error."""
    root = tmp_path / "p"
    write(root / "db/schema.sql", EXPLAIN_SCHEMA)
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    empty = run("explain", "--format", "json", "-- nothing", cwd=root)
    assert empty.returncode == 2
    assert json.loads(empty.stdout)["error"]["kind"] == "usage"
    bare = tmp_path / "bare"
    bare.mkdir()
    unconfigured = run("explain", "--format", "json", "SELECT 1", cwd=bare)
    assert unconfigured.returncode == 2, unconfigured.stderr
    assert json.loads(unconfigured.stdout)["error"]["kind"] == "configuration"
    assert run("explain", "--format", "sarif", "SELECT 1", cwd=root).returncode == 2
    assert "--format" in run("explain", "--help", cwd=root).stdout


def project_with_tests(root: Path, *, fixtures: bool = True) -> Path:
    """An application with tests: a conftest.py fixture and tests/fixtures/reset.sql emptying
    `notes` (TRUNCATE) when `fixtures`, a test reading pinned rows."""
    write(
        root / "db/schema.sql", "CREATE TABLE notes (id int, tenant_id int NOT NULL, body text);\n"
    )
    write(
        root / "app/q.py",
        "async def body(c, t):\n"
        '    return await c.fetchval("SELECT body FROM notes WHERE tenant_id = $1", t)\n',
    )
    write(
        root / "tests/api/test_notes.py",
        "async def test_none(conn):\n"
        '    assert await conn.fetchval("SELECT count(*) FROM notes WHERE tenant_id = 1") == 0\n',
    )
    if fixtures:
        write(
            root / "tests/conftest.py",
            "import pytest\n\n\n@pytest.fixture\nasync def clean(conn):\n    yield\n"
            '    await conn.execute("TRUNCATE notes")\n',
        )
        write(root / "tests/fixtures/reset.sql", "TRUNCATE notes;\n")
    return root


def test_init_leaves_the_test_fixtures_truncate_out_and_checks_the_rest(tmp_path: Path) -> None:
    """Test fixtures that empty a tenant table (`TRUNCATE notes` in tests/conftest.py and
    tests/fixtures/reset.sql) were TG005 after `init`, exit 1 on a clean application: the
    newcomer's first check failed on what every test suite does. init writes per_file_ignores
    for those files alone (TG005 there; the tests are still checked), and says why in a
    comment; a TRUNCATE anywhere else — a test body, the application — is still TG005."""
    root = project_with_tests(tmp_path / "p")
    assert run("init", cwd=root).returncode == 0
    config = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert '"tests/**/conftest.py" = ["TG005"]' in config, config
    assert '"tests/**/fixtures/**" = ["TG005"]' in config, config
    clean = run("check", "--format", "json", cwd=root)
    assert clean.returncode == 0, (clean.stdout, clean.stderr)
    assert json.loads(clean.stdout)["findings"] == []
    assert "warning" not in clean.stderr, clean.stderr
    write(
        root / "tests/api/test_wipe.py",
        'async def test_w(c):\n    await c.execute("TRUNCATE notes")\n',
    )
    write(root / "app/admin.py", 'async def wipe(c):\n    await c.execute("TRUNCATE notes")\n')
    leaky = run("check", "--format", "json", cwd=root)
    assert leaky.returncode == 1
    found = sorted((f["path"], f["rule"]) for f in json.loads(leaky.stdout)["findings"])
    assert found == [("app/admin.py", "TG005"), ("tests/api/test_wipe.py", "TG005")], found


def test_init_writes_no_test_rule_for_tests_that_truncate_nothing(tmp_path: Path) -> None:
    root = project_with_tests(tmp_path / "p", fixtures=False)
    assert run("init", cwd=root).returncode == 0
    assert "per_file_ignores" not in (root / "pyproject.toml").read_text(encoding="utf-8")
    assert run("check", cwd=root).returncode == 0


def test_check_help_says_the_exit_codes_and_the_tests_rule(tmp_path: Path) -> None:
    text = run("check", "--help", cwd=tmp_path).stdout
    flat = " ".join(text.split())
    assert "Exit codes: 0" in flat and "130" in flat, text
    assert 'per_file_ignores = {"tests/**/conftest.py" = ["TG005"]}' in flat, text


def _children_seen(pid: int, until: subprocess.Popen[str]) -> int:
    """The most child processes of `pid` seen while `until` runs (Linux's /proc)."""
    most = 0
    while until.poll() is None:
        try:
            with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as file:
                most = max(most, len(file.read().split()))
        except OSError:
            break
        time.sleep(0.005)
    return most


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="Linux's /proc")
def test_jobs_far_above_the_files_forks_no_more_workers_than_files(tmp_path: Path) -> None:
    """`--jobs 999` on two large SQL files (above the size that starts workers): 998 workers
    were forked, each claiming nothing — 65 s where `--jobs 2` took 13 s on 2 cores. At most
    one child per file (the pool may start one of its own); the findings are those of `--jobs 1`."""
    root = tmp_path / "p"
    write(root / "db/schema.sql", EXPLAIN_SCHEMA)
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    for name in ("a", "b"):
        write(
            root / f"app/{name}.sql",
            "".join(
                f"SELECT body FROM notes WHERE id = {i} AND body <> 'a longer statement';\n"
                for i in range(3_000)
            ),
        )
    assert TENANTGUARD is not None
    one = run("check", "--no-cache", "--jobs", "1", "--format", "json", cwd=root)
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        process = subprocess.Popen(
            [TENANTGUARD, "check", "--no-cache", "--jobs", "999", "--format", "json"],
            cwd=root,
            stdout=out,  # a pipe nobody reads while the children are counted would fill
            stderr=err,
            text=True,
        )
        most = _children_seen(process.pid, process)
        process.wait(timeout=120)
    assert process.returncode == one.returncode == 1, (tmp_path / "err").read_text()
    assert (tmp_path / "out").read_text() == one.stdout
    assert most <= 2, most  # one per file at most (998 before)


def _sigint_by_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(not os.path.exists("/proc/self/cwd"), reason="Linux's /proc")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_mid_run_exits_130_says_so_and_leaves_no_temporary_file(
    tmp_path: Path, jobs: str
) -> None:
    """SIGINT while a check of 200 files runs: exit 130 (it was, in silence: a json report cut
    after `"findings": [` read as whole by nothing but the exit code). Standard error says it
    was interrupted; the cache holds no temporary file and no worker is left running."""
    root = tmp_path / "p"
    write(root / "db/schema.sql", EXPLAIN_SCHEMA)
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    for n in range(200):
        write(
            root / f"app/q{n}.sql",
            "".join(
                f"SELECT n.body FROM notes n JOIN notes m ON m.id = n.id WHERE n.id = {i} "
                f"AND m.body = 'file {n}';\n"
                for i in range(30)
            ),
        )
    assert TENANTGUARD is not None
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        [TENANTGUARD, "check", "--jobs", jobs, "--format", "json"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TENANTGUARD_CACHE_DIR": str(cache)},
        # a terminal's Ctrl-C: SIGINT handled as by default, whatever this process inherited
        # (scripts/test runs its pytest processes in the background of a shell, where SIGINT
        # is ignored, and an ignored SIGINT stays ignored across exec — as it should)
        preexec_fn=_sigint_by_default,
    )
    deadline = time.monotonic() + 60
    while not (cache / "CACHEDIR.TAG").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the policy is kept: started up, checking the files
    time.sleep(1)
    assert process.poll() is None, "the check ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "tenantguard: interrupted" in err and "Traceback" not in err, err
    assert [p.name for p in cache.iterdir() if p.name.endswith(".tmp")] == []
    time.sleep(0.5)
    assert [pid for pid in _working_in(root)] == []  # no worker left running in the project


def _working_in(directory: Path) -> list[str]:
    """The processes whose working directory is `directory` (Linux's /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd") == str(directory):
                    found.append(entry)
            except OSError:
                continue
    return found


def test_stdin_filename_with_a_path_reads_standard_input_and_says_what_it_ignores(
    tmp_path: Path,
) -> None:
    """An editor's `tenantguard check --stdin-filename app/q.sql app/q.sql` (the buffer piped
    in, the path given as well, not `-`): standard input — the unsaved buffer, `SELECT body
    FROM notes` — was dropped in silence and the file on disk checked, exit 0 with the leak in
    the buffer. As ruff does, standard input is read, reported as PATH, and a warning names the
    path ignored in its favour."""
    root = tmp_path / "p"
    write(root / "db/schema.sql", EXPLAIN_SCHEMA)
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    write(root / "app/q.sql", "SELECT body FROM notes WHERE tenant_id = $1;\n")
    assert TENANTGUARD is not None
    for paths in (["app/q.sql"], ["-"], []):
        result = subprocess.run(
            [TENANTGUARD, "check", "--format", "json", "--stdin-filename", "app/q.sql", *paths],
            cwd=root,
            input="SELECT body FROM notes;\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, (paths, result.stdout, result.stderr)
        found = [(f["path"], f["rule"]) for f in json.loads(result.stdout)["findings"]]
        assert found == [("app/q.sql", "TG001")], found
        assert ("ignoring app/q.sql" in result.stderr) is (paths == ["app/q.sql"]), result.stderr


def read_sql_project(root: Path, suppressed: bool = False) -> Path:
    """`app/sql/q.sql` holding `SELECT body FROM notes`, read by app/q.py
    (`(Path(__file__).parent / "sql" / "q.sql").read_text()`) and sent by `.fetch()`."""
    write(root / "db/schema.sql", EXPLAIN_SCHEMA)
    write(root / "pyproject.toml", '[tool.tenantguard]\nschema_paths = ["db"]\n')
    note = "  -- tenantguard: ignore[TG001] -- the export for support" if suppressed else ""
    write(root / "app/sql/q.sql", f"SELECT body FROM notes;{note}\n")
    write(
        root / "app/q.py",
        "from pathlib import Path\n\n"
        'Q = (Path(__file__).parent / "sql" / "q.sql").read_text()\n\n\n'
        "async def f(conn):\n    return await conn.fetch(Q)\n",
    )
    return root


def test_a_sql_file_read_and_sent_is_reported_once(tmp_path: Path) -> None:
    root = read_sql_project(tmp_path / "p")
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 1
    found = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "TG001"]
    assert [(f["path"], f["line"]) for f in found] == [("app/sql/q.sql", 1)], found
    assert "app/q.py" in found[0]["message"] + found[0]["help"]


def test_one_suppression_in_the_sql_file_covers_it_where_python_sends_it(tmp_path: Path) -> None:
    root = read_sql_project(tmp_path / "p", suppressed=True)
    result = run("check", "--no-cache", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["findings"] == []


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_audit_without_asyncpg_prints_an_error_document(tmp_path: Path, fmt: str) -> None:
    """`tenantguard audit --format json` on the core install (no asyncpg, as a newcomer's
    `pip install ./tenantguard` is): the message on standard error and nothing on standard
    output — a SARIF upload step got an empty file, where every other run that stops before
    its report prints a document naming why. (A fresh process in which asyncpg cannot be
    imported, as on that install.)"""
    code = (
        "import sys; sys.modules['asyncpg'] = None\n"
        "from tenantguard.cli import main\n"
        f"sys.exit(main(['audit', '--dsn', 'postgresql://x@127.0.0.1:1/db', '--format', '{fmt}']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "tenantguard[runtime]" in result.stderr
    assert "tenantguard[runtime]" in result.stdout, result.stdout
    if fmt == "json":
        assert json.loads(result.stdout)["error"]["kind"] == "usage"
