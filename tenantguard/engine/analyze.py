"""The engine's entry points: one statement or one script in, findings out."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import replace

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.parser import Parser
from sqlglot.tokenizer_core import Token, TokenType
from sqlglot.tokens import Tokenizer

from tenantguard._collect import collections_paused, young_collections_less
from tenantguard._patterns import lazy_pattern
from tenantguard.engine import bulk_values
from tenantguard.engine.context import Context
from tenantguard.engine.findings import Finding, Severity
from tenantguard.engine.policy import Policy
from tenantguard.engine.rules import STATEMENT_RULES, tg006_unprovable_statement
from tenantguard.engine.search_path import without_comments
from tenantguard.engine.sqltext import (
    BLANK,
    NAME_CHAR,
    NAME_START,
    LineIndex,
    _skip_nested_comment,
    declared_query,
    normalize_placeholders,
    original_offset,
)
from tenantguard.engine.verdicts import Analyzer, Verdict  # here too: where they were first

_CLASS_NAME = lazy_pattern(r"<class 'sqlglot\.[\w.]*\.(\w+)'>")
# sqlglot's repr of a token in its messages: `<Token token_type: TokenType.WHERE, text: WHERE,
# line: 1, col: 20, start: 15, end: 19, comments: []>` -> `WHERE`
_TOKEN_REPR = lazy_pattern(r"<Token token_type: [\w.]+, text: (.*?), line: \d+, col: \d+.*?>")

__all__ = ["NOT_A_STATEMENT", "Analyzer", "Verdict", "analyze_statement", "parse_statement"]

_POSTGRES = Dialect.get_or_raise("postgres")


class _Reader:
    """One tokenizer and one parser per thread, reused for every statement.

    `Dialect.parse` builds both for each call (the tokenizer's compiled core takes some thirty
    tables); both reset themselves at the start of each run, so reusing them gives the same trees
    for about 15 % less time per statement. Not shared between threads: they hold state. Kept
    in a `threading.local` (not a subclass of it: compiled with mypyc, this is a native class,
    whose attributes are not per thread), made in each thread on its first use.
    """

    __slots__ = ("_local",)

    def __init__(self) -> None:
        self._local = threading.local()

    def _own(self) -> tuple[Tokenizer, Parser]:
        try:
            own: tuple[Tokenizer, Parser] = self._local.own
        except AttributeError:
            own = self._local.own = (_POSTGRES.tokenizer(), _POSTGRES.parser())
        return own

    @property
    def tokenizer(self) -> Tokenizer:
        return self._own()[0]

    @property
    def parser(self) -> Parser:
        return self._own()[1]

    def parse(self, text: str, thinned: bulk_values.Thinned | None = None) -> list[exp.Expr | None]:
        """`thinned`: the text without rows of a long VALUES list, to tokenize in its stead."""
        tokenizer, parser = self._own()
        source = text if thinned is None else thinned.text
        try:
            try:
                tokens = tokenizer.tokenize(source)
            except TokenError:
                if not source.endswith("''"):
                    raise
                # sqlglot takes a `$` for the start of a dollar-quote tag and, finding no `$`
                # before the end, raises where the text ends with `''`; a newline after it is
                # nothing to PostgreSQL and lets sqlglot back off (positions unchanged)
                tokens = tokenizer.tokenize(source + "\n")
            if thinned is not None:
                _move_tokens(tokens, text, thinned)
            if "@" in text and (at := _at_parameter(tokens)) is not None:
                raise _Misread(at, _AT_PARAMETER)
            plain = text.isascii()
            if not plain:  # ASCII text: each misreading below is an error to the server
                misread = _misread(text, tokens)
                if misread is not None:
                    raise _Misread(*misread)
            # the words that call for a second look, found in the lower-cased text when it is
            # ASCII (a case-insensitive pattern reads each character twice; the long s is an s to it)
            lower = source.lower() if plain else ""
            if ("lock" in lower or "qualify" in lower) if plain else _NAME_KEYWORDS.search(source):
                _keywords_as_names(tokens)
            using = "using" in lower if plain else _USING.search(source) is not None
            aliases = _join_using_aliases(tokens) if using else None
            if aliases:
                tokens = [t for i, t in enumerate(tokens) if i not in aliases.removed]
            trees = parser.parse(tokens, text)
            if aliases:
                _place_join_using_aliases(trees, aliases)
            if "+" in text:
                dropped = _unary_plus(tokens, trees)
                if dropped is not None:
                    raise _Misread(*dropped)
            if ("filter" in lower or "within" in lower) if plain else _CALL_CLAUSES.search(source):
                _qualified_calls(trees)
            return trees
        finally:
            parser.reset()  # do not keep the last statement's tokens alive


# the clauses PostgreSQL's grammar puts after a function's arguments besides OVER (which
# sqlglot reads as a window): `pg_catalog.count(*) FILTER (WHERE …)`, `s.mode() WITHIN GROUP
# (ORDER BY …)`. sqlglot reads a qualified call so followed as a column whose "name" is the call
# (`Column(this=Filter(…), table=pg_catalog)`): the proof, which never looks inside a column,
# would not see the calls and subqueries in it (a read of every tenant's rows, a volatile call)
_CALL_CLAUSES = lazy_pattern(r"filter|within", re.IGNORECASE)


def _qualified_calls(trees: list[exp.Expr | None]) -> None:
    """Rewrites each column whose name is not a name (a qualified call with FILTER or WITHIN
    GROUP) as the qualified expression sqlglot makes of a plain qualified call: a Dot."""
    for tree in trees:
        if tree is None:
            continue
        odd = [
            column
            for column in tree.find_all(exp.Column)
            if not isinstance(column.this, exp.Identifier | exp.Star)
        ]
        for column in odd:
            parts = [column.args.get(k) for k in ("catalog", "db", "table")]
            qualifier = [p for p in parts if isinstance(p, exp.Expression)]
            inner = column.this
            column.replace(exp.Dot.build([*(q.copy() for q in qualifier), inner.pop()]))


def _move_tokens(tokens: list[Token], text: str, thinned: bulk_values.Thinned) -> None:
    """Puts the tokens of the text without some rows where they stand in `text`: offsets, and
    the line and column of their last character (sqlglot's)."""
    lines = LineIndex(text)
    for token in tokens:
        token.start = thinned.shift(token.start)
        token.end = thinned.shift(token.end)
        token.line, token.col = lines.position(token.end)


# words sqlglot's tokenizer makes keywords of other dialects' clauses, which PostgreSQL reads as
# names: `lock` (an unreserved keyword: only `LOCK [TABLE] …` starts with it; sqlglot ends a
# GROUP BY or a FROM at it, for MySQL's `LOCK IN SHARE MODE`) and `qualify` (no keyword at all;
# Snowflake's clause)
_NAME_KEYWORDS = lazy_pattern(r"lock|qualify", re.IGNORECASE)


def _keywords_as_names(tokens: list[Token]) -> None:
    """Retypes those words as names where PostgreSQL has them as names: everywhere but a
    statement's first word (`LOCK TABLE t`)."""
    for index, token in enumerate(tokens):
        kind = token.token_type
        if kind is TokenType.QUALIFY or (kind is TokenType.LOCK and index > 0):
            token.token_type = TokenType.VAR


class _Misread(Exception):
    """Text that sqlglot's tokenizer reads otherwise than PostgreSQL's scanner."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


# the statements sqlglot's tokenizer keeps whole after their first word (`CALL`, `LOCK` …)
_COMMANDS = _POSTGRES.tokenizer_class.COMMANDS
# what may separate two tokens for the server: its blanks, `--` comments, nested `/* */` ones
_GAP = lazy_pattern(rf"(?:{BLANK}+|--[^\n\r]*)*")
_READ_ALIKE = frozenset(
    {
        TokenType.VAR,  # runs of letters (any script), digits, `_`, `$`: a name to both
        TokenType.IDENTIFIER,
        TokenType.STRING,
        TokenType.BYTE_STRING,
        TokenType.NATIONAL_STRING,
        TokenType.HEREDOC_STRING,
    }
)


def _misread(text: str, tokens: list[Token]) -> tuple[int, str] | None:
    """Where sqlglot's tokens of `text` differ from what PostgreSQL's scanner reads, and how.

    sqlglot takes every character `str.isspace()` accepts for a blank (U+00A0, U+3000, U+2028…)
    and looks words up as keywords through `str.upper()` (`a\u017f` is AS, `\u0131n` is IN); the server
    reads each character past ASCII as a letter of a name, and folds ASCII letters only. So
    `tenant_id AS\u00a0x` renames nothing to sqlglot, and `\u00a0$a$` is a name to the server,
    the start of a string to sqlglot. The statement the proof would read is not the one that
    runs: None only when the two read the same tokens.
    """
    end = 0
    previous: TokenType | None = None
    for token in tokens:
        if token.token_type is TokenType.STRING and previous in _COMMANDS:
            # `CALL …`, `REINDEX …`, `LOCK …`: sqlglot keeps the rest as one opaque command (its
            # positions are not the text's); what it names is the screen's to find (TG006)
            return None
        previous = token.token_type
        start = token.start
        while end < start:  # between two tokens: the server's blanks and comments only
            end = _GAP.match(text, end, start).end()  # type: ignore[union-attr]  # `…*` matches
            if end >= start:
                break
            if text.startswith("/*", end):
                after = _skip_nested_comment(text, end)
                if 0 <= after <= start:
                    end = after
                    continue
            char = text[end]
            return end, (
                f"{_describe(char)} outside a string or a quoted name is a blank to the analyzer but "
                "a letter of a name to PostgreSQL: the two would read different statements"
            )
        end = token.end + 1
        if token.token_type is TokenType.PARAMETER and text[start] == "$":
            if "0" <= text[end : end + 1] <= "9":
                continue  # `$1`: a parameter to both
            return start, (
                f"`{text[start : start + 8]}` opens a dollar-quoted string for PostgreSQL (its "
                "tag takes any non-ASCII letter) but not for the analyzer"
            )
        if token.token_type in _READ_ALIKE or text[start:end].isascii():
            continue
        return start, (
            f"`{text[start:end]}` is a name to PostgreSQL (it folds ASCII letters only) but the "
            f"keyword {token.token_type.name} to the analyzer: the two would read different "
            "statements"
        )
    return None


_USING = lazy_pattern("using", re.IGNORECASE)
# what may name a column in a USING list: a name, a quoted name, a keyword PostgreSQL takes as one
_WORD = lazy_pattern(r"[A-Za-z_][A-Za-z0-9_$]*\Z")


class _JoinUsingAliases:
    """`JOIN b USING (tenant_id) AS j` (PostgreSQL 14): sqlglot does not read the alias. Its two
    tokens are taken out before parsing and the alias put back on the join (`using_alias`)."""

    __slots__ = ("by_end", "removed")

    def __init__(self) -> None:
        self.removed: set[int] = set()  # token indexes of `AS j`
        self.by_end: dict[int, Token] = {}  # the USING list's last name's end: the alias token


def _join_using_aliases(tokens: list[Token]) -> _JoinUsingAliases | None:
    """Finds `USING ( name [, name …] ) AS alias` in the tokens: only a join's USING has a list
    of bare names in parentheses followed by AS (`MERGE … USING (t) AS s` and `DELETE … USING
    (t) AS s` are syntax errors to PostgreSQL; a subquery or VALUES holds more than names)."""
    found: _JoinUsingAliases | None = None
    using, l_paren, r_paren, comma = (
        TokenType.USING,
        TokenType.L_PAREN,
        TokenType.R_PAREN,
        TokenType.COMMA,
    )
    count = len(tokens)
    for i, token in enumerate(tokens):
        if (
            token.token_type is not using
            or i + 1 >= count
            or tokens[i + 1].token_type is not l_paren
        ):
            continue
        j = i + 2
        while j < count:
            name = tokens[j]
            if name.token_type is not TokenType.IDENTIFIER and not _WORD.match(name.text):
                break
            j += 1
            if j < count and tokens[j].token_type is comma:
                j += 1
                continue
            break
        if not (
            j + 2 < count
            and j > i + 2
            and tokens[j].token_type is r_paren
            and tokens[j + 1].token_type is TokenType.ALIAS
            and tokens[j + 2].token_type in (TokenType.VAR, TokenType.IDENTIFIER)
        ):
            continue
        if found is None:
            found = _JoinUsingAliases()
        found.removed.update((j + 1, j + 2))
        found.by_end[tokens[j - 1].end] = tokens[j + 2]
    return found


def _place_join_using_aliases(trees: list[exp.Expr | None], aliases: _JoinUsingAliases) -> None:
    """Puts each alias on the join whose USING list ends where the alias's list ended; an alias
    that lands on no join was no join's: fail closed (the text is read otherwise than it runs)."""
    placed = 0
    for tree in trees:
        if tree is None:
            continue
        for join in tree.find_all(exp.Join):
            using = join.args.get("using")
            if not using:
                continue
            end = using[-1].meta.get("end") if isinstance(using[-1], exp.Expression) else None
            token = aliases.by_end.get(end) if isinstance(end, int) else None
            if token is None:
                continue
            quoted = token.token_type is TokenType.IDENTIFIER
            join.set("using_alias", exp.Identifier(this=token.text, quoted=quoted))
            placed += 1
    if placed != len(aliases.by_end):
        token = next(iter(aliases.by_end.values()))
        raise _Misread(token.start, "an alias after a USING list that belongs to no join")


_AT_PARAMETER = (
    "`@` is an operator to PostgreSQL (`@ x` is abs(x)) but a parameter marker to the analyzer: "
    "the two would read different statements"
)


def _at_parameter(tokens: list[Token]) -> int | None:
    """Where sqlglot reads `@` as a parameter (`@2`, `@tenant_id`, like `$2`): PostgreSQL reads
    the absolute-value operator there, so `tenant_id = @tenant_id` selects every tenant."""
    for token in tokens:
        if token.token_type is TokenType.PARAMETER and token.text == "@":
            return token.start
    return None


# what a unary `+` gives its type to when PostgreSQL reads it: `+$1` is a double precision
# parameter (9007199254740993 = 9007199254740992), `+'…'` a double precision literal
_TYPED_BY_PLUS = frozenset(
    {
        TokenType.PARAMETER,
        TokenType.PLACEHOLDER,
        TokenType.STRING,
        TokenType.NATIONAL_STRING,
        TokenType.HEREDOC_STRING,
        TokenType.L_PAREN,
        TokenType.PLUS,
        TokenType.DASH,
    }
)


def _unary_plus(tokens: list[Token], trees: list[exp.Expr | None]) -> tuple[int, str] | None:
    """A unary `+` sqlglot dropped (it keeps no node for one) before what the `+` types:
    the tree would read `tenant_id = $1` where the server compares with `float8`. Each binary
    `+` is an `Add` node: fewer of those than `+` tokens means some `+` was unary."""
    plus = [i for i, t in enumerate(tokens) if t.token_type is TokenType.PLUS]
    adds = sum(1 for tree in trees if tree is not None for _ in tree.find_all(exp.Add))
    if len(plus) <= adds:
        return None
    for i in plus:
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        if after is not None and after.token_type in _TYPED_BY_PLUS:
            return tokens[i].start, (
                "a unary `+` before a parameter, a string or a parenthesis makes it double "
                "precision for PostgreSQL (two tenant ids may meet), and the analyzer drops it: "
                "remove the `+`, or cast the value to the tenant column's type"
            )
        if (
            after is not None
            and after.token_type is not TokenType.NUMBER
            and (i == 0 or tokens[i - 1].token_type in _BEFORE_AN_OPERAND)
        ):
            return tokens[i].start, (
                "a unary `+` before a column or a call is a function PostgreSQL runs on each "
                "row (int8up, numeric_uplus…), and the analyzer drops it: `+tenant_id = $1` "
                "costs more than the pin it reads and is no equality of the bare column "
                "(a condition that may fail runs first): remove the `+`"
            )
    return None


# tokens after which a `+` is unary: an operator, an opening parenthesis, a comma, a keyword
# that starts an expression (h37A: `WHERE +tenant_id = $1`)
_BEFORE_AN_OPERAND = frozenset(
    {
        TokenType.EQ, TokenType.NEQ, TokenType.GT, TokenType.GTE, TokenType.LT, TokenType.LTE,
        TokenType.L_PAREN, TokenType.COMMA, TokenType.PLUS, TokenType.DASH, TokenType.STAR,
        TokenType.SLASH, TokenType.MOD, TokenType.AND, TokenType.OR, TokenType.NOT,
        TokenType.WHERE, TokenType.SELECT, TokenType.ON, TokenType.WHEN, TokenType.THEN,
        TokenType.ELSE, TokenType.BETWEEN, TokenType.HAVING, TokenType.CASE, TokenType.IN,
        TokenType.SET, TokenType.RETURNING,
    }
)  # fmt: skip


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'a control character')})"


