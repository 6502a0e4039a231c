"""What a rule sees of one statement: its text, its tree, the proof, the policy."""

from __future__ import annotations

import re

from sqlglot import exp

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.cascades import CascadingWrite, cascading_writes, root_writes
from tenantguard.engine.findings import Finding, Rule, RuleInfo, Severity, rule_of
from tenantguard.engine.policy import Policy, names_in_text
from tenantguard.engine.proof import Analysis, PinValue, Proof, build_proof, walk
from tenantguard.engine.proof.facts import SEVERAL, SHARED
from tenantguard.engine.sqltext import LineIndex, original_offset

__all__ = ["Context", "Rule", "RuleInfo", "rule_of"]

# a catalog relation (`pg_class`, `information_schema.columns`), a name-valued SQL function
_CATALOG_WORDS = ("pg_", "information_schema", "current_", "session_user", "user")
_CATALOG_SCREEN = lazy_pattern(
    r"pg_|information_schema|current_|session_user|\buser\b", re.IGNORECASE
)

# an unquoted identifier (a letter of any script or `_`, then letters, digits, `_`, `$`)


class _Unset:
    """The type of `_UNSET`: not computed yet."""


_UNSET = _Unset()
_NOT_ONE_TENANT = (SEVERAL, SHARED)  # pins of no single tenant


