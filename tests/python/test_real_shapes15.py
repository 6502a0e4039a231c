"""Round 15, real code: what was left of issue 12, and shapes of projects not seen before.

1. A constant written in another module of the tree (`from .queries import X`, `queries.X`, a
   subclass's class attribute read by its base's method) was reported twice: at the call, "in
   SQL from queries.py", and at the constant, where its module reads it as SQL standing alone.
   It is reported once, where it is written, when that module reports it by itself; the call
   still reports what the constant's module does not (SQL it completes, a constant that module
   only sends completed, text that does not parse).
2. `q = self.QUERY` / `type(self).QUERY` / `self.__class__.QUERY` read the class attribute of
   the object's class: the class and each project subclass (each value must be proven).
3. `super().__init__(conn, table="patients")` in each subclass, `self.table = table` in the base,
   `f"SELECT … FROM {self.table} …"`: each subclass's table is checked; TG009 stays when the
   base (or a subclass without its own `__init__`) can be made with a table given at run time.
4. Format specs and conversions (`{n:>5}`, `{x!r}`, `{0!r}`, `%5s`) of constants are computed as
   Python computes them: the SQL is constant, not TG009.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text

FIXTURES = Path(__file__).parent.parent / "fixtures" / "projects"
CLINIC = Policy("clinic_id", ["patients", "appointments"])


def found(source: str, policy: Policy = CLINIC) -> list[tuple[int, int, str]]:
    out, _, _ = check_python_text(source, Analyzer(policy))
    return sorted((f.line, f.column, f.code) for f in out)


def project(root: Path, files: dict[str, str]) -> None:
    (root / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "clinic_id"\n'
        'tenant_tables = ["patients", "appointments"]\n'
    )
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["check", "--no-cache", "--format", "json", *argv])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return code, json.loads(out)


def located(data: dict[str, object], root: Path) -> list[tuple[str, int, int, str]]:
    findings = data["findings"]
    assert isinstance(findings, list)
    return sorted(
        (
            Path(f["path"]).resolve().relative_to(root.resolve()).as_posix(),
            f["line"],
            f["column"],
            f["rule"],
        )
        for f in findings
    )


# ------------------------------------------------------------ 1. constants of other modules, once

QUERIES = """\
ALL_PATIENTS = "SELECT id FROM patients"
ONE = "SELECT id FROM patients WHERE clinic_id = $1"
BROKEN = "SELECT id FROM patients WHERE"
SENT_HERE = "SELECT id FROM appointments"


async def pinned(conn, clinic):
    return await conn.fetch(SENT_HERE + " WHERE clinic_id = $1", clinic)
"""

BASE = """\
class Repo:
    QUERY = "SELECT id FROM patients WHERE clinic_id = $1"

    async def get(self, conn, clinic):
        q = self.QUERY
        return await conn.fetch(q, clinic)
"""

SUBCLASSES = """\
from .base import Repo


class Appointments(Repo):
    QUERY = "SELECT id FROM appointments WHERE clinic_id = $1"


class Leaky(Repo):
    QUERY = "SELECT id FROM appointments"
"""

USES = """\
from . import queries
from .queries import ALL_PATIENTS, BROKEN, SENT_HERE
from .queries import ALL_PATIENTS as EVERYONE


async def uses(conn, clinic):
    await conn.fetch(ALL_PATIENTS)
    await conn.fetch(queries.ALL_PATIENTS)
    await conn.fetch(EVERYONE)
    await conn.fetch(queries.ONE + " OR true", clinic)
    await conn.fetch(BROKEN)
    await conn.fetch(SENT_HERE)