_READER = _Reader()

# sqlglot logs a warning for each statement it keeps opaque; the proof reports those itself.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


# a transaction's start with its modes, as asyncpg's Connection.transaction() writes it: sqlglot
# parses BEGIN and an isolation level, not READ ONLY/WRITE or DEFERRABLE (PostgreSQL's blanks)
_B = BLANK  # short, for the patterns below
_TRANSACTION_START = lazy_pattern(
    rf"{_B}*(?:BEGIN(?:{_B}+(?:WORK|TRANSACTION))?|START{_B}+TRANSACTION)"
    rf"(?:{_B}*,?{_B}*(?:ISOLATION{_B}+LEVEL{_B}+"
    rf"(?:SERIALIZABLE|REPEATABLE{_B}+READ|READ{_B}+(?:UN)?COMMITTED)"
    rf"|READ{_B}+(?:ONLY|WRITE)|(?:NOT{_B}+)?DEFERRABLE))*{_B}*;?{_B}*",
    re.IGNORECASE,
)


# COPY's options without WITH (`… TO STDOUT (FORMAT csv)`, as asyncpg's copy_from_query writes
# them): sqlglot parses them only after WITH. They choose a format, never rows
_COPY = lazy_pattern(rf"{BLANK}*COPY\b", re.IGNORECASE)
_COPY_OPTIONS = lazy_pattern(
    rf"\b(?:TO|FROM){_B}+(?:STDOUT|STDIN|'(?:[^']|'')*'){_B}*(\()", re.IGNORECASE
)


