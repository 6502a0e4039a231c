"""The engine's parser: one reused tokenizer and parser per thread give sqlglot's own trees."""

from __future__ import annotations

import threading

import pytest
import sqlglot
from sqlglot import exp

from tenantguard.engine.analyze import parse_statement
from tenantguard.engine.sqltext import normalize_placeholders, original_offset

STATEMENTS = [
    "SELECT * FROM patients WHERE tenant_id = $1",
    "SELECT * FROM patients WHERE",  # syntax error: leaves the parser mid-way
    "WITH m AS (SELECT * FROM appointments WHERE tenant_id = $1) SELECT * FROM m",
    "SELECT 'unterminated",  # tokenizer error
    "UPDATE leads SET name = $2 WHERE tenant_id = $1 AND id = $3",
    "INSERT INTO leads (tenant_id, name) VALUES ($1, $2) ON CONFLICT (tenant_id, name) DO NOTHING",
    "DELETE FROM chat_messages WHERE tenant_id = $1",
]


def reference(sql: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read="postgres")
    except sqlglot.errors.SqlglotError:
        return None


def test_reused_reader_gives_sqlglot_trees_and_recovers_after_errors() -> None:
    for _ in range(2):  # a second round runs every statement after an error has happened
        for sql in STATEMENTS:
            tree, _, error, _ = parse_statement(sql)
            expected = reference(sql)
            assert (tree is None) == (expected is None), sql
            assert (error is None) == (expected is not None), sql
            if expected is not None:
                assert tree == expected
                assert tree is not None and tree.sql("postgres") == expected.sql("postgres")


def test_each_thread_has_its_own_parser() -> None:
    """A parser holds state while it runs: threads (the runtime guard may run on several) must
    not share one. Interleaving rarely shows in practice, so the test checks the ownership."""
    from tenantguard.engine import analyze

    seen: dict[str, tuple[object, object]] = {}  # the objects: kept alive, ids stay apart

    def work(name: str) -> None:
        tree = parse_statement(STATEMENTS[0])[0]
        assert tree == reference(STATEMENTS[0])
        seen[name] = (analyze._READER.parser, analyze._READER.tokenizer)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    work("main")
    assert len(seen) == 4
    assert len({id(parser) for parser, _ in seen.values()}) == 4
    assert len({id(tokenizer) for _, tokenizer in seen.values()}) == 4


@pytest.mark.parametrize(
    "sql, normalized",
    [
        ("WHERE tenant_id = $1", "WHERE tenant_id = $1"),
        ("VALUES ($1,$2)", "VALUES ($1 ,$2 )"),
        ("IN ($10,$11::int)", "IN ($10 ,$11 ::int)"),
        ("SELECT x$1, a$b$2", "SELECT x$1, a$b$2"),  # part of an identifier
        ("SELECT $$1,$$", "SELECT $$1,$$"),  # inside a dollar quote's tag position
        ("$1,$2", "$1 ,$2"),
        ("no dollars", "no dollars"),
    ],
)
def test_tight_parameters_get_a_space_and_offsets_map_back(sql: str, normalized: str) -> None:
    text, inserted = normalize_placeholders(sql)
    assert text == normalized
    for offset, char in enumerate(text):
        if offset not in inserted:
            assert sql[original_offset(offset, inserted)] == char