"""


def test_a_constant_of_another_module_is_reported_once_where_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/queries.py": QUERIES,
            "app/base.py": BASE,
            "app/subs.py": SUBCLASSES,
            "app/uses.py": USES,
        },
    )
    monkeypatch.chdir(tmp_path)
    _, data = run_json(capsys, ".")
    assert located(data, tmp_path) == [
        ("app/queries.py", 1, 32, "TG001"),  # once, for the three calls that send it unchanged
        ("app/subs.py", 9, 29, "TG001"),  # once: not again at the base's call
        # what the constant's module does not say is said at the call that sends it
        ("app/uses.py", 10, 22, "TG001"),  # the OR the call adds
        ("app/uses.py", 11, 22, "TG006"),  # does not parse: no SQL standing alone there
        ("app/uses.py", 12, 22, "TG001"),  # its module sends it pinned only
    ]


def test_a_constant_of_a_module_the_project_excludes_is_reported_at_its_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A module the check does not read (excluded, or outside the tree) reports nothing: the
    constant it gives is reported at the calls."""
    project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/vendored/__init__.py": "",
            "app/vendored/queries.py": QUERIES,
            "app/uses.py": "from .vendored.queries import ALL_PATIENTS\n\n"
            "async def f(conn):\n    await conn.fetch(ALL_PATIENTS)\n",
        },
    )
    with (tmp_path / "pyproject.toml").open("a") as config:
        config.write('exclude = ["app/vendored"]\n')
    monkeypatch.chdir(tmp_path)
    _, data = run_json(capsys, ".")
    assert located(data, tmp_path) == [("app/uses.py", 4, 22, "TG001")]


# ------------------------------------------------------------ 2. self.X copied to a local


@pytest.mark.parametrize(
    "read", ["self.QUERY", "type(self).QUERY", "self.__class__.QUERY", "cls.QUERY"]
)
@pytest.mark.parametrize(
    ("leaky", "expected"),
    [
        ('"SELECT id FROM appointments WHERE clinic_id = $1"', []),
        ('"SELECT id FROM appointments"', [(14, 29, "TG001")]),  # at the subclass's text
        ("load()", ["TG009"]),
    ],
    ids=["pinned", "unpinned", "run time"],
)
def test_a_class_attribute_copied_to_a_local_holds_each_subclass_value(
    read: str, leaky: str, expected: list[object]
) -> None:
    source = (
        "class Repo:\n"
        '    QUERY = "SELECT id FROM patients WHERE clinic_id = $1"\n'
        "\n"
        f"    {'@classmethod' if read.startswith('cls') else ''}\n"
        f"    async def get({'cls' if read.startswith('cls') else 'self'}, conn, clinic):\n"
        f"        q = {read}\n"
        "        return await conn.fetch(q, clinic)\n"
        "\n"
        "class Appointments(Repo):\n"
        '    QUERY = "SELECT id FROM appointments WHERE clinic_id = $1"\n'
        "\n"
        "\n"
        "class Other(Repo):\n"
        f"    QUERY = {leaky}\n"
    )
    got = found(source)
    if expected == ["TG009"]:
        assert [c for _, _, c in got] == ["TG009"], got
    else:
        assert got == expected


# ------------------------------------------------------------ 3. a table passed to the base's __init__

TABLE_BASE = """\
class Repository:
    def __init__(self, pool, table: str) -> None:
        self.pool = pool
        self.table = table

    async def get(self, clinic: int, item: int):
        return await self.pool.fetchrow(
            f"SELECT * FROM {{self.table}} WHERE {where} AND id = $2", clinic, item
        )


class Patients(Repository):
    def __init__(self, pool) -> None:
        super().__init__(pool, table="patients")


class Appointments(Repository):
    def __init__(self, pool) -> None:
        super().__init__(pool, "appointments")


class Plans(Repository):
    def __init__(self, pool) -> None:
        Repository.__init__(self, pool, "plans")
{more}
"""


def test_a_table_each_subclass_passes_to_the_base_is_a_constant_per_subclass() -> None:
    source = TABLE_BASE.format(where="clinic_id = $1", more="")
    assert found(source) == []


def test_each_table_passed_is_checked() -> None:
    """The twin: the statement, unpinned, is found for each tenant table passed."""
    source = TABLE_BASE.format(where="$1::int IS NOT NULL", more="")
    # at the field, once for each table
    assert [c for _, _, c in found(source)] == ["TG001", "TG001"]