def _without_copy_options(text: str) -> str | None:
    """A COPY with its option list blanked (positions kept), or None when it has none."""
    targets = list(_COPY_OPTIONS.finditer(text))
    if not targets:
        return None
    start = pos = targets[-1].start(1)  # the last: the target follows the source (its query)
    depth = 0
    while pos < len(text):
        char = text[pos]
        if char in "'\"":
            end = text.find(char, pos + 1)
            while end >= 0 and text[end + 1 : end + 2] == char:  # '' and "" inside
                end = text.find(char, end + 2)
            if end < 0:
                return None
            pos = end
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                blank = "".join(c if c == "\n" else " " for c in text[start : pos + 1])
                return text[:start] + blank + text[pos + 1 :]
        pos += 1
    return None


def parse_statement(
    sql: str,
) -> tuple[exp.Expression | None, tuple[int, ...], str | None, int | None]:
    """Parses one statement: (tree, inserted offsets, error message, error offset)."""
    with young_collections_less():  # a large tree's nodes otherwise trigger many collections
        return _parse_statement(sql)


# notifications and savepoint releases, which sqlglot misreads or cannot read (`NOTIFY ch,
# 'payload'`, `UNLISTEN *`, `RELEASE SAVEPOINT a`): they read no rows (a payload is a literal)
_NAME = rf'(?:{NAME_START}{NAME_CHAR}*|"(?:[^"]|"")+")'
_SESSION_CONTROL = lazy_pattern(
    rf"{_B}*(?:NOTIFY{_B}+{_NAME}(?:{_B}*,{_B}*'(?:[^']|'')*')?|LISTEN{_B}+{_NAME}"
    rf"|UNLISTEN{_B}+(?:{_NAME}|\*)|RELEASE(?:{_B}+SAVEPOINT)?{_B}+{_NAME}){_B}*;?{_B}*",
    re.IGNORECASE,
)


