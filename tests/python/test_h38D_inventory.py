"""Session 38 (helper D), issue 12: a multi-tenant inventory service as a first-time user meets it.

`tests/fixtures/projects/h38D_inventory/` (FastAPI + asyncpg, `databases`, SQLAlchemy Core on
the asyncpg driver; tenant column `company_id`; `tenantguard init` wrote its configuration) has
SQL in `.sql` files read at run time (`Path(__file__).with_name(…)`, an aiosql query file with
`-- name:` blocks and `:company_id` parameters called by name), `database.fetch_all(query=…,
values={…})`, `text()` with `:name` parameters, `sa.select()` built in Python (not checked: no
SQL text, README "not SQL"), a generic `Repo[T]` whose SQL is built from `table` class attributes
(mixins, `@classmethod` factories, `__init_subclass__`, properties and a
`functools.cached_property` returning SQL), SQL in `enum.Enum` values and a `typing.NamedTuple`,
pagination helpers that complete a caller's SQL, a `.where()`-chaining builder and a filters
dict turned into conditions (one branch adds an unparenthesised `OR`), arq jobs that read every
company (a suppression), admin endpoints, tests/ and scripts/ with SQL (checked as the
application is), a conftest inserting rows, log and exception messages, GraphQL and Jinja.
Each expected finding is marked inline; `tenantguard check` runs on it in a fresh process and
must report exactly those.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.engine.analyze import Analyzer
from tenantguard.engine.policy import Policy
from tenantguard.sources.python import check_python_text
from tests.cli.test_projects import PROJECTS, expectations
from tests.python.test_h34D_real_tree import reported

ROOT = PROJECTS / "h38D_inventory"


def test_the_inventory_tree_reports_exactly_what_it_expects() -> None:
    got = reported(ROOT)
    want = expectations(ROOT)
    # (reported and not expected, expected and not reported)
    assert (sorted(got - want), sorted(want - got)) == ([], [])


def _inv(source: str) -> list[tuple[int, str]]:
    policy = Policy("company_id", ["items", "stock_levels"])
    out, _, _ = check_python_text(source, Analyzer(policy))
    return sorted((f.line, f.code) for f in out)


def _project(root: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    (root / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_column = "company_id"\n'
        'tenant_tables = ["items", "stock_levels"]\n',
        encoding="utf-8",
    )
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    main(["check", "--no-cache", "--format", "json", str(root)])
    data = json.loads(capsys.readouterr().out)
    return sorted(
        f"{Path(f['path']).resolve().relative_to(root.resolve()).as_posix()}:{f['line']}:{f['rule']}"
        for f in data["findings"]
    )


# Class 1: a page size clamped with `min()` / `max()` of surely-int values (`limit =
# min(int(limit), MAX_PAGE_SIZE)`, then `f"{sql} LIMIT {limit}"`) was TG009 ("computed at run
# time"), although `min`/`max` of ints is one of those ints: one number token. And once that
# hole was TG009, the `OFFSET {int(offset)}` beside it was reported too.

PAGINATE = """\
MAX = 500
Q = "SELECT id FROM items WHERE company_id = $1"


def paginate(sql, limit=50, offset=0):
    limit = min(int(limit), MAX)
    return f"{sql} LIMIT {limit} OFFSET {max(0, int(offset))}"


async def page(conn, cid, limit, offset):
    return await conn.fetch(paginate(Q, limit, offset), cid)


async def leaky(conn, limit):
    return await conn.fetch(paginate("SELECT id FROM items", limit))
"""


def test_min_and_max_of_ints_are_ints() -> None:
    assert _inv(PAGINATE) == [(15, "TG001")]


def test_min_of_something_else_stays_unknown() -> None:
    # `min(limit, MAX)` of a parameter: Python does not enforce an annotation, a str compares
    found = _inv(PAGINATE.replace("min(int(limit), MAX)", "min(limit, MAX)"))
    assert (7, "TG009") in found and (15, "TG001") in found
    # a project function of that name is not the built-in: what it returns is read
    shadowed = "def max(*a):\n    return ' OR true'\n\n\n" + PAGINATE
    assert _inv(shadowed) == [(15, "TG006"), (19, "TG006")]


# Class 2: a pagination wrapper that hands its SQL parameter to a helper completing it with a
# tail, `conn.fetch(paginate(sql, …))` in `fetch_page(conn, sql, *args)`: each caller's SQL was
# checked (`fetch_page(conn, "SELECT … FROM items")` found), yet the helper's `{sql}` was TG009
# "`sql` is a parameter of paginate()" inside it, and its `LIMIT {int(…)}` too — a warning on
# code that is a wrapper, as the same f-string written in the wrapper itself is not.

FETCH_PAGE = """\
def paginate(sql, limit=50, offset=0):
    return f"{sql} LIMIT {int(limit)} OFFSET {int(offset)}"