@pytest.mark.parametrize(
    "more",
    [
        # a subclass passing a table given at run time
        "class Any(Repository):\n    def __init__(self, pool, name):\n"
        "        super().__init__(pool, table=name)\n",
        # a subclass made with the base's own __init__
        "class Loose(Repository):\n    pass\n\n\nLoose(None, 'x')\n",
        # the base made directly, in a module of the project, or handed out to be made
        "def make(pool, name):\n    return Repository(pool, name)\n",
        "def make(pool, name):\n    return Repository(pool=pool, table=name)\n",
        "FACTORIES = {'x': Repository}\n",
        "def make(pool, name):\n    kind = Repository\n    return kind(pool, name)\n",
        # a classmethod that makes the class it is called on
        "class Made(Repository):\n"
        "    @classmethod\n    def of(cls, pool, name):\n        return cls(pool, name)\n",
    ],
    ids=["run-time table", "no own init", "made directly", "keywords", "handed out", "alias",
         "made by a classmethod"],
)  # fmt: skip
def test_a_table_given_at_run_time_stays_tg009(more: str) -> None:
    source = TABLE_BASE.format(where="clinic_id = $1", more="\n\n" + more)
    assert "TG009" in [c for _, _, c in found(source)], found(source)


def test_an_intermediate_base_never_made_passes_nothing_itself() -> None:
    more = (
        "\n\nclass Scoped(Repository):\n    pass\n\n\n"
        "class Visits(Scoped):\n    def __init__(self, pool):\n"
        "        super().__init__(pool, 'appointments')\n"
    )
    assert found(TABLE_BASE.format(where="clinic_id = $1", more=more)) == []
    made = more + "\n\ndef make(pool, t):\n    return Scoped(pool, t)\n"
    assert "TG009" in [c for _, _, c in found(TABLE_BASE.format(where="clinic_id = $1", more=made))]


@pytest.mark.parametrize(
    "more",
    [
        "def repo(pool) -> Repository:\n    return Patients(pool)\n",
        "async def use(repo: Repository, clinic: int):\n    return await repo.get(clinic, 1)\n",
        "def check(x):\n    return isinstance(x, Repository)\n",
        "# Repository(pool, 'notes') in a comment\n",
    ],
    ids=["return annotation", "parameter annotation", "isinstance", "comment"],
)
def test_the_base_named_without_being_made(more: str) -> None:
    source = TABLE_BASE.format(where="clinic_id = $1", more="\n\n" + more)
    assert found(source) == []


def test_subclasses_in_other_modules_pass_their_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base, subs = TABLE_BASE.format(where="$1::int > 0", more="").split("\n\n\nclass Patients")
    project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/base.py": base,
            "app/repos.py": "from .base import Repository\n\n\nclass Patients" + subs,
        },
    )
    monkeypatch.chdir(tmp_path)
    _, data = run_json(capsys, ".")
    assert [f[3] for f in located(data, tmp_path)] == ["TG001", "TG001"]
    # a module that makes the base with a table given at run time: TG009 in the base
    (tmp_path / "app" / "deps.py").write_text(
        "from .base import Repository\n\ndef repo(pool, t):\n    return Repository(pool, t)\n"
    )
    _, data = run_json(capsys, ".")
    assert "TG009" in [f[3] for f in located(data, tmp_path)]


def test_a_module_that_makes_the_base_invalidates_the_cached_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base, subs = TABLE_BASE.format(where="clinic_id = $1", more="").split("\n\n\nclass Patients")
    project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/base.py": base,
            "app/repos.py": "from .base import Repository\n\n\nclass Patients" + subs,
        },
    )
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--format", "json", "app/base.py"]) == 0, capsys.readouterr()
    capsys.readouterr()
    (tmp_path / "app" / "deps.py").write_text(
        "from .base import Repository\n\ndef repo(pool, t):\n    return Repository(pool, t)\n"
    )
    main(["check", "--format", "json", "app/base.py"])
    data = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in data["findings"]] == ["TG009"]