# a temporary table dropped at commit (a staging table for a bulk load): made empty, it reads no
# rows and outlives nothing — neither a schema change nor a read. Not `AS` a query, not INHERITS
# or PARTITION OF (a table's rows), nothing but its column list (`LIKE t` copies no rows)
_STAGING_INSIDE = lazy_pattern(r"\b(?:INHERITS|PARTITION|SELECT|AS)\b|\$|'", re.IGNORECASE)
_STAGING_TABLE = lazy_pattern(
    rf"{_B}*CREATE{_B}+(?:(?:GLOBAL|LOCAL){_B}+)?TEMP(?:ORARY)?{_B}+TABLE{_B}+"
    rf"(?:IF{_B}+NOT{_B}+EXISTS{_B}+)?{_NAME}{_B}*\([^;]*\){_B}*ON{_B}+COMMIT{_B}+DROP"
    rf"{_B}*;?{_B}*",
    re.IGNORECASE,
)


# the first three letters of the first words of the three patterns above (BEGIN, START; NOTIFY,
# LISTEN, UNLISTEN, RELEASE; CREATE), folded as re.IGNORECASE folds them (U+017F, the long s,
# is an s to it; U+0130 and U+0131, the dotted and dotless i, are i's): a statement starting
# otherwise after its blanks is none of them, and is not tried against them (a one-statement
# check does not compile them: ~1.2 ms)
_COMMAND_STARTS = frozenset({"beg", "sta", "not", "lis", "unl", "rel", "cre"})
_FOLD = str.maketrans({"\u017f": "s", "\u0130": "i", "\u0131": "i"})
_BLANKS = " \t\n\r\f\v"  # BLANK's characters


