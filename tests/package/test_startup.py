"""Start-up: what a fresh process imports to check a file (pre-commit runs one per commit).

sqlglot is imported without the scan for dialect plugins (importlib.metadata), which it still
does for a dialect it does not ship; sqlglotc's version is read beside sqlglot's package.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from tenantguard._sqlglotc import compiled_mismatch, installed_version, versions_beside
from tenantguard.cli import _build_parser, main


def fresh(code: str, **env: str) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_the_proof_runs_without_importing_importlib_metadata() -> None:
    out = fresh(
        "import sys\n"
        "from tenantguard import Policy, analyze_statement\n"
        "import sqlglot\n"
        "v = analyze_statement('SELECT * FROM patients', Policy('tenant_id', {'patients'}))\n"
        "print([f.code for f in v.findings] == ['TG001'])\n"
        "print('importlib.metadata' in sys.modules)\n"
        "print(any(type(m).__name__ == '_DeferredMetadata' for m in sys.modules.values()))\n"
        "print(type(sqlglot.__loader__).__name__, type(sqlglot.__spec__.loader).__name__)\n"
    )
    assert out == ["True", "False", "False", "SourceFileLoader", "SourceFileLoader"]


def test_sqlglots_differ_is_imported_only_when_used() -> None:
    """`sqlglot.diff` (the function) works as sqlglot gives it, before and after its module is
    imported, and the module is imported only then."""
    out = fresh(
        "import sys\n"
        "from tenantguard import Policy, analyze_statement\n"
        "import sqlglot\n"
        "v = analyze_statement('SELECT * FROM patients', Policy('tenant_id', {'patients'}))\n"
        "print(type(sys.modules['sqlglot.diff']).__name__)\n"
        "import sqlglot.diff\n"
        "a, b = sqlglot.parse_one('SELECT a FROM t'), sqlglot.parse_one('SELECT b FROM t')\n"
        "print(type(sys.modules['sqlglot.diff']).__name__, len(sqlglot.diff(a, b)))\n"
        "print(sqlglot.diff.__module__, type(sys.modules['sqlglot.diff']).__name__)\n"
        "from sqlglot.diff import ChangeDistiller, Insert\n"
        "print(ChangeDistiller.__module__, len(sqlglot.diff(a, b)))\n"
    )
    assert out == [
        "_DeferredDiff",
        "_DeferredDiff",
        "5",
        "sqlglot.diff",
        "module",
        "sqlglot.diff",
        "5",
    ]


def test_dialect_plugins_are_still_found_by_entry_point(tmp_path: Path) -> None:
    (tmp_path / "tgplugin.py").write_text(
        "from sqlglot.dialects.postgres import Postgres\nclass Plugged(Postgres):\n    pass\n"
    )
    info = tmp_path / "tgplugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tgplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[sqlglot.dialects]\ntgplugin_sql = tgplugin:Plugged\n")
    out = fresh(
        "import sys, tenantguard\n"
        "from tenantguard.engine.analyze import parse_statement\n"
        "print('importlib.metadata' in sys.modules)\n"
        "from sqlglot.dialects.dialect import Dialect\n"
        "print(type(Dialect.get_or_raise('tgplugin_sql')).__name__)\n"
        "import importlib.metadata\n"
        "print(importlib.metadata.version('tgplugin'))\n",
        PYTHONPATH=str(tmp_path),
    )
    assert out == ["False", "Plugged", "1.0"]


def site(tmp_path: Path, compiled: bool, *dist_infos: tuple[str, str]) -> str:
    package = tmp_path / "sqlglot"
    package.mkdir()
    (package / "parser.py").write_text("")
    if compiled:
        (package / f"parser{EXTENSION_SUFFIXES[0]}").write_bytes(b"")
    for name, version in dist_infos:
        info = tmp_path / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return str(package)


@pytest.mark.parametrize(
    ("compiled", "dist_infos", "expected"),
    [
        (True, [("sqlglot", "30.30.0"), ("sqlglotc", "30.30.0")], ("30.30.0", "30.30.0")),
        (True, [("sqlglot", "30.31.0"), ("sqlglotc", "30.30.0")], ("30.31.0", "30.30.0")),
        (False, [("sqlglot", "30.31.0")], (None, None)),  # pure sqlglot: nothing to mismatch
        (True, [("sqlglot", "30.31.0")], None),  # compiled modules, no sqlglotc record: ask
        (True, [("sqlglot", "1"), ("sqlglot", "2"), ("sqlglotc", "1")], None),
    ],
)
def test_versions_are_read_beside_sqlglots_package(
    tmp_path: Path,
    compiled: bool,
    dist_infos: list[tuple[str, str]],
    expected: tuple[str | None, str | None] | None,
) -> None:
    assert versions_beside(site(tmp_path, compiled, *dist_infos)) == expected


def test_the_installed_versions_agree_with_importlib_metadata() -> None:
    pure, compiled = installed_version("sqlglot"), installed_version("sqlglotc")
    expected = None if pure is None or compiled is None or pure == compiled else (pure, compiled)
    assert compiled_mismatch() == expected


CHECK = """
import sys
from tenantguard.cli import main
code = main(sys.argv[1:])
heavy = (
    "tenantguard.sources.pyflow",
    "tenantguard.sources.python",
    "importlib.metadata",
    "shutil",  # argparse's formatter asks it for the terminal's width
)
print(code, *[name for name in heavy if name in sys.modules])
"""


def test_checking_sql_loads_nothing_of_pythons_machinery(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    (tmp_path / "q.sql").write_text("SELECT * FROM patients WHERE tenant_id = $1;\n")
    (tmp_path / "leak.sql").write_text("SELECT * FROM patients;\n")
    run = subprocess.run(
        [sys.executable, "-c", CHECK, "check", "--no-cache", "q.sql", "leak.sql"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.stdout.splitlines()[-1] == "1", run.stdout + run.stderr
    (tmp_path / "app.py").write_text('async def f(c):\n    await c.fetch("SELECT 1")\n')
    run = subprocess.run(
        [sys.executable, "-c", CHECK, "check", "--no-cache", "q.sql", "app.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    out = run.stdout.splitlines()[-1].split()
    assert out[0] == "0" and "tenantguard.sources.python" in out, run.stdout + run.stderr


PARSER = """
import sys
from tenantguard.cli import main
code = main(sys.argv[1:])
compiled = sys.modules["sqlglot.parser"].__file__.endswith(tuple(EXTENSION_SUFFIXES))
print(code, "compiled" if compiled else "pure")
""".replace("import sys", "import sys\nfrom importlib.machinery import EXTENSION_SUFFIXES")


def parser_used(tmp_path: Path, *files: str) -> tuple[str, str, str]:
    run = subprocess.run(
        [sys.executable, "-c", PARSER, "check", "--no-cache", "--format", "json", *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    *report, last = run.stdout.splitlines()
    found = json.loads("\n".join(report))["findings"]
    code, parser = last.split()
    return code, parser, json.dumps([(f["line"], f["column"], f["rule"]) for f in found])


def test_a_run_that_parses_little_imports_the_faster_parser_to_import(tmp_path: Path) -> None:
    """A few statements to check: sqlglot's pure-Python modules (~15 ms less to import than the
    compiled ones); more: the compiled ones when installed. The same findings either way."""
    (tmp_path / "pyproject.toml").write_text('[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    leaks = (
        "SELECT * FROM patients WHERE tenant_id = $1 OR true;\n"
        "SELECT p.* FROM patients p LEFT JOIN patients q ON q.tenant_id = $1;\n"
    )
    (tmp_path / "small.sql").write_text(leaks)
    filler = "".join(f"SELECT {i} FROM patients WHERE tenant_id = $1;\n" for i in range(300))
    (tmp_path / "large.sql").write_text(leaks + filler)
    code, parser, small = parser_used(tmp_path, "small.sql")
    assert (code, parser) == ("1", "pure")
    code, parser, large = parser_used(tmp_path, "large.sql")
    compiled = versions_beside(os.path.dirname(_sqlglot_package())) != (None, None)
    assert (code, parser) == (
        "1",
        "compiled" if compiled and compiled_mismatch() is None else "pure",
    )
    assert large == small and len(json.loads(small)) == 2


def _sqlglot_package() -> str:
    from importlib.machinery import PathFinder

    spec = PathFinder.find_spec("sqlglot")
    assert spec is not None and spec.origin is not None
    return spec.origin


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {v}": p for v, p in subcommands(sub).items()})
    return found


def test_the_parser_built_for_one_command_is_that_commands_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run builds its own command's arguments alone; its help and parsing are the same."""
    monkeypatch.setenv("COLUMNS", "100")
    full = subcommands(_build_parser())
    assert {"check", "explain", "patches", "patches lint", "rule", "init"} <= set(full)
    for name, parser in full.items():
        alone = subcommands(_build_parser(name.split()[0]))
        assert alone[name].format_help() == parser.format_help(), name
        others = [n for n in alone if n.split()[0] != name.split()[0]]
        kept = (argparse._HelpAction, argparse._SubParsersAction)
        assert all(isinstance(a, kept) for n in others for a in alone[n]._actions), name
    assert _build_parser().format_help() == _build_parser("check").format_help()


