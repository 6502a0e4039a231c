"""Types, domains, casts and operators (`_Types`): the traits of columns (loose, lossy, exact,
generated, copied, defaults), the volatility of functions and views, the calls a column's
default or type makes, settled once every file is read.

A layer of `SchemaInfo` on `state`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from sqlglot import exp

from tenantguard.sources.schema.nodes import (
    _DEEPEST_VIEW,
    _EXACT_BASES,
    _PINNING,
    BUILTIN_TYPES,
    _called_or_cast,
    _domain_base,
    _enum,
    _output_name,
    _parsed,
    _relname,
    _row_calls,
    _schema_of,
    _star,
    _strings,
    _type_key,
    stable_names,
)
from tenantguard.sources.schema.records import SchemaProblem, _Volatility
from tenantguard.sources.schema.state import _State


class _Types(_State):
    """Types, domains, casts and operators, and the column traits they give."""

    def _of_domain(self, table: str, column: str, type_name: Any) -> None:
        """Notes (or forgets) that a column is of a domain: it may take the domain's default."""
        domain = _type_key(type_name)
        if domain.rstrip("[]") in self._domain_defaults:
            # an array of a domain (`leaky_dom[]`) runs the domain's CHECK on each element it
            # is given (round 15); it takes no default of the domain's (settled below)
            self._column_domains[(table, column)] = domain
        else:
            self._column_domains.pop((table, column), None)

    def _copy_traits(self, source: str, table: str) -> None:
        for column, traits in self.traits.get(source, {}).items():
            self.traits.setdefault(table, {}).setdefault(column, set()).update(traits)
        if source in self._row_slots:  # (LIKE, INHERITS: the columns' types come along)
            self._row_slots.setdefault(table, set()).update(self._row_slots[source])

    def _slot(self, owner: str, type_name: Any) -> None:
        """A column of `owner` (or an attribute) declared of `type_name`: remembered when it
        may be a row type (no built-in type), arrays aside."""
        names = list(_strings(getattr(type_name, "names", None) or ()))
        if not names or (len(names) == 1 and names[0] in BUILTIN_TYPES):
            return
        if len(names) > 1 and names[0] == "pg_catalog":
            return
        self._row_slots.setdefault(owner, set()).add(names[-1])

    def _drop_traits(self, table: str, column: str | None, trait: str | None = None) -> None:
        """Forgets a trait (all: None) of a column (all: None) of a table and its descendants."""
        for changed in (table, *self._descendants(table)):
            found = self.traits.get(changed)
            if found is None:
                continue
            for name in [column] if column is not None else list(found):
                if trait is None:
                    found.pop(name, None)
                elif name in found:
                    found[name].discard(trait)

    def _copy_generated(self, source: str, table: str, *, expressions: bool) -> None:
        """`table` gets `source`'s generated columns (INHERITS, PARTITION OF, LIKE): the names
        they read, and with `expressions` the columns they copy."""
        for column, read in self.generated.get(source, {}).items():
            self.generated.setdefault(table, {}).setdefault(column, set()).update(read)
            copied = self.copies.get(source, {}).get(column)
            if expressions and copied is not None and table not in self._no_defaults:
                self.copies.setdefault(table, {})[column] = copied
            else:
                self._forget_copies(table, column)

    def _forget_copies(self, table: str, *columns: str) -> None:
        """Forgets the copies of `table` (and its descendants) that name one of `columns`, as
        the generated column or the column copied."""
        for changed in (table, *self._descendants(table)):
            copies = self.copies.get(changed)
            if copies:
                for generated, copied in list(copies.items()):
                    if generated in columns or copied in columns:
                        del copies[generated]

    def _copy_loose(self, source: str, table: str) -> None:
        if source in self.loose:
            self.loose.setdefault(table, set()).update(self.loose[source])

    def _loose_type(self, type_name: Any, collate: Any) -> bool:
        """Whether a column (or domain) of this type and COLLATE clause compares loosely."""
        if collate is not None:
            names = list(_strings(collate.collname))
            if names and names[-1] in self.loose_collations:
                return True
        names = list(_strings(getattr(type_name, "names", None) or ()))
        return bool(names) and names[-1] in self.loose_types

    def _loose_query(self, node: Any, depth: int = 0) -> bool:
        """Whether a query (CREATE TABLE AS's, SELECT … INTO's) may output a column that
        compares loosely: the new table keeps each output's collation and type (h39A), so a
        COLLATE of a nondeterministic collation, a cast to citext or a domain of one, a read of
        a table with such a column or of a view (followed) whose query has one, or a call of a
        function of the schema (its output types unread) anywhere in it — fail closed."""
        from pglast.ast import Node
        from pglast.parser import ParseError

        stack: list[Any] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, tuple | list):
                stack.extend(current)
                continue
            if not isinstance(current, Node):
                continue
            kind = type(current).__name__
            called = list(_strings(getattr(current, "funcname", None) or ()))[-1:]
            if kind == "CollateClause" and self._loose_type(None, current):
                return True
            if kind == "TypeName" and self._loose_type(current, None):
                return True
            if called and called[0] in self.functions:
                return True
            if kind == "RangeVar":
                name = _relname(current)
                if self.loose.get(name):
                    return True
                view = self.views.get(name)
                if view is not None:
                    if depth >= _DEEPEST_VIEW:
                        return True
                    try:
                        body = _parsed(view.query)
                    except ParseError:  # unread: fail closed
                        return True
                    if self._loose_query(body, depth + 1):
                        return True
                continue
            stack.extend(getattr(current, f) for f in current if getattr(current, f) is not None)
        return False

    def _lossy_type(self, type_name: Any, collate: Any) -> bool:
        """Whether a parameter compared with a column of this type (or an array of it) is typed
        so that two tenant ids may meet: it rounds, pads, truncates or compares loosely."""
        element = _type_key(type_name).rstrip("[]")
        return element in self.lossy_types or self._loose_type(type_name, collate)

    def _lossy_outputs(self, query: Any, aliases: list[str] | None) -> None:
        """The output names of a view's (or CREATE TABLE AS's) query that may be of a lossy
        type under another name (`r AS pts`, `max(r)`): anything but a column of an exact
        name or a constant, in any branch of a set operation, at that position."""
        leaves: list[Any] = []
        stack = [query]
        while stack:
            current = stack.pop()
            if type(current).__name__ != "SelectStmt":
                continue
            if current.larg is not None:
                stack.extend((current.rarg, current.larg))
            else:
                leaves.append(current)
        names: list[str | None] = list(aliases or ())
        for number, leaf in enumerate(leaves):
            rows = [list(v) for v in leaf.valuesLists or ()]
            if not rows:
                rows = [[t.val for t in leaf.targetList or ()]]
                if number == 0 and not aliases:
                    names = [_output_name(t) for t in leaf.targetList or ()]
            for row in rows:
                if any(_star(item) for item in row):  # positions unknown: every alias
                    self.lossy_columns.update(n for n in names if n)
                    return
                for position, item in enumerate(row):
                    if position < len(names) and not self._exact_output(item):
                        name = names[position]
                        if name:
                            self.lossy_columns.add(name)

    def _exact_output(self, item: Any) -> bool:
        kind = type(item).__name__
        if kind == "A_Const":
            return True
        if kind == "TypeCast":  # of the cast's type, whatever it casts
            return item.typeName is not None and not self._lossy_type(item.typeName, None)
        if kind == "FuncCall":
            return self._exact_aggregate(item)
        if kind != "ColumnRef":
            return False
        fields = list(item.fields or ())
        return bool(fields) and str(getattr(fields[-1], "sval", "")) not in self.lossy_columns

    def _exact_aggregate(self, call: Any) -> bool:
        """A built-in aggregate whose type is surely exact: `count(…)` (bigint), `min` and `max`
        of an exact output (its type). Not a name the schema defines a function or aggregate
        of (it may be the one called)."""
        names = [str(getattr(n, "sval", "")) for n in call.funcname or ()]
        if not names or names[:-1] not in ([], ["pg_catalog"]):
            return False
        name = names[-1]
        if name in self.functions or name in self._aggregates:
            return False
        arguments = list(call.args or ())
        if name == "count":
            return True
        return name in ("min", "max") and len(arguments) == 1 and self._exact_output(arguments[0])

    def _domain(self, node: Any, text: str, path: str) -> None:
        from pglast.enums import ConstrType

        names = list(_strings(node.domainname))
        if names:
            self._domain_defaults[names[-1]] = next(
                (
                    c.raw_expr
                    for c in node.constraints or ()
                    if _enum(c.contype) == ConstrType.CONSTR_DEFAULT
                ),
                None,
            )
        if names:
            self._domain_bases[names[-1]] = _type_key(node.typeName).rstrip("[]")
            for constraint in node.constraints or ():
                self._domain_check(names[-1], constraint)
        if names and self._loose_type(node.typeName, node.collClause):
            self.loose_types.add(names[-1])
        if names and _type_key(node.typeName) in self.lossy_types:
            self.lossy_types.add(names[-1])
        if names:
            self._domain_defs.setdefault(names[-1], set()).add(
                (_schema_of(node.domainname), *_domain_base(node.typeName, node.collClause))
            )

    def _other_type(self, node: Any, text: str, path: str) -> None:
        """CREATE TYPE … AS ENUM | RANGE: a type name a cast may mean instead of a domain."""
        self.doubt_types(*list(_strings(node.typeName))[-1:])

    def _type_moved(self, node: Any, text: str, path: str) -> None:
        """ALTER DOMAIN | TYPE | FUNCTION … SET SCHEMA: which one the name means is in doubt."""
        from pglast.enums import ObjectType

        kind = _enum(node.objectType)
        if node.relation is not None and kind in (
            ObjectType.OBJECT_TABLE,
            ObjectType.OBJECT_FOREIGN_TABLE,
            ObjectType.OBJECT_VIEW,
            ObjectType.OBJECT_MATVIEW,
        ):
            # ALTER TABLE | VIEW … SET SCHEMA: the name is in the new schema now (a table of
            # that name created again in the old one is another table: round 27)
            seen = self.relation_schemas.get(_relname(node.relation))
            if seen is not None:
                if len(seen) > 1:
                    self._mixed.add(_relname(node.relation))
                seen.discard(str(node.relation.schemaname or "public"))
                seen.add(str(node.newschema))
            return
        if kind in (ObjectType.OBJECT_DOMAIN, ObjectType.OBJECT_TYPE):
            self.doubt_types(*list(_strings(node.object))[-1:])
        elif kind in (
            ObjectType.OBJECT_FUNCTION,
            ObjectType.OBJECT_ROUTINE,
            ObjectType.OBJECT_AGGREGATE,
        ):  # which function a call means is then in doubt
            names = list(_strings(getattr(node.object, "objname", None)))
            self._doubtful_functions.update(names[-1:])

    def doubt_types(self, *names: str) -> None:
        """Type names a statement other than CREATE DOMAIN makes, renames, moves or drops
        (CREATE TYPE, ALTER DOMAIN … RENAME, DROP DOMAIN …): no cast to one is read as exact."""
        self._doubtful_types.update(names)

    def settle_domains(self) -> None:
        """Once every source is read: the domains a cast to which is exact (`exact_domains`)."""
        self.exact_domains = {}
        self.one_domains = set()
        if self._hidden_types:
            return
        self.one_domains = {
            name
            for name, defs in self._domain_defs.items()
            if len(defs) == 1 and name not in self._doubtful_types
        }
        for name in self._domain_defs:
            found = self._exact_domain(name, "", 0)
            if found is not None:
                self.exact_domains[name] = found

    def settle_functions(self) -> None:
        """Once every source is read (and the domains settled): `exact_functions`,
        `stable_functions`."""
        from tenantguard.engine.pgextensions import EXTENSION_LOSSY_ARGUMENTS
        from tenantguard.engine.pgfunctions import BUILTIN_FUNCTIONS

        for extension, _ in self._extensions:  # a bare parameter given there is typed so
            for name, positions in EXTENSION_LOSSY_ARGUMENTS.get(extension, {}).items():
                self.lossy_arguments.setdefault(name, set()).update(positions)
        self.exact_functions = {}
        self.stable_functions = set()
        if self._hidden_functions:
            return
        self._settle_volatility()
        for name, definitions in self._function_types.items():
            if name in BUILTIN_FUNCTIONS or name in self._doubtful_functions:
                continue
            returned: set[str | None] = set()
            for types in definitions:
                bases = [self._exact_type(schema, type_name) for schema, type_name in types]
                if None in bases:
                    returned = {None}
                    break
                returned.add(bases[0])
            if len(returned) == 1 and None not in returned:
                self.exact_functions[name] = str(next(iter(returned)))

    def _settle_volatility(self) -> None:
        from tenantguard.engine.pgextensions import EXTENSION_FUNCTIONS

        definitions = {name: dict(found) for name, found in self._volatility.items()}
        for extension, where in self._extensions:
            stable, volatile = EXTENSION_FUNCTIONS.get(extension, ((), ()))
            for names, kind in ((stable, "s"), (volatile, "v")):
                for name in names:
                    definitions.setdefault(name, {})[(where, ("extension", extension))] = kind
        doubtful = self._doubtful_functions - self._aggregates
        self.stable_functions = stable_names(
            (where, name, kind)
            for name, found in definitions.items()
            if name not in doubtful
            for (where, _), kind in found.items()
        )

    def settle_views(self) -> None:
        """Once the functions are settled: `volatile_operators`, `volatile_views` (a view whose
        query cannot be read is counted among them)."""
        from tenantguard.engine.analyze import parse_statement
        from tenantguard.engine.proof.syntax import calls_volatile

        self.volatile_operators |= {  # (audit gives them from the catalog)
            symbol for symbol, function in self.operators if function not in self.stable_functions
        }
        trees: dict[str, exp.Expression] = {}
        volatile: set[str] = set()
        for name, view in self.views.items():
            if name in self.materialized:
                continue
            tree = parse_statement(view.query)[0]
            if tree is None:
                volatile.add(name)
            else:
                trees[name] = tree
        known = _Volatility(
            frozenset(self.stable_functions),
            frozenset(self.functions),
            frozenset(volatile),
            frozenset(self.volatile_operators),
        )
        changed = True
        while changed:  # a view reading a volatile view is one
            changed = False
            for name, tree in trees.items():
                if name not in volatile and calls_volatile(tree, known):
                    volatile.add(name)
                    known = replace(known, volatile_views=frozenset(volatile))
                    changed = True
        self.volatile_views = volatile

    def _exact_type(self, schema: str, name: str) -> str | None:
        """The builtin type of an exact type (or exact domain) `schema.name`, else None."""
        if name in _EXACT_BASES and schema in ("", "pg_catalog"):
            return name
        domain = self.exact_domains.get(name)
        if domain is None or schema not in ("", domain[0]):
            return None
        return domain[1]

    def _exact_domain(self, name: str, schema: str, depth: int) -> tuple[str, str] | None:
        """(schema, builtin base) of the domain `name` (in `schema`, "" for any) if a cast to
        it is exact: defined once, never in doubt, over an exact type or such a domain."""
        defs = self._domain_defs.get(name)
        if depth > 8 or not defs or len(defs) != 1 or name in self._doubtful_types:
            return None
        ((own, base_schema, base),) = defs
        if schema and schema != own:
            return None
        if base in _EXACT_BASES and base_schema in ("", "pg_catalog"):
            return own, base
        if base == "?" or base_schema == "pg_catalog":
            return None
        found = self._exact_domain(base, base_schema, depth + 1)
        return None if found is None else (own, found[1])

    def _alter_domain(self, node: Any, text: str, path: str) -> None:
        """ALTER DOMAIN … SET | DROP DEFAULT: the default of its columns without their own."""
        names = list(_strings(node.typeName))
        if names and str(node.subtype) == "T":
            self._domain_defaults[names[-1]] = node.def_
        elif names and str(node.subtype) == "C" and node.def_ is not None:
            self._domain_check(names[-1], node.def_)  # ADD CONSTRAINT (a DROP is not followed)

    def _domain_check(self, domain: str, constraint: Any) -> None:
        """A domain's constraint: the functions its CHECK calls on each value."""
        from pglast.enums import ConstrType

        if _enum(constraint.contype) == ConstrType.CONSTR_CHECK:
            called = _called_or_cast(constraint)
            if called:
                self.domain_calls.setdefault(domain, set()).update(called)

    def _implicit(self, table: str, what: str, tree: Any) -> None:
        """The functions an expression of a table (a constraint, an index, the partition key)
        calls on each row written."""
        called = _called_or_cast(tree)
        if called:
            called |= _row_calls(tree)
            self.implicit_calls.setdefault(table, {}).setdefault(what, set()).update(called)

    def settle_calls(self) -> None:
        """Once every source is read: a domain runs the CHECKs of the domains it is over; a
        column of a domain runs them on each row written."""
        for domain in list(self._domain_bases):
            seen, base = {domain}, self._domain_bases.get(domain)
            while base is not None and base not in seen:
                seen.add(base)
                if base in self.domain_calls:
                    self.domain_calls.setdefault(domain, set()).update(self.domain_calls[base])
                base = self._domain_bases.get(base)
        if self.domain_calls:
            pattern = re.compile(
                r"(?<![\w$])(?:"
                + "|".join(re.escape(d) for d in sorted(self.domain_calls, key=len, reverse=True))
                + r")(?![\w$])",
                re.IGNORECASE,
            )
            for function, texts in self._function_texts.items():
                named = {m.group(0).lower() for t in texts for m in pattern.finditer(t)}
                found = {d for d in self.domain_calls if d.lower() in named}
                if found:
                    self.function_domains.setdefault(function, set()).update(found)
        for (table, column), domain in self._column_domains.items():
            called = self.domain_calls.get(domain.rstrip("[]"))
            if called:
                what = f"the CHECK of domain {domain} (column {column})"
                self.implicit_calls.setdefault(table, {}).setdefault(what, set()).update(called)

    def domain_defaults(self) -> None:
        """Once every source is read: a column of a domain with a default, without a default
        of its own, defaults to the domain's."""
        for (table, column), domain in self._column_domains.items():
            expression = self._domain_defaults.get(domain)  # not an array's: `x[]` is no key
            if expression is not None and column not in self.defaults.get(table, {}):
                self._set_default(table, column, expression)

    def _define(self, node: Any, text: str, path: str) -> None:
        """CREATE COLLATION: nondeterministic unless `deterministic` is plainly true (or it
        copies a deterministic one). CREATE OPERATOR of a comparison the proof reads as a pin:
        an error at the statement (`_own_comparison`)."""
        from pglast.enums import ObjectType

        names = list(_strings(node.defnames))
        if _enum(node.kind) == ObjectType.OBJECT_TYPE and names:
            self.doubt_types(names[-1])  # a base or shell type: a cast to it may be anything
        if _enum(node.kind) == ObjectType.OBJECT_AGGREGATE and names:
            self._doubtful_functions.add(names[-1])  # called like a function of that name
            self._aggregates.add(names[-1])  # an aggregate is IMMUTABLE for the planner
            self._volatility.setdefault(names[-1], {})[
                (_schema_of(node.defnames), ("aggregate",))
            ] = "i"
            support = set()  # sfunc, finalfunc, combinefunc, msfunc, minvfunc, mfinalfunc…
            for option in node.definition or ():
                if str(option.defname).lower().endswith("func") and option.arg is not None:
                    arg = option.arg
                    parts = getattr(arg, "names", None) or (arg if isinstance(arg, tuple) else ())
                    found = [str(getattr(n, "sval", "")) for n in parts] or [
                        str(getattr(arg, "sval", ""))
                    ]
                    if found[-1]:
                        support.add(found[-1])
            if support:
                self.aggregate_calls.setdefault(names[-1], set()).update(support)
        if _enum(node.kind) == ObjectType.OBJECT_OPERATOR and names:
            for option in node.definition or ():  # its function: volatile unless declared not
                if str(option.defname).lower() in ("function", "procedure"):
                    called = [str(getattr(n, "sval", "")) for n in getattr(option.arg, "names", ())]
                    self.operators.append((names[-1], called[-1] if called else ""))
        if _enum(node.kind) == ObjectType.OBJECT_OPERATOR and names and names[-1] in _PINNING:
            types = {
                str(o.defname).lower(): _type_key(o.arg)
                for o in node.definition or ()
                if str(o.defname).lower() in ("leftarg", "rightarg")
                and type(o.arg).__name__ == "TypeName"
            }
            self._own_comparison(
                text,
                f"CREATE OPERATOR {names[-1]} ({types.get('leftarg', 'NONE')}, "
                f"{types.get('rightarg', 'NONE')}): the proof reads `{names[-1]}` as "
                "PostgreSQL's own, and the schema's is chosen where its operand types match "
                "better (always for types pg_catalog does not compare, `uuid = text`): "
                "`tenant_id = $1::text`, the tenant setting without a cast, a parameter "
                "typed text elsewhere in the statement, a function's text parameter may then "
                "match other tenants' rows",
            )
            return
        if _enum(node.kind) != ObjectType.OBJECT_COLLATION or not names:
            return
        loose = False
        for option in node.definition or ():
            if option.defname == "from":
                source = list(_strings(option.arg))
                loose = not source or source[-1] in self.loose_collations
            elif option.defname == "deterministic" and option.arg is not None:
                arg = option.arg
                value = getattr(arg, "sval", getattr(arg, "ival", getattr(arg, "boolval", None)))
                loose = str(value).lower() not in ("true", "on", "1")
        if loose:
            self.loose_collations.add(names[-1])

    def _cast(self, node: Any, text: str, path: str) -> None:
        """CREATE CAST: an error at the statement (`_own_comparison`). Its function, volatile
        unless declared not, makes a CTE casting so materialized (`cast:*` when it is applied
        without `::`, or to a built-in type)."""
        from pglast.enums import CoercionContext

        source, target = _type_key(node.sourcetype), _type_key(node.targettype)
        if node.func is not None:
            called = list(_strings(getattr(node.func, "objname", None)))
            implicit = _enum(node.context) != CoercionContext.COERCION_EXPLICIT
            builtin = (
                len(node.targettype.names or ()) > 1
                and str(node.targettype.names[0].sval) == "pg_catalog"
            )
            where = "cast:*" if implicit or builtin else f"cast:{target}"
            self.operators.append((where, called[-1] if called else ""))
        self._own_comparison(
            text,
            f"CREATE CAST ({source} AS {target}): the proof reads `::` and the conversions of "
            "a comparison as PostgreSQL's own; this one decides what `tenant_id::text = "
            "x.tenant_id::text` or, implicit, `tenant_id = $1::text` compares, which may then "
            "match other tenants' rows",
        )

    def _own_comparison(self, text: str, message: str) -> None:
        """An operator or cast of the schema that changes what a pin compares: the proof
        assumes PostgreSQL's own and cannot tell where this one is chosen (it reads no types),
        so the statement is an error, reported whatever is checked (TG006 at the statement),
        to be removed or acknowledged (per_file_ignores, a baseline)."""
        where, line, column = self._at
        help = (
            "compare through a function named for what it does (the proof reads none as a "
            "pin); once no pin can reach it, leave TG006 out for this file (per_file_ignores) "
            "or record it in a baseline"
        )
        self.problems.append(
            SchemaProblem(where, line, column, f"{message}\n{help}", text, parsed=True)
        )

    def _copy_defaults(self, source: str, table: str) -> None:
        """A parent's (or a LIKE source's) column defaults, taken by a new table."""
        if table in self._no_defaults:
            return
        for column, text in self.defaults.get(source, {}).items():
            self.defaults.setdefault(table, {})[column] = text

    def _set_default(self, table: str, column: str, expression: Any) -> None:
        """A column's default set (`expression`, a pglast node) or dropped (None)."""
        # none for a table no source created (ALTER TABLE IF EXISTS of a missing one)
        if expression is None or table in self._no_defaults or not self.relation_schemas.get(table):
            found = self.defaults.get(table)
            if found is not None:
                found.pop(column, None)
            return
        from pglast.stream import RawStream

        try:
            text = RawStream()(expression)
        except Exception:  # a default pglast cannot print: none kept
            self._set_default(table, column, None)
            return
        self.defaults.setdefault(table, {})[column] = text

    def _alter_type(self, node: Any) -> None:
        """`ALTER TYPE … ADD | DROP ATTRIBUTE`: the type's typed tables follow (CASCADE; without
        it PostgreSQL refuses while typed tables exist)."""
        from pglast.enums import AlterTableType

        name = _relname(node.relation)
        attributes = self.types.get(name)
        if attributes is None:
            return
        typed = [t for t in self._of_type(name) if t in self.columns]
        tables = [self.columns[t] for t in typed]
        loose = self.loose_attributes.setdefault(name, set())
        for command in node.cmds or ():
            subtype = _enum(command.subtype)
            if subtype == AlterTableType.AT_AddColumn and command.def_ is not None:
                for columns in (attributes, *tables):
                    columns.add(str(command.def_.colname))
            elif subtype == AlterTableType.AT_DropColumn and command.name:
                for columns in (attributes, *tables):
                    columns.discard(str(command.name))
            if (
                subtype in (AlterTableType.AT_AddColumn, AlterTableType.AT_AlterColumnType)
                and command.def_ is not None
            ):
                # the attribute's (new) type and collation are its typed tables' columns' too
                attribute = str(command.def_.colname or command.name)
                def_ = command.def_
                for holder in (name, *typed):
                    self._slot(holder, def_.typeName)
                if self._lossy_type(def_.typeName, def_.collClause):
                    self.lossy_columns.add(attribute)
                is_loose = self._loose_type(def_.typeName, def_.collClause)
                for changed in (None, *typed):
                    found = loose if changed is None else self.loose.setdefault(changed, set())
                    if is_loose:
                        found.add(attribute)
                    else:
                        found.discard(attribute)
            elif subtype == AlterTableType.AT_DropColumn and command.name:
                for changed in (None, *typed):
                    found = loose if changed is None else self.loose.get(changed, set())
                    found.discard(str(command.name))