class Context:
    """One statement under analysis.

    `in_patch` is true for statements of the schema patch pipeline, where maintenance spans
    tenants: query rules stay silent there and patch rules speak.
    """

    # a plain class with its own __init__ (not a dataclass), as the proof's records
    # (proof/model.py): compiled, mypyc makes it a native class, and a dataclass's fields set
    # by no __init__ (`init=False`) would be left unset there
    __slots__ = (
        "_built",
        "_cascading",
        "_lines",
        "_may_name",
        "_named",
        "_registry",
        "in_patch",
        "inserted",
        "lowered",
        "parse_error",
        "parse_error_offset",
        "policy",
        "sql",
        "tree",
    )

    def __init__(
        self,
        sql: str,
        policy: Policy,
        tree: exp.Expression | None,
        inserted: tuple[int, ...] = (),
        parse_error: str | None = None,
        parse_error_offset: int | None = None,
        in_patch: bool = False,
        _lines: LineIndex | None = None,
    ) -> None:
        self.sql = sql
        # the text folded to lower case, for substring screens: read a dozen times per
        # statement, computed here (a property is a call per read on Python 3.11)
        self.lowered = sql.lower()
        self.policy = policy
        self.tree = tree
        self.inserted = inserted
        self.parse_error = parse_error
        self.parse_error_offset = parse_error_offset
        self.in_patch = in_patch
        self._lines = _lines
        # computed on first use (functools.cached_property takes a lock per access on Python
        # 3.11: measurable at a dozen accesses per statement; and a compiled class has no
        # `__dict__` to keep its value in)
        self._built: tuple[Proof, Analysis] | _Unset | None = _UNSET
        self._may_name: bool | None = None
        self._cascading: list[CascadingWrite] | None = None
        self._registry: list[CascadingWrite] | None = None
        self._named: list[str] | None = None

    def __repr__(self) -> str:
        return (
            f"Context(sql={self.sql!r}, policy={self.policy!r}, tree={self.tree!r}, "
            f"inserted={self.inserted!r}, parse_error={self.parse_error!r}, "
            f"parse_error_offset={self.parse_error_offset!r}, in_patch={self.in_patch!r})"
        )

    @property
    def _proof(self) -> tuple[Proof, Analysis] | None:
        built = self._built
        if isinstance(built, _Unset):
            built = None
            if self.tree is not None and self.may_name_tenant_table:
                catalog = self.may_read_catalog
                built = build_proof(
                    self.tree,
                    self.policy.catalog_typed() if catalog else self.policy,
                    lossy_columns=catalog or self.may_name_lossy_column,
                )
            self._built = built
        return built

    def release(self) -> None:
        """The proof's records freed now (the verdict is made): see `Analysis.release`."""
        built = self._built
        if not isinstance(built, _Unset) and built is not None:
            built[1].release()

    @property
    def may_read_catalog(self) -> bool:
        """Whether the text may read a column of PostgreSQL's catalogs or a name-valued SQL
        function (`current_user`…): a parameter compared with one is a `name` or `"char"`
        (a substring screen; the proof then holds such columns lossy)."""
        folded = self.lowered  # substrings first: the regex scans the whole text
        if not any(word in folded for word in _CATALOG_WORDS):
            return False
        return _CATALOG_SCREEN.search(self.sql) is not None

    @property
    def may_name_lossy_column(self) -> bool:
        """False only when no column of a lossy type (`policy.lossy_columns`) is named in the
        text, folded or quoted (a substring screen: the proof then walks no columns)."""
        names = self.policy.lossy_columns
        if not names:
            return False
        lowered = self.lowered
        return self.may_spell_names or any(name.lower() in lowered for name in names)

    @property
    def may_spell_names(self) -> bool:
        """A `U&"…"` identifier can spell any table name with escapes: assume it names one."""
        return 'u&"' in self.lowered

    @property
    def may_name_tenant_table(self) -> bool:
        """False only when no tenant table's name occurs in the text as a word or a quoted
        identifier (`named_tenant_tables`): the proof has nothing to do.

        A set intersection, whose cost does not grow with the number of tenant tables (a live
        catalog has thousands); a `U&"…"` identifier can spell a name with escapes, so its
        presence always means yes.
        """
        if self._may_name is None:
            sql = self.sql
            lowered = self.lowered
            needles = self.policy.tenant_table_needles
            if needles is not None and sql.isascii():
                # a name that occurs as a word occurs as a substring: a few `in` tests decide
                # (a substring that is no word only costs a proof that finds nothing)
                named = any(n in lowered for n in needles)
            else:
                named = bool(self.named_tenant_tables)
            self._may_name = (
                'u&"' in lowered
                or named
                or any(f in lowered for f in self.policy.pinning_function_needles)
                # a write through a view over a tenant table (TG002-TG004 read the proof)
                or any(v.lower() in lowered for v in self.policy.write_views)
            )
        return self._may_name

    @property
    def proof(self) -> Proof | None:
        built = self._built  # (built already, the rules' many reads: no second property call)
        if isinstance(built, _Unset):
            built = self._proof
        return built[0] if built else None

    @property
    def builder(self) -> Analysis | None:
        built = self._built
        if isinstance(built, _Unset):
            built = self._proof
        return built[1] if built else None

    def find(self, *kinds: type[exp.Expression]) -> list[exp.Expression]:
        """Nodes of these kinds in the statement (from the proof's single walk)."""
        proof = self.proof
        return proof.find(*kinds) if proof is not None else []

    def inserts_and_updates(self) -> list[exp.Expression] | None:
        """The tree's INSERT and UPDATE nodes as `tree.find_all(exp.Insert, exp.Update)` gives
        them, read from the proof's walk instead of a walk of the tree of their own; None when
        that cannot be told so (no proof: walk the tree).

        The proof's walk (`proof.blocks.Model._walk`) visits every node of the tree but the
        inside of leaves (`PRUNED`: columns, names, literals, parameters, types — where sqlglot
        puts no statement), and indexes each INSERT and UPDATE node (of these kinds or of any
        subclass: `_INDEXED_TYPES`) under its exact type; TG002 and TG004 are skipped on the
        same index (`Rule.needs`). So every node `find_all` would give is in the index. Its
        order is not `find_all`'s (breadth first): with none or one node there is only one
        order; with two or more, None (the caller walks, and its findings keep their order)."""
        proof = self.proof
        if proof is None:
            return None
        found = [
            node
            for kind, nodes in proof.index.items()
            if issubclass(kind, (exp.Insert, exp.Update))
            for node in nodes
        ]
        return found if len(found) < 2 else None

    @property
    def cascading_writes(self) -> list[CascadingWrite]:
        """DELETEs and UPDATEs whose foreign-key actions reach tenant tables."""
        if self._cascading is None:
            self._cascading = (
                [] if self.tree is None else cascading_writes(self.tree, self.sql, self.policy)
            )
        return self._cascading

    @property
    def registry_writes(self) -> list[CascadingWrite]:
        """The tenant registry's UPDATEs, DELETEs and row locks, each with its key's pin (see
        `cascades.root_writes`): read by TG005 and by the verdict's pins."""
        if self._registry is None:
            self._registry = (
                []
                if self.tree is None
                else root_writes(self.tree, self.sql, self.policy, self._locked_pin)
            )
        return self._registry

    def _locked_pin(self, table: exp.Table) -> PinValue | None:
        """The one tenant the proof pins a registry table's rows to, along a chain of facts
        each said where the rows are (a pin pushed in from a reader may never reach a locking
        block's own scan: none), or None."""
        built = self._proof
        if built is None:
            return None
        current = built[1].model.source_of_node.get(id(table))
        seen: set[int] = set()
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            fact = current.pinned_by
            if fact is None or fact.pushed or fact.multi or fact.null_safe or fact.via_key:
                return None
            value = fact.value
            if value is not None:
                return None if value in _NOT_ONE_TENANT else value
            current = fact.other
        return None

    @property
    def named_tenant_tables(self) -> list[str]:
        """Tenant tables whose names appear in the raw text as words (as written and folded:
        PostgreSQL folds ASCII letters only) or, for names that are no words, as the text of
        a quoted identifier."""
        if self._named is None:
            # `U&"…"` escapes are the screen's business (may_spell_names): not every table here
            self._named = sorted(names_in_text(self.sql, self.policy.tenant_tables, escapes=False))
        return self._named

    # positions

    def position(self, offset: int) -> tuple[int, int]:
        if self._lines is None:
            self._lines = LineIndex(self.sql)
        return self._lines.position(max(0, min(offset, len(self.sql))))

    def span_of(self, node: exp.Expression | None) -> tuple[int, int] | None:
        """Offsets (in `sql`) of the identifiers of `node`; None when sqlglot kept none."""
        if node is None:
            return None
        start: int | None = None
        end = 0
        for child in walk(node):
            # identifiers, and function names (sqlglot keeps no identifier for those)
            meta = child.meta if isinstance(child, exp.Identifier | exp.Anonymous) else None
            if meta and "start" in meta:
                s = original_offset(int(meta["start"]), self.inserted)
                e = original_offset(int(meta["end"]), self.inserted) + 1
                start = s if start is None else min(start, s)
                end = max(end, e)
        return None if start is None else (start, end)

    def finding(
        self,
        rule: RuleInfo,
        node: exp.Expression | None,
        message: str,
        help: str,
        *,
        offset: int | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        span = self.span_of(node) if offset is None else (offset, offset + 1)
        start, end = span if span else (0, max(1, len(self.sql.split("\n", 1)[0])))
        line, column = self.position(start)
        end_line, end_column = self.position(end)
        return Finding(
            rule.code,
            rule.name,
            severity or rule.severity,
            message,
            help,
            line,
            column,
            end_line,
            end_column,
            statement=self.sql,
        )