# internal classes without __eq__ or __repr__: nothing compares or prints them
UNCOMPARED = [
    ("tenantguard.cli", "_Group"),
    ("tenantguard.cli", "_Tally"),
    ("tenantguard.cache", "CheckCache"),
    ("tenantguard.cache", "SchemaCache"),
    ("tenantguard.report", "Style"),
    ("tenantguard.report", "Summary"),
    ("tenantguard.sources.files", "CheckOptions"),
    ("tenantguard.sources.files", "_Batch"),
    ("tenantguard.sources.schema.relations", "Relations"),
]


def test_the_uncompared_classes_are_plain_classes() -> None:
    """Every run builds them at import: as dataclasses they cost ~17 M instructions of a check
    of one file (~2 % of it), the generated methods compiled anew in each process."""
    import dataclasses
    import importlib

    for module, name in UNCOMPARED:
        assert not dataclasses.is_dataclass(getattr(importlib.import_module(module), name)), name


def test_the_dataclasses_without_eq_are_compared_nowhere_in_a_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A check, cold and from the cache, of SQL and Python files over a schema with a view and
    a function, serial and on 2 processes, with every one of them refusing to be compared."""
    import importlib

    def refuse(self: object, other: object) -> bool:
        raise AssertionError(f"{type(self).__name__} compared")

    for module, name in UNCOMPARED:
        cls = getattr(importlib.import_module(module), name)
        assert "__eq__" not in cls.__dict__ and "__repr__" not in cls.__dict__, name
        monkeypatch.setattr(cls, "__eq__", refuse, raising=False)
    monkeypatch.setattr("tenantguard.sources.files._PARALLEL_MIN_BYTES", 0)  # forks for 3 files
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tenantguard]\nschema_paths = ["schema"]\nglobal_tables = ["tenants"]\n'
    )
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "s.sql").write_text(
        "CREATE TABLE tenants (id int PRIMARY KEY);\n"
        "CREATE TABLE patients (id int, tenant_id int REFERENCES tenants (id));\n"
        "CREATE VIEW all_patients AS SELECT id, tenant_id FROM patients;\n"
        "CREATE FUNCTION patients_of(t int) RETURNS SETOF patients LANGUAGE sql "
        "AS $$ SELECT * FROM patients WHERE tenant_id = t $$;\n"
    )
    (tmp_path / "a.sql").write_text(
        "SELECT * FROM all_patients WHERE tenant_id = $1;\nSELECT * FROM patients;\n"
    )
    (tmp_path / "b.sql").write_text("SELECT * FROM patients_of($1);\n")
    (tmp_path / "c.py").write_text(
        'async def f(c, t):\n    await c.fetch("SELECT * FROM patients WHERE tenant_id = $1", t)\n'
    )
    for argv in (["check"], ["check"], ["check", "--no-cache", "--jobs", "2"]):
        assert main([*argv, "--format", "json"]) == 1
        found = json.loads(capsys.readouterr().out)["findings"]
        assert [(f["path"], f["line"], f["rule"]) for f in found] == [("a.sql", 2, "TG001")]


def test_the_command_patterns_are_tried_only_on_their_first_letters() -> None:
    """`_parse_statement` tries its three whole-statement patterns (a transaction's start,
    NOTIFY/LISTEN/UNLISTEN/RELEASE, a temporary staging table) only on a text whose first
    three characters after blanks, folded, are in `_COMMAND_STARTS`: every character that
    re.IGNORECASE takes for one of the first words' letters must fold to it."""
    import re
    import sys

    from sqlglot import exp

    from tenantguard.engine import analyze

    words = ("BEGIN", "START", "NOTIFY", "LISTEN", "UNLISTEN", "RELEASE", "CREATE")
    assert {word[:3].lower() for word in words} == analyze._COMMAND_STARTS
    for letter in {c for word in words for c in word[:3].lower()}:
        same = re.compile(letter, re.IGNORECASE)
        for code in range(sys.maxunicode + 1):
            if same.fullmatch(chr(code)):  # folded to the letter, as the pattern reads it
                assert chr(code).translate(analyze._FOLD).lower() == letter, hex(code)
    from tenantguard.engine.sqltext import BLANK

    blanks = {chr(c) for c in range(sys.maxunicode + 1) if re.fullmatch(BLANK, chr(c))}
    assert set(analyze._BLANKS) == blanks
    for text in (
        "  begin",
        "\tSTART TRANSACTION READ ONLY",
        "\nnotify ch, 'x'",
        "LISTEN ch",
        "unlisten *",
        "\x0brelea\u017fe savepoint a",  # the long s: re.IGNORECASE reads it as an s
        "L\u0130\u017fTEN ch",  # LISTEN, with a dotted I and a long s
        "CREATE TEMP TABLE s (a int) ON COMMIT DROP",
    ):
        assert type(analyze.parse_statement(text)[0]) is exp.Transaction, text


def test_argparse_messages_are_gettexts_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI answers argparse's gettext calls itself only when gettext could find no
    catalogue (the text domain's directory does not exist); otherwise gettext is asked."""
    import gettext

    from tenantguard.cli import _argparse_message, _argparse_plural

    domain = gettext.textdomain()
    before = gettext.bindtextdomain(domain)
    try:
        gettext.bindtextdomain(domain, str(tmp_path / "absent"))
        assert _argparse_message("usage: ") == gettext.gettext("usage: ") == "usage: "
        assert _argparse_plural("one %s", "many %s", 2) == gettext.ngettext("one %s", "many %s", 2)
        asked: list[str] = []

        def dgettext(domain: str, message: str) -> str:
            asked.append(message)
            return "translated"

        monkeypatch.setattr(gettext, "dgettext", dgettext)
        monkeypatch.setattr(gettext, "dngettext", lambda d, s, p, n: "translated plural")
        gettext.bindtextdomain(domain, str(tmp_path))  # exists: a catalogue could be there
        assert _argparse_message("usage: ") == "translated" and asked == ["usage: "]
        assert _argparse_plural("one %s", "many %s", 2) == "translated plural"
    finally:
        gettext.bindtextdomain(domain, before)