def _parse_statement(
    sql: str, policy: Policy | None = None
) -> tuple[exp.Expression | None, tuple[int, ...], str | None, int | None]:
    """`policy`: given, the rows of a long VALUES list that bring nothing new to its proof are
    left out of the tree (bulk_values)."""
    if policy is not None and len(sql) >= bulk_values.MINIMUM:
        thinned = bulk_values.thin_rows(sql, policy)
        if thinned is not None:
            # the tokens of the text without those rows are put where they stand in `sql`:
            # the tree's positions are the statement's as written (nothing inserted)
            short, inserted = normalize_placeholders(thinned.text)
            thinned = thinned._replace(text=short, inserted=inserted)
            parsed = _parse_text(sql, (), thinned)
            if parsed[0] is not None:
                bulk_values.number_rows(parsed[0], thinned)
                return parsed
            # an error: said as for the statement read as written, row by row
    text, inserted = normalize_placeholders(sql)
    if text.lstrip(_BLANKS)[:3].translate(_FOLD).lower() in _COMMAND_STARTS and (
        _TRANSACTION_START.fullmatch(text)
        or _SESSION_CONTROL.fullmatch(text)
        or (_STAGING_TABLE.fullmatch(text) and not _STAGING_INSIDE.search(text))
    ):
        return exp.Transaction(), inserted, None, None  # reads no rows, whatever its modes
    parsed = _parse_text(text, inserted)
    tree = parsed[0]
    if type(tree) is exp.Command and str(tree.this).upper() == "DECLARE":
        return _declared_query(text, inserted) or parsed
    if isinstance(tree, NOT_A_STATEMENT):
        return _misread_command(text, inserted) or parsed
    if tree is None and parsed[2] is not None:  # a syntax error: a command sqlglot cannot read?
        again = _second_reading(text, inserted)
        if again is not None:
            return again
        return _misread_command(text, inserted, _UNPARSED_WORDS) or parsed
    return parsed