async def fetch_page(conn, sql, *args, page=0):
    return await conn.fetch(paginate(sql, 50, page * 50), *args)


async def mine(conn, cid):
    return await fetch_page(conn, "SELECT id FROM items WHERE company_id = $1", cid)


async def everyone(conn):
    return await fetch_page(conn, "SELECT id FROM items")
"""


def test_a_wrapper_completing_through_a_helper_is_no_tg009() -> None:
    assert _inv(FETCH_PAGE) == [(14, "TG001")]


def test_a_helper_adding_more_than_a_tail_stays_tg009() -> None:
    # `OR true` after the caller's SQL: not a tail, the wrapper's own SQL is unknown
    found = _inv(FETCH_PAGE.replace("{sql} LIMIT", "{sql} OR true LIMIT"))
    assert (2, "TG009") in found


# Class 3: the same base-class property read twice: `functools.cached_property select_sql`
# of a `Repo` base in `repos/base.py`, read by `self.select_sql + " AND id = $2"` in the base,
# once a module outside `repos/` names a subclass (`ItemRepo.for_request(request)`): the
# subclass's view of the base came from base.py read again, two `FuncRef`s of one `def`, and
# their identity differed: TG009 "`self.select_sql` holds different kinds of values".

BASE = """\
import functools
from typing import ClassVar


class Repo:
    table: ClassVar[str]
    columns: ClassVar[tuple[str, ...]] = ("id",)

    def __init__(self, conn, company_id):
        self.conn = conn
        self.company_id = company_id

    @classmethod
    def for_request(cls, request):
        return cls(request.state.conn, request.state.company_id)

    @functools.cached_property
    def select_sql(self):
        return f"SELECT {', '.join(self.columns)} FROM {self.table} WHERE company_id = $1"

    async def get(self, id_):
        return await self.conn.fetchrow(self.select_sql + " AND id = $2", self.company_id, id_)
"""

ITEMS = """\
from app.repos.base import Repo


class ItemRepo(Repo):
    table = "items"
    columns = ("id", "sku")


class LevelRepo(Repo):
    table = "stock_levels"
    columns = ("item_id", "quantity")
"""

API = """\
from app.repos.items import ItemRepo


async def item(request, id_):
    return await ItemRepo.for_request(request).get(id_)
"""


def test_a_base_property_read_twice_is_one_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "app/__init__.py": "",
        "app/repos/__init__.py": "",
        "app/repos/base.py": BASE,
        "app/repos/items.py": ITEMS,
        "app/api.py": API,
    }
    assert _project(tmp_path, files, capsys) == []


def test_a_base_property_read_twice_still_finds_a_leak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "app/__init__.py": "",
        "app/repos/__init__.py": "",
        "app/repos/base.py": BASE.replace("WHERE company_id = $1", "WHERE $1 > 0"),
        "app/repos/items.py": ITEMS,
        "app/api.py": API,
    }
    found = _project(tmp_path, files, capsys)
    assert found and all(f.endswith("TG001") for f in found), found


# Class 4: a `typing.NamedTuple` of queries with defaults, made with no arguments (`Queries()`,
# then `conn.fetch(Queries().open, cid)`): TG009 "`Queries.open` is a field: its default,
# unless the constructor is given another", although nothing was given — a dataclass's
# defaults were read so, a NamedTuple's were not. A NamedTuple cannot replace its `__new__`.

NAMED = """\
from typing import NamedTuple


class Queries(NamedTuple):
    open: str = "SELECT id FROM items WHERE company_id = $1"
    close: str = "UPDATE items SET archived_at = now() WHERE id = $1"


async def opened(conn, cid):
    return await conn.fetch(Queries().open, cid)


async def given(conn, cid):
    return await conn.fetch(Queries(open="SELECT id FROM items").open)


async def positional(conn, cid):
    return await conn.fetch(Queries("SELECT sku FROM items").open)
"""


def test_a_named_tuple_made_bare_holds_its_defaults() -> None:
    # the close default is a leak where it is written; what the constructor is given is checked
    assert _inv(NAMED) == [(6, "TG001"), (14, "TG001"), (18, "TG001")]


def test_a_decorated_named_tuple_stays_unknown() -> None:
    decorated = NAMED.replace("class Queries", "@register\nclass Queries").replace(
        "from typing import NamedTuple", "from typing import NamedTuple\nfrom app import register"
    )
    assert (12, "TG009") in _inv(decorated)


# Class 5: one leak said twice. A mixin's property in another module, `f"DELETE FROM
# {self.table} WHERE archived_at < now()"`, sent by a subclass's method there
# (`self.conn.execute(self.purge_sql)`, `table = "items"`): the base's module said it at the
# f-string ("in SQL from app/items.py"), and the subclass's module once more at `table =
# "items"` — two findings (two suppressions) for one statement. A constant of another module
# sent unchanged was already said once, where it is written; an f-string of another module
# whose fields are filled here now is too, when that module's check says the same.

MIXIN = """\
from typing import ClassVar