# ------------------------------------------------------------ 4. format specs of constants


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('f"SELECT id FROM patients WHERE clinic_id = $1 LIMIT {N:>5}"', []),
        ('f"SELECT id FROM patients WHERE clinic_id = $1 AND n = {N:05d}"', []),
        ('f"SELECT id FROM {T!s} WHERE clinic_id = $1"', []),
        ('f"SELECT id FROM patients WHERE clinic_id = $1 AND name = {T!r}"', []),
        ('f"SELECT id FROM patients WHERE clinic_id = $1 AND name = {T!a:>12}"', []),
        ('f"SELECT id FROM patients WHERE clinic_id = $1 -- {T:>10}"', []),
        ('"SELECT id FROM {0} WHERE clinic_id = $1 -- {1!r}".format(T, N)', []),
        ('"SELECT id FROM {t!s} WHERE clinic_id = $1 AND n = {n:>4}".format(t=T, n=N)', []),
        ('"SELECT id FROM patients WHERE clinic_id = $1 AND name = %r" % (T,)', []),
        ('"SELECT id FROM %5s WHERE clinic_id = $1" % T', []),
        ('"SELECT id FROM patients WHERE clinic_id = $1 AND n = %05d" % N', []),
        # computed as Python does, the truncated name is no tenant table: it pins nothing else
        ('f"SELECT id FROM {T:.3} WHERE clinic_id = $1"', []),
        # the twins: the text Python makes is what is checked
        ('f"SELECT id FROM {T:>10}"', ["TG001"]),
        ('f"SELECT id FROM {W:.8}"', ["TG001"]),  # "patients"
        ('"SELECT id FROM {0!s}".format(T)', ["TG001"]),
        # values known at run time stay TG009
        ('f"SELECT id FROM patients WHERE clinic_id = $1 -- {x!r}"', ["TG009"]),
        ('f"SELECT id FROM patients WHERE clinic_id = $1 AND n = {x:>5}"', ["TG009"]),
        ('f"SELECT id FROM patients WHERE clinic_id = $1 LIMIT {N:{x}}"', ["TG009"]),
        ('"SELECT id FROM {0!r}".format(x)', ["TG009"]),
    ],
)
def test_a_format_spec_of_a_constant_is_computed(expression: str, expected: list[object]) -> None:
    source = (
        "N = 5\nT = 'patients'\nW = 'patients_archive'\n"
        f"def f(conn, clinic, x):\n    conn.fetch({expression}, clinic)\n"
    )
    got = [c for _, _, c in found(source)]
    if expected == ["TG009"]:
        assert "TG009" in got, got
    else:
        assert got == expected


# ------------------------------------------------------------ 5. real shapes: loops that unpack

EXPORTS = """\
EXPORTS = {exports}


async def export(conn, clinic):
    out = {{}}
    for {target} in {iterable}:
        out[name] = await conn.fetch(sql, clinic)
    return out
"""

PINNED = (
    '"SELECT id FROM patients WHERE clinic_id = $1"',
    '"SELECT id FROM appointments WHERE clinic_id = $1"',
)
UNPINNED = ('"SELECT id FROM patients WHERE clinic_id = $1"', '"SELECT id FROM appointments"')


@pytest.mark.parametrize(
    ("exports", "target", "iterable"),
    [
        ('{{"patients": {0}, "appointments": {1}}}', "name, sql", "EXPORTS.items()"),
        ('[("patients", {0}), ("appointments", {1})]', "name, sql", "EXPORTS"),
        ('(("patients", {0}), ("appointments", {1}))', "(name, sql)", "EXPORTS"),
        ("None", "name, sql", '[("patients", {0}), ("appointments", {1})]'),
    ],
    ids=["dict items", "list of tuples", "tuple of tuples", "written in the loop"],
)
@pytest.mark.parametrize(
    ("queries", "expected"),
    [(PINNED, []), (UNPINNED, ["TG001"])],
    ids=["pinned", "one unpinned"],
)
def test_a_loop_that_unpacks_constants_checks_each(
    exports: str, target: str, iterable: str, queries: tuple[str, str], expected: list[str]
) -> None:
    source = EXPORTS.format(
        exports=exports.format(*queries), target=target, iterable=iterable.format(*queries)
    )
    assert [c for _, _, c in found(source)] == expected, source