def _second_reading(
    text: str, inserted: tuple[int, ...]
) -> tuple[exp.Expression | None, tuple[int, ...], str | None, int | None] | None:
    """PostgreSQL forms sqlglot cannot parse, read again (h32n), by their tokens (never inside
    a string, a quoted name or a comment), positions kept:

    - `INSERT … OVERRIDING {SYSTEM | USER} VALUE`: it lets the INSERT give (or not) an identity
      column's value, never another tenant's row: blanked;
    - `LATERAL ROWS FROM (…)`: a function in FROM sees the items before it with or without
      LATERAL, so the word is blanked;
    - `WHERE CURRENT OF c`: the row a cursor declared by another statement stands on, which
      no reading of this one shows: an error that says what to write instead.

    None when none of them is there (or the text read again still fails)."""
    try:
        tokens = _READER.tokenizer.tokenize(text)
    except SqlglotError:
        return None
    words = [
        (t.token_type.name, t.text.upper() if t.token_type.name != "IDENTIFIER" else "")
        for t in tokens
    ]
    blanks: list[tuple[int, int]] = []
    for at, (kind, word) in enumerate(words):
        following = [w for _, w in words[at + 1 : at + 3]]
        if kind == "VAR" and word == "OVERRIDING" and len(following) == 2:
            if (
                following[0] in ("SYSTEM", "USER")
                and following[1] == "VALUE"
                and all(k == "VAR" for k, _ in words[at + 1 : at + 3])
                and words[0][0] in ("INSERT", "WITH")
            ):
                blanks.append((tokens[at].start, tokens[at + 2].end))
        elif kind == "LATERAL" and following[:2] == ["ROWS", "FROM"]:
            blanks.append((tokens[at].start, tokens[at].end))
        elif kind == "WHERE" and following == ["CURRENT", "OF"]:
            message = (
                "WHERE CURRENT OF acts on the row a cursor declared by another statement stands "
                "on, which this statement does not show to be the tenant's: fetch the row's "
                "key and write WHERE id = $2 AND tenant_id = $1 instead"
            )
            return None, inserted, message, original_offset(tokens[at].start, inserted)
    if not blanks:
        return None
    chars = list(text)
    for start, end in blanks:
        for position in range(start, end + 1):
            if chars[position] != "\n":
                chars[position] = " "
    parsed = _parse_text("".join(chars), inserted)
    return parsed if parsed[0] is not None else None


# what sqlglot makes of a text it reads as a bare expression, not a statement (`SELEC * FRM x`
# is an alias of a product, `CLUSTER patients` an alias of a column)
NOT_A_STATEMENT = (exp.Condition, exp.Alias, exp.Tuple, exp.Star, exp.Identifier)
# the first word of a statement, after its blanks and comments (`without_comments`)
_FIRST_WORD = lazy_pattern(rf"{_B}*([A-Za-z]+)\b")
# the words PostgreSQL's statements start with (its grammar's `stmt`): any other first word is
# a syntax error to the server
_STATEMENT_WORDS = frozenset(
    """abort alter analyse analyze begin call checkpoint close cluster comment commit copy
    create deallocate declare delete discard do drop end execute explain fetch grant import
    insert listen load lock merge move notify prepare reassign refresh reindex release reset
    revoke rollback savepoint security select set show start table truncate unlisten update
    vacuum values with""".split()  # noqa: SIM905 - a word list reads better as text
)
# the statements sqlglot has no grammar for, which it may fail to read at all (`CLUSTER
# patients USING i`, `REASSIGN OWNED BY a TO b`, `MOVE NEXT FROM c`): a syntax error to it is
# no error to the server, and the command's findings (TG007, a tenant table named: TG006) hold
_UNPARSED_WORDS = frozenset(
    """abort checkpoint close cluster deallocate discard import move reassign savepoint
    security""".split()  # noqa: SIM905
)