class SoftDelete:
    table: ClassVar[str]

    @property
    def purge_sql(self):
        return f"DELETE FROM {self.table} WHERE archived_at < now()"

    @property
    def archive_sql(self):
        return f"UPDATE {self.table} SET archived_at = now() WHERE company_id = $1 AND id = $2"
"""

SUBCLASS = """\
from app.base import SoftDelete


class ItemRepo(SoftDelete):
    table = "items"

    def __init__(self, conn):
        self.conn = conn

    async def purge(self):
        await self.conn.execute(self.purge_sql)

    async def archive(self, cid, id_):
        await self.conn.execute(self.archive_sql, cid, id_)

    async def purge_more(self):
        await self.conn.execute(self.purge_sql + " OR true")
"""


def test_a_base_f_string_leak_is_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {"app/__init__.py": "", "app/base.py": MIXIN, "app/items.py": SUBCLASS}
    # the call that adds text of its own (`+ " OR true"`) is still said in the subclass
    assert _project(tmp_path, files, capsys) == ["app/base.py:9:TG001", "app/items.py:5:TG001"]


# Not fixed (strict xfail), class 6: a query-builder object whose `.where(…)` keeps each
# condition on `self.conditions` and returns `self`, joined by `sql()` with `" AND ".join`:
# `Query("items").where("archived_at IS NOT NULL").sql()` reads every company's items, and a
# caller appending `"unit = $2 OR unit IS NULL"` to `q.conditions` unpins the rest; both are
# only TG009 warnings ("`q.sql()` is computed at run time"): state kept on an object is not
# followed (README "not when it keeps it on an object").

BUILDER = """\
class Query:
    def __init__(self, table):
        self.table = table
        self.conditions = []

    def where(self, condition):
        self.conditions.append(condition)
        return self

    def sql(self):
        return f"SELECT * FROM {self.table} WHERE " + " AND ".join(self.conditions)


async def archived(conn):
    return await conn.fetch(Query("items").where("archived_at IS NOT NULL").sql())
"""


@pytest.mark.xfail(strict=True, reason="a builder's conditions kept on self are not followed")
def test_a_chained_builder_without_the_pin_is_a_leak() -> None:
    assert _inv(BUILDER) == [(15, "TG001")]


def test_a_chained_builder_is_at_least_tg009() -> None:
    assert _inv(BUILDER) == [(15, "TG009")]


# Class 7: a `.sql` file that is a `str.format` template, `SELECT id FROM {table} WHERE
# company_id = $1`, read by `Path(__file__).with_name("t.sql").read_text().format(table=…)`:
# the Python call is checked with the text formatted (a leak there is found), but the file
# itself, checked as application SQL, was TG006 "cannot parse the statement: Expected table
# name but got `{`" — a warning on a file no one runs as it is. A brace outside quotes and
# comments is never PostgreSQL: such a statement is a template, noted once, not TG006.

TEMPLATE_PY = """\
from pathlib import Path

TPL = Path(__file__).with_name("t.sql").read_text()


async def pinned(conn, cid):
    return await conn.fetch(TPL.format(table="items"), cid)
"""


def test_a_sql_template_read_by_python_is_not_tg006(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "app/__init__.py": "",
        "app/q.py": TEMPLATE_PY,
        "app/t.sql": "SELECT id FROM {table} WHERE company_id = $1\n",
    }
    assert _project(tmp_path, files, capsys) == []


def test_a_sql_template_filled_with_a_leak_is_found_where_it_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "app/__init__.py": "",
        "app/q.py": TEMPLATE_PY,
        "app/t.sql": "SELECT id FROM {table} WHERE company_id = $1 OR true\n",
    }
    assert _project(tmp_path, files, capsys) == ["app/q.py:7:TG001"]


def test_a_statement_that_fails_without_a_template_brace_stays_tg006(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        # braces inside a string literal, a comment and a dollar quote are text
        "app/bad.sql": "SELECT id FROM items -- {x}\nWHERE tags = '{a}' AND $q${b}$q$ AND AND\n",
        "app/t.sql": "SELECT id FROM {table} WHERE company_id = $1;\nSELECT id FROM items;\n",
    }
    assert _project(tmp_path, files, capsys) == ["app/bad.sql:2:TG006", "app/t.sql:2:TG001"]