@pytest.mark.parametrize(
    ("exports", "iterable"),
    [
        # a row of another width, a value built at run time, a dict changed in place
        ('[("patients", {0}), ("appointments", {1}, 1)]', "EXPORTS"),
        ('[("patients", {0}), ("appointments", load())]', "EXPORTS"),
        ('{{"patients": {0}}}\nEXPORTS["x"] = load()', "EXPORTS.items()"),
        ('{{"patients": {0}}}', "EXPORTS.values()"),
        ('{{"patients": {0}}}', "sorted(EXPORTS.items())"),
    ],
    ids=["ragged", "run time", "changed", "values of a dict, unpacked", "sorted"],
)
def test_a_loop_over_what_is_not_known_stays_tg009(exports: str, iterable: str) -> None:
    source = EXPORTS.format(exports=exports.format(*PINNED), target="name, sql", iterable=iterable)
    assert "TG009" in [c for _, _, c in found(source)], source


# ------------------------------------------------------------ 6. psycopg names joined, %d in text

LEDGER = Policy("account_id", ["entries"])

INSERT = """\
from psycopg import sql

COLUMNS = {columns}


def insert(conn, account, amount, memo):
    query = sql.SQL("INSERT INTO entries ({{}}) VALUES ({{}})").format(
        sql.SQL(", ").join({names}),
        sql.SQL(", ").join(sql.Placeholder() * len(COLUMNS)),
    )
    conn.execute(query, (account, amount, memo))
"""


@pytest.mark.parametrize(
    "names",
    [
        "map(sql.Identifier, COLUMNS)",
        "(sql.Identifier(c) for c in COLUMNS)",
        "[sql.Identifier(c) for c in COLUMNS]",
    ],
)
@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        ('("account_id", "amount", "memo")', []),
        ('["account_id", "amount", "memo"]', []),
        ('("amount", "memo", "created_by")', ["TG002"]),  # the twin: no tenant column
        ('{"account_id", "amount", "memo"}', ["TG009"]),  # a set: its order is Python's
        ("tuple(load())", ["TG009"]),
    ],
)
def test_psycopg_identifiers_of_constant_columns_are_names(
    names: str, columns: str, expected: list[str]
) -> None:
    source = INSERT.format(columns=columns, names=names)
    got = [c for _, _, c in found(source, LEDGER)]
    if expected == ["TG009"]:
        assert "TG009" in got, got
    else:
        assert got == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # `%d` writes digits and a minus, or raises: inside a string literal, its text
        ("\"SELECT id FROM entries WHERE account_id = %%s AND at > now() - interval '%d days'\" % days", []),
        ("\"SELECT id FROM entries WHERE account_id = %%s LIMIT %d\" % n", []),
        # the twins: `%s` of a value is any text; digits in a name or after `E'\\`
        ("\"SELECT id FROM entries WHERE account_id = %%s AND memo = '%s'\" % days", ["TG009"]),
        ("\"SELECT id FROM entries_%d WHERE account_id = %%s\" % days", ["TG009"]),
        ("\"SELECT id FROM \\\"entries%d\\\" WHERE account_id = %%s\" % days", ["TG009"]),
        ("\"SELECT id FROM entries WHERE account_id = %%s AND memo = E'\\\\%d'\" % days", ["TG009"]),
    ],
)  # fmt: skip
def test_a_number_written_by_percent_d_is_digits(query: str, expected: list[str]) -> None:
    source = f"def recent(conn, account, days, n):\n    conn.execute({query}, (account,))\n"
    got = [c for _, _, c in found(source, LEDGER)]
    if expected == ["TG009"]:
        assert "TG009" in got, got
    else:
        assert got == expected