def _misread_command(
    text: str, inserted: tuple[int, ...], words: frozenset[str] = _STATEMENT_WORDS
) -> tuple[exp.Expression | None, tuple[int, ...], str | None, int | None] | None:
    """A command sqlglot does not know, read as an expression: `CLUSTER patients` is `CLUSTER
    AS patients` to it (a column and its alias), `ANALYSE patients` too, `CHECKPOINT` a column —
    no table in the tree, so the proof saw none (round 29: clinic 1's `CLUSTER patients` held
    every clinic's reads of patients). PostgreSQL has no statement that is an expression: such
    a text starting with the word of one of its statements is kept as the opaque command it
    is, so that what it names is the screen's to find (TG006) as for any command sqlglot keeps
    whole (`VACUUM`, `LOCK`).
    None when the text does not start with such a command's word (then it stays as sqlglot
    read it: `SELEC * FRM x` is a syntax error to the server, and not proven). `words`: the
    first words taken (for a text sqlglot could not read at all, `_UNPARSED_WORDS`)."""
    bare = without_comments(text)
    first = _FIRST_WORD.match(bare)
    if first is None or first.group(1).lower() not in words:
        return None
    rest = bare[first.end() :].strip()
    command = exp.Command(this=first.group(1).upper(), expression=exp.Literal.string(rest))
    return command, inserted, None, None


def _declared_query(
    text: str, inserted: tuple[int, ...]
) -> tuple[exp.Expression | None, tuple[int, ...], str | None, int | None] | None:
    """`DECLARE c … CURSOR … FOR query`, which sqlglot keeps opaque: the query, parsed where it
    stands (the words before it blanked, so that positions hold), and proven as any query is
    (a `U&"…"` name in it is TG006's, as anywhere). None — the statement stays opaque — when
    the words before it are not read as the server reads them."""
    query = declared_query(text)
    return None if query is None else _parse_text(query, inserted)


def _parse_text(
    text: str, inserted: tuple[int, ...], thinned: bulk_values.Thinned | None = None
) -> tuple[exp.Expression | None, tuple[int, ...], str | None, int | None]:
    try:
        trees = [t for t in _READER.parse(text, thinned) if isinstance(t, exp.Expression)]
    except RecursionError:
        return None, inserted, "nested too deeply to analyse", None
    except _Misread as misread:
        return None, inserted, misread.message, original_offset(misread.offset, inserted)
    except ParseError as error:
        if _COPY.match(text) and (plain := _without_copy_options(text)) is not None:
            try:  # once, as it is: what still fails is reported as the text was written
                again = [t for t in _READER.parse(plain) if isinstance(t, exp.Expression)]
            except (SqlglotError, _Misread, RecursionError):
                again = []
            if len(again) == 1:
                return again[0], inserted, None, None
        detail = error.errors[0] if error.errors else {}
        message = "syntax error: " + _TOKEN_REPR.sub(
            lambda m: f"`{m.group(1)}`",
            _CLASS_NAME.sub(
                lambda m: m.group(1).upper(),
                str(detail.get("description") or error).split("\n")[0],
            ),
        )
        offset = _error_offset(text, detail)
        return (
            None,
            inserted,
            message,
            None if offset is None else original_offset(offset, inserted),
        )
    except TokenError as error:
        return None, inserted, f"cannot tokenize: {str(error).splitlines()[0][:200]}", None
    except SqlglotError as error:
        return None, inserted, str(error).splitlines()[0][:200], None
    except Exception as error:  # a parser bug must not take the caller down: fail closed
        return None, inserted, f"the SQL parser failed ({type(error).__name__})", None
    if len(trees) != 1:
        return None, inserted, "expected one statement" if trees else "empty statement", None
    if "%(" in text:
        _python_keys(trees[0], text)
    return trees[0], inserted, None, None


def _python_keys(tree: exp.Expression, text: str) -> None:
    """Names each `%(key)s` placeholder by the key Python's `%` formatting reads — every
    character between `%(` and `)`, which the driver (psycopg2's pyformat) looks up in the
    caller's dict —, not by the identifier sqlglot reads there: `%(tenant )s`, `%( tenant)s`,
    `%("tenant")s` and `%(/**/tenant)s` are four keys besides `%(tenant)s` (sqlglot skips the
    blanks, comments and quotes). A placeholder whose place is unknown is a key of its own."""
    for node in tree.find_all(exp.Placeholder):
        name = node.this
        if not isinstance(name, exp.Identifier):
            continue
        start, end = name.meta.get("start"), name.meta.get("end")
        opening = text.rfind("%(", 0, start) if isinstance(start, int) else -1
        closing = text.find(")", end + 1) if isinstance(end, int) and opening >= 0 else -1
        if opening < 0 or closing < 0:
            key = f"{name.this} at {id(node)}"
        else:
            key = text[opening + 2 : closing]
        if key != name.this or name.quoted:
            node.set("this", exp.Identifier(this=key, quoted=True))


def _error_offset(text: str, detail: dict[str, object]) -> int | None:
    line, column = detail.get("line"), detail.get("col")
    if not isinstance(line, int) or not isinstance(column, int):
        return None
    offset = 0
    for _ in range(line - 1):
        newline = text.find("\n", offset)
        if newline < 0:
            return None
        offset = newline + 1
    return max(0, offset + column - 1)


def _run_rules(ctx: Context, *, skip_by_needs: bool = True) -> list[Finding]:
    findings: list[Finding] = []
    try:
        proof = ctx.proof
        for rule in STATEMENT_RULES:
            assert rule.check is not None
            if (
                skip_by_needs
                and rule.needs
                and (proof is None or rule.needs.isdisjoint(proof.index))
            ):
                continue  # none of the nodes it looks at: it would find nothing
            findings.extend(rule.check(ctx))
    except RecursionError:
        return _unprovable(ctx, "nested too deeply to analyse")
    except Exception as error:  # a bug in a rule fails closed on this statement only
        return _unprovable(ctx, f"internal error in the proof ({type(error).__name__}: {error})")
    return findings


def _unprovable(ctx: Context, reason: str) -> list[Finding]:
    """TG006 for the whole statement, as an error: what cannot be proven does not pass."""
    ctx.tree = None
    ctx.parse_error = reason
    return [replace(f, severity=Severity.ERROR) for f in tg006_unprovable_statement.check(ctx)]


_LARGE = 16_384  # characters: a statement whose tree collections would walk many times


def analyze_statement(sql: str, policy: Policy, *, in_patch: bool = False) -> Verdict:
    """Runs every rule on one statement. Positions are relative to `sql`."""
    # the proof of a large statement allocates while its tree is young: with the default
    # threshold, collections walking that tree took half the proof's time (2 000-branch UNION);
    # past _LARGE characters none runs until the verdict is made (its tree is alive to the end,
    # what the proof drops meanwhile is freed by reference counts)
    if len(sql) > _LARGE:
        with collections_paused():
            return _analyze_statement(sql, policy, in_patch)
    with young_collections_less():
        return _analyze_statement(sql, policy, in_patch)


def _analyze_statement(sql: str, policy: Policy, in_patch: bool) -> Verdict:
    tree, inserted, error, error_offset = _parse_statement(sql, policy)
    ctx = Context(sql, policy, tree, inserted, error, error_offset, in_patch)
    findings = _run_rules(ctx)
    proof = ctx.proof if ctx.tree is not None else None
    try:
        # each value once (a VALUES list gives one per row)
        pins = tuple(dict.fromkeys(proof.pin_values())) if proof is not None else ()
    except RecursionError:
        pins = ()
    touches = (
        proof.names_tenant_table
        if proof
        else ctx.may_name_tenant_table and bool(ctx.named_tenant_tables)
    )
    # a pin value asks for one tenant's rows even where no tenant table is named (a function
    # pinned by its arguments, `rows_of($1)`): the guard compares it with the request's tenant
    touches = touches or bool(pins)
    # the registry's row of one tenant, written with actions that reach tenant tables: its
    # value pins the statement as much as a tenant column's
    cascading = ctx.cascading_writes
    if cascading:
        touches = True
        pins += tuple(w.pin for w in cascading if w.pin is not None and w.pin not in pins)
    # and so is the registry's row of one tenant, written or locked (round 26: clinic 1
    # renamed clinic 2 and held its row FOR UPDATE)
    if policy.tenant_root is not None:
        registry = ctx.registry_writes
        if registry:
            touches = True
            pins += tuple(w.pin for w in registry if w.pin is not None and w.pin not in pins)
    ctx.release()
    return Verdict(tuple(findings), pins, touches or bool(findings), tree is not None)
