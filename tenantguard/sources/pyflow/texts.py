"""The walker's reading of calls that make text (`call_value`): `str.format`, `join`,
`string.Template`, jinja2, files read from disk or package data, whitespace normalisers,
psycopg's `sql` composables, comprehensions over constants. Relies on `values` and below, and
on `parameters`, `scan`, `changes`; asks `items_of` of `calls`.
"""

from __future__ import annotations

import ast
import itertools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tenantguard.sources.pyflow.model import (
    ClassRef,
    FilePath,
    FuncRef,
    Grown,
    ImportedRef,
    InstanceRef,
    Items,
    ModuleRef,
    find_module,
)
from tenantguard.sources.pyflow.names import (
    _BUILT,
    _SQL_MODULES,
    _STRIPS,
    _TEXT_CLAUSE_METHODS,
    _TRANSPARENT,
    _UNINDENTS,
    _builder,
    _called_name,
    _dotted,
    _is_name,
    _is_sql_call,
    _is_sql_module_call,
    _receiver_name,
    _short,
)
from tenantguard.sources.pyflow.parameters import (
    _constant_text_of,
    name_text,
    quoted_rejoined,
    rejoined,
)
from tenantguard.sources.pyflow.scan import _UNBOUND
from tenantguard.sources.pyflow.stores import _ANY_NAME, _rebound, _unwrapped_items
from tenantguard.sources.pyflow.syntax import (
    _JINJA_OPTION,
    _JOINED,
    _SAME_BLANKS,
    _WHITESPACE_PATTERNS,
    FileNamed,
    _attribute_stores,
    _binds_len,
    _constant_slice,
    _emptiness_test,
    _flags,
    _jinja_options,
    _placeholder_list,
)
from tenantguard.sources.pyflow.values import _Values
from tenantguard.sources.pyvalues import (
    Collapse,
    Hole,
    Lit,
    concat,
    format_template,
    hole,
    integer_value,
    is_constant,
    join_values,
    render_jinja,
    substitute_template,
    union,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tenantguard.sources.pyflow.model import _T, Binding, FunctionInfo
    from tenantguard.sources.pyvalues import Alternative, Part, Value


class _Texts(_Values):
    """Calls that make text (see the module docstring)."""

    def _each_class(self, items: ast.expr, node: ast.expr) -> Value | None:
        """`node` (which reads the collection `self.X`, or `cls.X` in a classmethod) read once
        for each project class `self` may be of, when the classes give X different tuples, lists or dicts of constants
        (`columns = ("id", "email")` on a base, `("id", "role")` on a subclass): one
        alternative per class, each read as the class's own. None when that is not the shape
        (one class, or a class whose X is no such collection: what it holds is unknown)."""
        if not (
            isinstance(items, ast.Attribute)
            and isinstance(items.value, ast.Name)
            and self.function is not None
            and self.function.cls is not None
        ):
            return None
        name = items.value.id
        me = self.env.get(name)
        instance = isinstance(me, InstanceRef)
        if not (
            (isinstance(me, InstanceRef) and not me.exact)
            or (isinstance(me, ClassRef) and me.any_subclass)  # `cls.columns` in a classmethod
        ):
            return None
        subclasses = self.index._subclasses(me.info)
        if not subclasses:
            return None
        values: list[Value] = []
        try:
            for cls in (me.info, *subclasses):
                self.env[name] = InstanceRef(cls, exact=True) if instance else ClassRef(cls)
                if self.items_of(items) is None:
                    return None
                values.append(self.evaluate(node))
        finally:
            self.env[name] = me
        return union(values, node, self.origin)

    def _mapped_constants(
        self, node: ast.expr, filtered: list[bool] | None = None
    ) -> list[Value] | None:
        """`(f"t.{c}" for c in ("id", "title"))` (or a list comprehension) over an ordered tuple
        or list of constants, without a condition: each item's value, the name bound in turn
        to each constant. None for anything else. With `filtered` (a list the answer is told
        in), a condition is allowed too (and `True` appended): the items are then some of
        these, in this order."""
        if not isinstance(node, ast.GeneratorExp | ast.ListComp):
            return None
        return self._each_constant(node, lambda: self.evaluate(node.elt), filtered)

    def _each_constant(
        self,
        node: ast.GeneratorExp | ast.ListComp | ast.DictComp,
        read: Callable[[], _T],
        filtered: list[bool] | None = None,
    ) -> list[_T] | None:
        """`read()` once for each constant a comprehension's one loop, without a condition,
        runs over (an ordered tuple or list of constants, a dict's constant keys — `for k in
        FIELDS`, `.keys()` —, its keys and values — `for k, v in fields.items()`), its names
        bound to it in turn. With `filtered`, a condition is allowed (each item may pass it)
        and the loop may run over a dict some of whose items a condition kept: then `True`
        is appended to it."""
        if len(node.generators) != 1:
            return None
        loop = node.generators[0]
        if (loop.ifs and filtered is None) or loop.is_async:
            return None
        target = loop.target
        names: list[str]
        if isinstance(target, ast.Name):
            names = [target.id]
        elif (
            isinstance(target, ast.Tuple)
            and len(target.elts) == 2
            and all(isinstance(e, ast.Name) for e in target.elts)
        ):
            names = [e.id for e in target.elts if isinstance(e, ast.Name)]
        else:
            return None
        source = loop.iter
        rows: list[tuple[Binding, ...]]
        subset = False
        files = self.listed_files(source) if len(names) == 1 else None
        if files is not None:  # `{p.stem: p.read_text() for p in SQL_DIR.glob("*.sql")}`
            rows = [(f,) for f in files]
        elif (
            len(names) == 1
            and isinstance(source, ast.Tuple | ast.List)
            and not any(isinstance(e, ast.Starred) for e in source.elts)
        ):
            # `for q in (Query("a", "SELECT …"), …)`: each record its item makes
            records = self.records_made(source.elts)
            rows = (
                [(self.evaluate(e),) for e in source.elts]
                if records is None
                else [(r,) for r in records]
            )
        elif len(names) == 1 and (members := self.enum_members(source)) is not None:
            # `", ".join(f"count(*) FILTER (WHERE status = '{s.value}')" for s in Status)`
            rows = [(m,) for m in members]
        elif len(names) == 1 and (known := self.dataclass_fields(source)) is not None:
            rows = [(f,) for f in known]  # `[f.name for f in fields(Row)]`
        else:
            how, named = "iter", source
            if (
                isinstance(source, ast.Call)
                and isinstance(source.func, ast.Attribute)
                and source.func.attr in ("items", "keys")
                and not source.args
                and not source.keywords
            ):
                how, named = source.func.attr, source.func.value
            items = self.items_of(named)
            if items is None or not items.ordered:
                return None
            if items.keys is None:
                if how != "iter" or len(names) != 1:
                    return None
                rows = (
                    [(v,) for v in items.values]
                    if items.records is None
                    else [(r,) for r in items.records]  # `for q in NAMED`: each record
                )
            else:
                if (
                    (how == "items") != (len(names) == 2)
                    or any(k.startswith("\0") for k in items.keys)
                    or (items.subset and filtered is None)
                ):
                    return None
                subset = items.subset
                keys = [((Lit(k, self.origin, None, 0, source),),) for k in items.keys]
                rows = (
                    [(k, v) for k, v in zip(keys, items.values, strict=True)]
                    if how == "items"
                    else [(k,) for k in keys]
                )
        if len(rows) > 64:
            return None
        before = {name: self.env.get(name, _UNBOUND) for name in names}
        out: list[_T] = []
        try:
            for row in rows:
                for name, value in zip(names, row, strict=True):
                    self.env[name] = value
                out.append(read())
        finally:
            for name, old in before.items():
                if old is _UNBOUND:
                    self.env.pop(name, None)
                else:
                    self.env[name] = old  # type: ignore[assignment]
        if filtered is not None and (loop.ifs or subset):
            filtered.append(True)
        return out

    def call_value(self, node: ast.Call) -> Value:
        func = node.func
        origin = self.origin
        name = _called_name(node)
        if (
            name in _STRIPS
            and isinstance(func, ast.Attribute)
            and (name == "as_string" or not node.args)
        ):
            return self.evaluate(func.value)  # whitespace does not change SQL
        if (
            isinstance(func, ast.Name)
            and func.id in ("int", "len")
            and self.lookup(func.id) is None  # the built-in: an int, or an exception
            and node.args
            and not any(isinstance(a, ast.Starred) for a in node.args)
        ):
            reason = f"`{_short(node)}` is a number computed at run time"
            return hole(node, origin, reason, kind="value", string=False, integer=True)
        if (
            isinstance(func, ast.Name)
            and func.id in ("min", "max", "abs")
            and (len(node.args) == 1 if func.id == "abs" else len(node.args) >= 2)
            and not node.keywords
            and not any(isinstance(a, ast.Starred) for a in node.args)
            and self.lookup(func.id) is None  # the built-in
            and all(integer_value(self.evaluate(a)) for a in node.args)
        ):
            # `min(int(limit), MAX_PAGE_SIZE)`: one of its int arguments (or their absolute
            # value), an int as `int(…)` is (h38D)
            reason = f"`{_short(node)}` is a number computed at run time"
            return hole(node, origin, reason, kind="value", string=False, integer=True)
        name = self._unaliased(node, name)
        if name in _TRANSPARENT | _UNINDENTS and node.args:
            return self.evaluate(node.args[0])
        if name == "from_statement" and isinstance(func, ast.Attribute) and node.args:
            # `select(M).from_statement(text(sql))`: the ORM runs that SQL (helper 113)
            return self.evaluate(node.args[0])
        if (
            name in _TEXT_CLAUSE_METHODS
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and self._unaliased(func.value, _called_name(func.value))
            in _TEXT_CLAUSE_METHODS | {"text"}
        ):
            # `text(sql).bindparams(g=g)`, `.columns(…)`: the same SQL, its values bound
            # (helper 111: a TG009 warning where the SQL leaked)
            return self.evaluate(func.value)
        if name in ("format", "format_map") and isinstance(func, ast.Attribute):
            template = self.evaluate(func.value)
            args, passed = node.args, node.keywords
            if name == "format_map":  # `TPL.format_map(FIELDS)`: `TPL.format(**FIELDS)`
                if len(args) != 1 or passed or isinstance(args[0], ast.Starred):
                    return hole(node, origin, "`.format_map()` of arguments computed at run time")
                args, passed = [], [ast.keyword(None, args[0])]
            # `**PARAMS` of a dict of constants: its keys, as keywords
            unpacked: dict[str, Value] = {}
            for keyword in passed:
                if keyword.arg is not None:
                    continue
                constants = self.items_of(keyword.value)
                if constants is None or constants.keys is None:
                    reason = (
                        "`.format()` with unpacked arguments"
                        if name == "format"
                        else f"`{_short(keyword.value)}` is a mapping computed at run time"
                    )
                    return hole(node, origin, reason)
                unpacked.update(zip(constants.keys, constants.values, strict=True))
            if any(isinstance(a, ast.Starred) for a in args):
                return hole(node, origin, "`.format()` with unpacked arguments")
            composed = _is_sql_call(func.value)
            positional = [self._composable(a, composed) for a in args]
            keywords = {
                **unpacked,
                **{k.arg: self._composable(k.value, composed) for k in passed if k.arg},
            }
            return format_template(template, positional, keywords, node, origin)
        if name in ("substitute", "safe_substitute") and isinstance(func, ast.Attribute):
            substituted = self._template_substitution(node, func)
            if substituted is not None:
                return substituted
        if name in ("render", "render_async") and isinstance(func, ast.Attribute):
            rendered = self._jinja_render(node, func)
            if rendered is not None:
                return rendered
        if name in ("read_text", "read") and isinstance(func, ast.Attribute):
            read = self.file_read(node, func)
            if read is not None:
                return read
        if name == "decode" and isinstance(func, ast.Attribute):
            read = self.package_data(node, func)
            if read is not None:
                return read
        collapse = self.whitespace_normaliser(node)
        if collapse is not None:
            collapse_of, collapsed = collapse
            return collapse_of(self.evaluate(collapsed))
        if name == "join" and isinstance(func, ast.Attribute) and len(node.args) == 1:
            filtered: list[bool] = []
            mapped = self._mapped_constants(node.args[0], filtered)
            if mapped is not None and filtered and mapped:
                # `", ".join(f"{k} = %s" for k, v in fields.items() if v is not None)`: some
                # of the items, in order — each alone, and all of them (an item that drops the
                # pin, or moves a row, does it alone; with one item, none too)
                separator = self.evaluate(func.value)
                kept = [[item] for item in mapped] + ([mapped] if len(mapped) > 1 else [[]])
                return union([join_values(separator, c, node, origin) for c in kept], node, origin)
            if mapped is not None:  # `", ".join(f"t.{c}" for c in ("id", "title"))`
                return join_values(self.evaluate(func.value), mapped, node, origin)
            items = _unwrapped_items(node.args[0])
            if isinstance(items, ast.List | ast.Tuple) and not any(
                isinstance(e, ast.Starred) for e in items.elts
            ):
                separator = self.evaluate(func.value)
                composed = _is_sql_call(func.value)
                values = [self._composable(e, composed) for e in items.elts]
                return join_values(separator, values, node, origin)
            starred = (
                [e for e in items.elts if isinstance(e, ast.Starred)]
                if isinstance(items, ast.List | ast.Tuple)
                else []
            )
            if 0 < len(starred) <= 3:
                # `" AND ".join(["tenant_id = $1", *clauses])`: each unpacked list adds no
                # item, or items computed at run time (one hole, with the separator around it)
                assert isinstance(items, ast.List | ast.Tuple)
                separator = self.evaluate(func.value)
                composed = _is_sql_call(func.value)
                joined = []
                for present in itertools.product((False, True), repeat=len(starred)):
                    chosen = dict(zip(map(id, starred), present, strict=True))
                    values = [
                        hole(e, origin, f"items of `{_short(e.value)}` computed at run time")
                        if isinstance(e, ast.Starred)
                        else self._composable(e, composed)
                        for e in items.elts
                        if not isinstance(e, ast.Starred) or chosen[id(e)]
                    ]
                    joined.append(join_values(separator, values, node, origin))
                return union(joined, node, origin)
            cut = _constant_slice(items)
            if cut is not None:  # `"\n".join(conds[:-1])`: those items of the list, in order
                assert isinstance(items, ast.Subscript)
                separator = self.evaluate(func.value)
                whole = self.items_of(items.value)
                if whole is not None and whole.keys is None and whole.ordered and not whole.subset:
                    return join_values(separator, list(whole.values[cut]), node, origin)
                held = self.lookup(items.value.id) if isinstance(items.value, ast.Name) else None
                if isinstance(held, Grown):
                    joined = [
                        join_values(separator, list(a[cut]), node, origin) for a in held.lists
                    ]
                    return union(joined, node, origin)
            by_parameter = self._joined_parameter(items, func.value, node)
            if by_parameter is not None:  # `def where(*conds): return " AND ".join(conds)`
                return by_parameter
            grown = self.lookup(items.id) if isinstance(items, ast.Name) else None
            if grown is None:  # `conds + ["FALSE"]` of a grown list
                grown = self.grown_view(items)
            if isinstance(grown, Grown):  # `" AND ".join(constraints)`: each list it can hold
                separator = self.evaluate(func.value)
                joined = [join_values(separator, list(a), node, origin) for a in grown.lists]
                return union(joined, node, origin)
            named = self.items_of(items)
            if named is not None and named.keys is None and named.ordered:  # `" ".join(CLAUSES)`
                return join_values(self.evaluate(func.value), named.values, node, origin)
            names = self.identifiers(items)
            if names is not None:  # `map(sql.Identifier, COLUMNS)`: each name, quoted
                return join_values(self.evaluate(func.value), names, node, origin)
            shape = _identifier_source(items)
            if shape is not None and shape[1] == "Identifier":
                # `sql.SQL(", ").join(map(sql.Identifier, columns))` of a parameter: each
                # name a call gives, quoted (h37D: TG009 at `select_for(t, COLUMNS)`)
                by_parameter = self._joined_parameter(shape[0], func.value, node, quoted=True)
                if by_parameter is not None:
                    return by_parameter
            marks = _placeholder_list(items, origin)
            if marks is not None:  # `", ".join(["%s"] * len(ids))`: read as two of them
                return join_values(self.evaluate(func.value), marks, node, origin)
            each = self._each_class(items, node)
            if each is not None:  # `", ".join(self.columns)`, each subclass its own columns
                return each
            if isinstance(grown, tuple) and len(grown) == 1 and len(grown[0]) == 1:
                unknown = grown[0][0]  # a list the reader gave up on: say why
                if type(unknown) is Hole:
                    reason = f"`.join()` of `{_short(items)}`: {unknown.reason}"
                    return hole(node, origin, reason)
            return hole(node, origin, "`.join()` of items computed at run time")
        if name == "Composed" and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
            items = node.args[0]
            return concat([self._composable(e, True) for e in items.elts], node, origin)
        if name in ("Identifier", "Literal", "Placeholder") and _is_sql_module_call(node):
            return self._composable(node, True)
        if name == "str" and len(node.args) == 1:
            value = self.evaluate(node.args[0])
            if integer_value(value) and not all(is_constant(a) for a in value):
                # `"$" + str(len(args))`: digits, as an f-string makes them (helper 113)
                return tuple(
                    (a[0]._replace(kind="integer"),)
                    if type(a[0]) is Hole and not is_constant(a)
                    else a
                    for a in value
                )
            return value
        if (
            name in _END_STRIPS
            and isinstance(func, ast.Attribute)
            and len(node.args) == 1
            and not node.keywords
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            # `sql.rstrip(";") + " LIMIT 10"`, `.removesuffix(";")`: the text Python makes, its
            # constant ends stripped (h42D: TG009, a leak added after it only a warning)
            stripped = _stripped(self.evaluate(func.value), name, node.args[0].value)
            if stripped is not None:
                return stripped
        if name == "replace" and isinstance(func, ast.Attribute) and 2 <= len(node.args) <= 3:
            replaced = self.replaced(func.value, node)
            if replaced is not None:
                return replaced
        if name == "get" and isinstance(func, ast.Attribute) and len(node.args) in (1, 2):
            found = self.item(func.value, node.args[0])  # `QUERIES.get("lead")`
            if found is not None and (self.items_of(func.value) or Items((), None)).keys:
                if len(node.args) == 1:
                    return found
                # `ALLOWED.get(sort, "name")`: one of its values, or the default (helper 111)
                return union((found, self.evaluate(node.args[1])), node, origin)
        if _builder(node) or self._refined_statement(node):
            reason = f"`{_short(node)}` {_BUILT}"
            return hole(node, origin, reason, string=False)
        returns = self.returning(func)
        given = None if returns is None else self._arguments(node)
        return hole(
            node, origin, f"`{_short(node)}` is computed at run time", returns=returns, given=given
        )

    def _joined_parameter(
        self, items: ast.expr, separator: ast.expr, node: ast.Call, *, quoted: bool = False
    ) -> Value | None:
        """`" AND ".join(conds)` of a parameter (`*conds`, or a list) the function reads nowhere
        else but in tests of whether it is empty (`if conds`, `len(conds)`): a hole of that
        parameter, filled at a call that gives each item (`where(PIN, "code = $2")`) with
        them joined by the constant separator; None otherwise (h36G: such helpers were TG009,
        and a pinned call a TG001 as if no item were given)."""
        function = self.function
        if not isinstance(items, ast.Name) or function is None:
            return None
        name = items.id
        vararg = function.node.args.vararg
        if not (
            vararg is not None and vararg.arg == name and name not in self.nonlocals
        ) and not self.unchanged_parameter(items):
            return None
        # `len(conds) == 0` is a test of emptiness only when `len` is the builtin: not where
        # the module binds the name (`def len`, an import, a local, a star import) or a file
        # sets `builtins.len` (h36Q: `where(PIN)` took `return ""` unseen)
        builtin_len = not (
            self.module.tree is not None and _binds_len(self.module.tree)
        ) and not self.index.changed_outside("len")
        if not _only_joined_or_tested(function.node, name, items, builtin_len):
            return None  # appended to, rebound, handed on: what it holds here is not known
        joiner = self.evaluate(separator)
        if len(joiner) != 1 or not is_constant(joiner[0]):
            return None
        reason = f"`.join()` of `{name}`, a parameter of {function.name}()"
        made = hole(node, self.origin, reason, param=_JOINED + name, owner=function)[0][0]
        assert type(made) is Hole
        join = (quoted_rejoined if quoted else rejoined)(joiner, node, self.origin)
        return ((made._replace(transform=join),),)

    def _refined_statement(self, node: ast.Call) -> bool:
        """`stmt.where(…)`, `stmt.offset(n).limit(m)` where `stmt` holds a query builder's
        statement on every path (`stmt = select(Hero)`; round 30: TG009 "computed at run
        time" on every `db.exec(stmt)` of SQLModel code that adds filters this way)."""
        current: ast.expr = node.func
        while isinstance(current, ast.Attribute | ast.Call):
            current = current.value if isinstance(current, ast.Attribute) else current.func
        if not isinstance(current, ast.Name) or not isinstance(node.func, ast.Attribute):
            return False
        bound = self.lookup(current.id)
        return (
            isinstance(bound, tuple)
            and bool(bound)
            and all(
                len(a) == 1
                and type(a[0]) is Hole
                and not a[0].string
                and a[0].reason.endswith(_BUILT)
                for a in bound
            )
        )

    def _template_substitution(self, node: ast.Call, func: ast.Attribute) -> Value | None:
        """`Template("SELECT … FROM $table …").substitute(table="tags")` (`string.Template`,
        made there or bound to a name once; `safe_substitute` too): the text Python makes,
        each value in its place (round 30: TG009, "computed at run time"). None when the
        receiver is no such template or the arguments are not keywords (and a dict display)."""
        made = self._template_made(func)
        if made is None or made.keywords:
            return None
        called = _dotted(made.func)
        if not (
            (called == "Template" and self._imported_from("Template", "string"))
            or (
                called == "string.Template" and self._is_module(made.func.value, "string")  # type: ignore[attr-defined]
            )
        ):
            return None
        keywords = self._template_keywords(node)
        if keywords is None:
            return None
        template = self.evaluate(made.args[0])
        safe = func.attr == "safe_substitute"
        return substitute_template(template, keywords, node, self.origin, safe=safe)

    def _template_made(self, func: ast.Attribute) -> ast.Call | None:
        """The call that made a template `func` is a method of (`Template("…").render`, or a
        name bound once to such a call), with its one text argument; None otherwise."""
        made: ast.expr | None = func.value
        if isinstance(made, ast.Name):
            bound = self.lookup(made.id)
            part = (
                bound[0][0]
                if isinstance(bound, tuple) and len(bound) == 1 and len(bound[0]) == 1
                else None
            )
            made = part.node if type(part) is Hole and isinstance(part.node, ast.Call) else None
        if (
            isinstance(made, ast.Call)
            and len(made.args) == 1
            and not isinstance(made.args[0], ast.Starred)
        ):
            return made
        return None

    def _template_keywords(self, node: ast.Call) -> dict[str, Value] | None:
        """The values a template's `substitute(…)` / `render(…)` call gives its names: keywords,
        and one dict display of constant keys; None for anything else (`**kwargs`, two
        positional arguments, a key known only at run time)."""
        keywords: dict[str, Value] = {}
        arguments = list(node.args)
        if len(arguments) > 1 or any(isinstance(a, ast.Starred) for a in arguments):
            return None
        if arguments and not isinstance(arguments[0], ast.Dict):
            # a dict of constant keys bound to a name, `T.substitute(mapping)` of `mapping =
            # {"table": "payments"}` (h40D: TG009 "computed at run time"); `**mapping` below
            named = self._named_mapping(arguments[0])
            if named is None:
                return None
            keywords.update(named)
        elif arguments:
            mapping = arguments[0]
            assert isinstance(mapping, ast.Dict)
            if any(k is None for k in mapping.keys):
                return None
            for key, item in zip(mapping.keys, mapping.values, strict=True):
                text = _constant_text_of(self.evaluate(key)) if key is not None else None
                if text is None:
                    return None
                keywords[text] = self.evaluate(item)
        for keyword in node.keywords:
            if keyword.arg is None:
                named = self._named_mapping(keyword.value)
                if named is None:
                    return None
                keywords.update(named)
                continue
            keywords[keyword.arg] = self.evaluate(keyword.value)
        return keywords

    def _named_mapping(self, node: ast.expr) -> dict[str, Value] | None:
        """The items of a dict of constant keys a name holds (all of them: none kept by a
        condition, no key known only at run time); None otherwise."""
        items = self.items_of(node)
        if (
            items is None
            or items.keys is None
            or items.subset
            or any(k.startswith("\0") for k in items.keys)
        ):
            return None
        return dict(zip(items.keys, items.values, strict=True))

    def _jinja_render(self, node: ast.Call, func: ast.Attribute) -> Value | None:
        """`Template("SELECT … {% if t %}AND tenant_id = {{ t }}{% endif %}").render(t=…)`
        (jinja2's `Template`, or `from_string` of an environment in a module that imports
        jinja2; made there or bound to a name once): each text a path through its tags makes.
        None when the receiver is no such template or `render` is given anything but keywords
        (and a dict display)."""
        made = self._template_made(func)
        if made is None:
            return None
        called = _dotted(made.func)
        jinja = (
            (called == "Template" and self._imported_from("Template", "jinja2"))
            or (called == "jinja2.Template" and self._is_module(made.func.value, "jinja2"))  # type: ignore[attr-defined]
            or (
                isinstance(made.func, ast.Attribute)
                and made.func.attr == "from_string"
                and (
                    self._imports_jinja()
                    # (`from .templates import env`: an Environment another module made, h36D)
                    or self._environment_made(made.func.value) is not None
                )
            )
        )
        if not jinja:
            return None
        # the options that change what the text renders: Template's own keywords, or those of
        # the Environment `from_string` is called on (one not found: not read)
        options: ast.Call | None = made
        if called not in ("Template", "jinja2.Template"):
            options = self._environment_made(made.func.value)  # type: ignore[attr-defined]
        if options is not None:
            blanks = _jinja_options(options)
        else:  # (`self.env.from_string(…)`: its options read from the module's words)
            own = "".join(self.origin.lines)
            blanks = None if _JINJA_OPTION.search(own) else (False, False)
        if blanks is None:
            return None
        keywords = self._template_keywords(node)
        if keywords is None:
            return None
        trim, lstrip = blanks
        template = self.evaluate(made.args[0])
        return render_jinja(
            template, keywords, node, self.origin, trim_blocks=trim, lstrip_blocks=lstrip
        )

    def _environment_made(self, receiver: ast.expr) -> ast.Call | None:
        """The `Environment(…)` call a `from_string` receiver was made by: called there, or
        bound to a name once (`env = Environment(trim_blocks=True)`)."""
        made: ast.expr | None = receiver
        if isinstance(made, ast.Name | ast.Attribute):
            # (a name of this module, one imported from another module of the project, or
            # `templates.env` of a module imported: h36D)
            bound = self.lookup(made.id) if isinstance(made, ast.Name) else None
            if isinstance(made, ast.Attribute) and isinstance(made.value, ast.Name):
                module = self.lookup(made.value.id)
                if isinstance(module, ImportedRef):
                    module = self.index.imported(module)
                if isinstance(module, ModuleRef):
                    bound = self.index.imported(ImportedRef(module, made.attr))
            elif isinstance(bound, ImportedRef):
                bound = self.index.imported(bound)
            part = (
                bound[0][0]
                if isinstance(bound, tuple) and len(bound) == 1 and len(bound[0]) == 1
                else None
            )
            made = part.node if type(part) is Hole and isinstance(part.node, ast.Call) else None
        if isinstance(made, ast.Call) and _dotted(made.func).rsplit(".", 1)[-1] in (
            "Environment",
            "SandboxedEnvironment",
            "ImmutableSandboxedEnvironment",
        ):
            return made
        return None

    def _imports_jinja(self) -> bool:
        """The module imports jinja2 (or a name from it)."""
        for bound in (*self.env.values(), *(b for _, ever in self.outer for b in ever.values())):
            if isinstance(bound, ModuleRef) and bound.name.split(".")[0] == "jinja2":
                return True
            if isinstance(bound, ImportedRef) and bound.module.name.split(".")[0] == "jinja2":
                return True
        return False

    def file_read(self, node: ast.Call, func: ast.Attribute) -> Value | None:
        """A file's text read by a path built from `__file__` (`(Path(__file__).parent / "sql"
        / "tags.sql").read_text()`, `open(os.path.join(os.path.dirname(__file__), "x.sql"))
        .read()`, `f.read()` of `with open(…) as f`): the text the file holds now, placed at
        the call (the file is recorded as read: the cache's entry goes when it changes).
        None when the path is not surely known, or no such text file is there."""
        if func.attr == "read_text" and self._resources_function(func, "read_text"):
            # importlib.resources' `read_text("app.sql", "tags.sql")` (its legacy API)
            if len(node.args) != 2 or node.keywords:
                return None
            if any(isinstance(a, ast.Starred) for a in node.args):
                return None
            directory = self._package_directory(node.args[0])
            tail = self._path_texts(node.args[1:])
            if directory is None or tail is None:
                return None
            resource = os.path.join(directory, *tail)
            text = self.index.read_file(resource)
            return None if text is None else ((Lit(text, self.origin, None, 0, node, resource),),)
        if func.attr == "read_text":
            if node.args[1:] or any(k.arg != "encoding" for k in node.keywords):
                return None
            where = func.value
        else:
            if node.args or node.keywords:
                return None
            opened: ast.expr | None = func.value
            if isinstance(opened, ast.Name):  # `with open(PATH) as f: f.read()`
                bound = self.lookup(opened.id)
                opened = (
                    bound[0][0].node  # type: ignore[assignment]
                    if isinstance(bound, tuple) and len(bound) == 1 and len(bound[0]) == 1
                    else None
                )
            if not (
                isinstance(opened, ast.Call)
                and _is_name(opened.func, "open")
                and self.lookup("open") is None  # the built-in
                and opened.args
                and not any(isinstance(a, ast.Starred) for a in opened.args)
            ):
                return None
            mode = opened.args[1] if len(opened.args) > 1 else None
            for keyword in opened.keywords:
                if keyword.arg == "mode":
                    mode = keyword.value
                elif keyword.arg not in ("encoding", "errors", "newline"):
                    return None
            if mode is not None and not (
                isinstance(mode, ast.Constant) and mode.value in ("r", "rt", "tr")
            ):
                return None  # bytes, or written
            where = opened.args[0]
        path = self.path_of(where)
        if path is None:
            return self._named_file(where, node)
        text = self.index.read_file(path)
        return None if text is None else ((Lit(text, self.origin, None, 0, node, path),),)

    def package_data(self, node: ast.Call, func: ast.Attribute) -> Value | None:
        """`pkgutil.get_data(__name__, "sql/tags.sql").decode()` (or `.decode("utf-8")`): the
        text of that file of the package (the module's own directory for `__name__` /
        `__package__`, a constant dotted name of the project found as an import is), as
        `file_read` reads one. None for anything else: another encoding, a resource known at
        run time, an absolute one."""
        data = func.value
        if not (
            isinstance(data, ast.Call)
            and len(data.args) == 2
            and not data.keywords
            and not any(isinstance(a, ast.Starred) for a in data.args)
            and (
                (
                    isinstance(data.func, ast.Attribute)
                    and data.func.attr == "get_data"
                    and self._is_module(data.func.value, "pkgutil")
                )
                or (
                    isinstance(data.func, ast.Name)
                    and data.func.id == "get_data"
                    and self._imported_from("get_data", "pkgutil")
                )
            )
        ):
            return None
        given = [*node.args, *(k.value for k in node.keywords if k.arg == "encoding")]
        if len(given) > 1 or any(k.arg not in ("encoding", "errors") for k in node.keywords):
            return None
        if given and str(_constant_text_of(self.evaluate(given[0]))).lower().replace(
            "-", ""
        ).replace("_", "") not in ("utf8", "ascii"):
            return None
        directory = self._package_directory(data.args[0])
        resource = _constant_text_of(self.evaluate(data.args[1]))
        if directory is None or not resource or resource.startswith("/"):
            return None
        path = os.path.join(directory, *resource.split("/"))
        text = self.index.read_file(path)
        return None if text is None else ((Lit(text, self.origin, None, 0, node, path),),)

    def _named_file(self, where: ast.expr, node: ast.Call) -> Value | None:
        """`(SQL_DIR / f"{name}.sql").read_text()` in a function whose parameter `name` names
        the file (a `load_sql("tags")` helper): the parameter, with the reading as what the
        function does to it — each caller's constant name gives that file's text (see
        `FileNamed`). None for any other path."""
        function = self.function
        if function is None:
            return None
        directory: str | None = None
        name: ast.expr | None = None
        if isinstance(where, ast.BinOp) and isinstance(where.op, ast.Div):
            directory, name = self.path_of(where.left), where.right
        elif isinstance(where, ast.Call) and len(where.args) == 1 and not where.keywords:
            func = where.func
            if isinstance(func, ast.Attribute) and func.attr == "joinpath":
                directory, name = self.path_of(func.value), where.args[0]
        elif (
            isinstance(where, ast.Call)
            and _dotted(where.func) == "os.path.join"
            and len(where.args) == 2
            and not where.keywords
            and self._is_module(where.func.value.value, "os")  # type: ignore[attr-defined]
        ):
            directory, name = self.path_of(where.args[0]), where.args[1]
        if directory is None or name is None:
            return None
        value = self.evaluate(name)
        if len(value) != 1:
            return None
        holes = [p for p in value[0] if type(p) is Hole]
        if len(holes) != 1:
            return None
        given = holes[0]
        if given.param is None or given.owner is not function or given.transform is not None:
            return None
        at = value[0].index(given)
        before = "".join(p.text for p in value[0][:at] if type(p) is Lit)
        after = "".join(p.text for p in value[0][at + 1 :] if type(p) is Lit)
        reading = FileNamed(self.index, directory, before, after, node, self.origin)
        reason = f"the file `{_short(name)}` names is read at run time"
        return ((given._replace(node=node, reason=reason, transform=reading),),)

    def path_of(self, node: ast.expr, depth: int = 0) -> str | None:
        """The absolute path an expression surely names, built from the module's `__file__`
        with constant parts: `Path(__file__)`, `.parent`, `.resolve()`, `/ "sql"`,
        `.joinpath(…)`, `.with_name(…)`, `os.path.dirname` / `join` / `abspath`, a name of
        the module bound once to such a path (`HERE = Path(__file__).parent`). None else (a
        relative path depends on where the program runs)."""
        if depth > 12:
            return None
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                own = self.origin.path
                bound = self.lookup("__file__")
                return os.path.abspath(own) if own and bound is None else None
            bound = self.lookup(node.id)
            if isinstance(bound, FilePath):  # `for p in SQL_DIR.glob("*.sql")`
                return bound.path
            if not (isinstance(bound, tuple) and len(bound) == 1 and len(bound[0]) == 1):
                return None
            part = bound[0][0]
            made = part.node if type(part) is Hole and part.origin is self.origin else None
            if not isinstance(made, ast.expr) or made is node:
                return None
            return self.path_of(made, depth + 1)
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            inner = self.path_of(node.value, depth + 1)
            return None if inner is None else os.path.dirname(inner)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            inner = self.path_of(node.left, depth + 1)
            tail = self._path_texts([node.right])
            return None if inner is None or tail is None else os.path.join(inner, *tail)
        if not isinstance(node, ast.Call) or node.keywords:
            return None
        if any(isinstance(a, ast.Starred) for a in node.args):
            return None
        func = node.func
        called = _dotted(func)
        if called.rsplit(".", 1)[-1] == "files" and len(node.args) == 1:
            if not self._resources_function(func, "files"):
                return None
            return self._package_directory(node.args[0])  # `resources.files("app.sql")`
        if called in ("Path", "pathlib.Path", "PurePath", "pathlib.PurePath") and node.args:
            if called.startswith("pathlib."):
                if not self._is_module(func.value, "pathlib"):  # type: ignore[attr-defined]
                    return None
            elif not self._imported_from(called, "pathlib"):
                return None
            inner = self.path_of(node.args[0], depth + 1)
            tail = self._path_texts(node.args[1:])
            return None if inner is None or tail is None else os.path.join(inner, *tail)
        if called in ("os.path.dirname", "os.path.join", "os.path.abspath", "os.path.realpath"):
            if not self._is_module(func.value.value, "os") or not node.args:  # type: ignore[attr-defined]
                return None
            inner = self.path_of(node.args[0], depth + 1)
            if inner is None:
                return None
            if called == "os.path.dirname":
                return os.path.dirname(inner) if len(node.args) == 1 else None
            tail = self._path_texts(node.args[1:])
            if tail is None or (called != "os.path.join" and tail):
                return None
            return (
                os.path.realpath(inner)
                if called == "os.path.realpath"
                else os.path.join(inner, *tail)
            )
        if not isinstance(func, ast.Attribute):
            return None
        inner = self.path_of(func.value, depth + 1)
        if inner is None:
            return None
        tail = self._path_texts(node.args)
        if tail is None:
            return None
        if func.attr in ("resolve", "absolute") and not tail:
            return os.path.realpath(inner) if func.attr == "resolve" else inner
        if func.attr == "joinpath":
            return os.path.join(inner, *tail)
        if func.attr == "with_name" and len(tail) == 1:
            return os.path.join(os.path.dirname(inner), tail[0])
        return None

    def _resources_function(self, func: ast.expr, name: str) -> bool:
        """`func` is importlib.resources' `name` (or the importlib_resources backport's):
        `files` imported from it, `resources.files` (`from importlib import resources`,
        `import importlib.resources as resources`), `importlib.resources.files`."""
        modules = ("importlib.resources", "importlib_resources")
        if isinstance(func, ast.Name):
            bound = self.lookup(func.id)
            return (
                func.id == name
                and isinstance(bound, ImportedRef)
                and bound.name == name
                and bound.module.level == 0
                and bound.module.name in modules
            )
        if not isinstance(func, ast.Attribute) or func.attr != name:
            return False
        owner = func.value
        if isinstance(owner, ast.Name):
            bound = self.lookup(owner.id)
            if isinstance(bound, ModuleRef):
                return bound.level == 0 and bound.name in modules
            return (
                isinstance(bound, ImportedRef)
                and bound.name == "resources"
                and bound.module.level == 0
                and bound.module.name == "importlib"
            )
        return (
            isinstance(owner, ast.Attribute)
            and owner.attr == "resources"
            and isinstance(owner.value, ast.Name)
            and self._is_module(owner.value, "importlib")
        )

    def _package_directory(self, node: ast.expr) -> str | None:
        """The directory of the package an importlib.resources anchor names: a constant
        dotted name of the project (`"app.sql"`, found as an absolute import from this module
        is), or this module's own package (`__package__`, `__name__`, `__spec__.parent`: the
        module's directory). None else."""
        own = self.origin.path
        anchor: str | None = None
        if isinstance(node, ast.Name) and node.id in ("__package__", "__name__"):
            anchor = node.id
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "parent"
            and isinstance(node.value, ast.Name)
            and node.value.id == "__spec__"
        ):
            anchor = node.value.id
        if own and anchor is not None:
            if self.lookup(anchor) is None:
                return os.path.dirname(os.path.abspath(own))
            return None
        if own and isinstance(node, ast.Name | ast.Attribute):
            package = self._package_module(node)
            if package is not None:
                return package
        text = _constant_text_of(self.evaluate(node))
        if not own or not text or not all(p.isidentifier() for p in text.split(".")):
            return None
        found = find_module(os.path.dirname(os.path.abspath(own)), text, 0)
        if found is None:
            return None
        return found if os.path.isdir(found) else os.path.dirname(found)

    def _package_module(self, node: ast.Name | ast.Attribute) -> str | None:
        """The directory of a package of the project an anchor names as a module object
        (`from app import sql as sql_pkg`, `import app.sql`: `files(sql_pkg)`,
        `files(app.sql)`); None for anything else (a module that is no package included)."""
        ref = self.binding_of_receiver(node)
        found: str | None = None
        if isinstance(ref, ImportedRef):
            imported = self.index.imported(ref)
            if isinstance(imported, ModuleRef):
                ref = imported
            elif imported is None and ref.module.importer:
                # `from app import sql`: the submodule, when the package binds no such name
                dotted = f"{ref.module.name}.{ref.name}" if ref.module.name else ref.name
                where = os.path.dirname(os.path.abspath(ref.module.importer))
                found = find_module(where, dotted, ref.module.level)
        if isinstance(ref, ModuleRef) and ref.importer:
            where = os.path.dirname(os.path.abspath(ref.importer))
            found = find_module(where, ref.name, ref.level)
        if found is None or os.path.basename(found) != "__init__.py":
            return None
        return os.path.dirname(found)

    def _path_texts(self, nodes: Sequence[ast.expr]) -> list[str] | None:
        """The constant texts of a path's parts (`"sql"`, a name bound to one), or None."""
        out: list[str] = []
        for node in nodes:
            text = _constant_text_of(self.evaluate(node))
            if text is None or os.path.isabs(text):
                return None
            out.append(text)
        return out

    def listed_files(self, node: ast.expr) -> list[FilePath] | None:
        """The files `DIR.glob("*.sql")` (or `sorted(…)` of it, `DIR.iterdir()`) lists, DIR a
        path built from `__file__` (see `path_of`), in the order of their names; None for
        anything else (a pattern with `**`, a directory known at run time)."""
        if (
            isinstance(node, ast.Call)
            and _is_name(node.func, "sorted")
            and self.lookup("sorted") is None
            and len(node.args) == 1
            and not node.keywords
        ):
            node = node.args[0]
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("glob", "iterdir")
            and not node.keywords
        ):
            return None
        directory = self.path_of(node.func.value)
        if directory is None or not os.path.isdir(directory):
            return None
        if node.func.attr == "iterdir":
            if node.args:
                return None
            pattern = "*"
        else:
            texts = self._path_texts(node.args) if len(node.args) == 1 else None
            if not texts or "**" in texts[0]:
                return None
            pattern = texts[0]
        self.index.consult_directory(directory)  # (a file added there changes the answer)
        found = sorted(str(p) for p in Path(directory).glob(pattern))
        return [FilePath(p) for p in found] if len(found) <= 64 else None

    def _is_module(self, node: ast.expr, name: str) -> bool:
        """`node` is the module `name`, imported as itself (`import os`)."""
        bound = self.lookup(node.id) if isinstance(node, ast.Name) else None
        return isinstance(bound, ModuleRef) and bound.name == name and bound.level == 0

    def _imported_from(self, name: str, module: str) -> bool:
        """`name` is imported from `module` (`from pathlib import Path`)."""
        bound = self.lookup(name)
        return (
            isinstance(bound, ImportedRef)
            and bound.module.name == module
            and bound.module.level == 0
        )

    def whitespace_normaliser(self, node: ast.Call) -> tuple[Collapse, ast.expr] | None:
        """`" ".join(sql.split())`, `re.sub(r"\\s+", " ", sql)` (`\\s{2,}`, `\\s\\s+`: runs of
        two or more), `re.compile(r"\\s+").sub(" ", sql)` or a name bound to that pattern: what
        it does to the text, and the text's expression. None for anything else."""
        func = node.func
        if not isinstance(func, ast.Attribute | ast.Name) or node.keywords:
            return None
        name = func.attr if isinstance(func, ast.Attribute) else func.id
        if name == "join" and isinstance(func, ast.Attribute) and len(node.args) == 1:
            split = node.args[0]
            if (
                isinstance(split, ast.Call)
                and isinstance(split.func, ast.Attribute)
                and split.func.attr == "split"
                and not split.keywords
                and all(isinstance(a, ast.Constant) and a.value is None for a in split.args)
                and len(split.args) <= 1
                and _constant_text_of(self.evaluate(func.value)) == " "
            ):
                return Collapse(node, self.origin, strip=True), split.func.value
            return None
        if name != "sub":
            return None
        arguments = list(node.args)
        if isinstance(func, ast.Attribute) and self._is_re(func.value):
            pattern = arguments.pop(0) if len(arguments) == 3 else None  # `re.sub(p, r, s)`
        elif isinstance(func, ast.Name) and self._is_re(func, "sub"):
            pattern = arguments.pop(0) if len(arguments) == 3 else None  # `from re import sub`
        elif isinstance(func, ast.Attribute):
            pattern = self._compiled_pattern(func.value)  # `re.compile(p).sub(r, s)`
        else:
            return None
        if pattern is None or len(arguments) != 2:
            return None
        minimum = _WHITESPACE_PATTERNS.get(_constant_text_of(self.evaluate(pattern)) or "")
        if minimum is None or _constant_text_of(self.evaluate(arguments[0])) != " ":
            return None
        return Collapse(node, self.origin, strip=False, minimum=minimum), arguments[1]

    def _is_re(self, node: ast.expr, name: str | None = None) -> bool:
        """`re` imported (`import re`), or `name` imported from it (`from re import sub`)."""
        if not isinstance(node, ast.Name):
            return False
        bound = self.lookup(node.id)
        if name is None:
            return isinstance(bound, ModuleRef) and bound.name == "re" and bound.level == 0
        return (
            isinstance(bound, ImportedRef)
            and bound.name == name
            and bound.module.name == "re"
            and bound.module.level == 0
        )

    def _compiled_pattern(self, node: ast.expr) -> ast.expr | None:
        """The pattern of `re.compile(p)` (flags aside), written there or bound to a name of
        the module (`_BLANKS = re.compile(r"\\s+")`) that nothing assigns again."""
        if isinstance(node, ast.Name):
            bound = self.lookup(node.id)
            made = (
                bound[0][0].node
                if isinstance(bound, tuple)
                and len(bound) == 1
                and len(bound[0]) == 1
                and type(bound[0][0]) is Hole
                else None
            )
            node = made if isinstance(made, ast.Call) else node
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "compile"
            and self._is_re(node.func.value)
            and 1 <= len(node.args) <= 2
            and not node.keywords
            and all(_dotted(f) in _SAME_BLANKS for f in _flags(node.args[1:]))
        ):
            return node.args[0]
        return None

    def _arguments(self, node: ast.Call) -> tuple[object, ...] | None:
        """What a call of project functions gives them, for the parameters they return: (bound,
        each positional argument's value or None where unpacked, (keyword, value) pairs, whether
        it unpacks a `*` or `**` argument). None when it gives no argument: a parameter's
        default is then what the function returns (any argument, string-like or not — `q(sql
        or DEFAULT)`, `q(**kw)` — may replace the default: round 28, outside review h28e)."""
        if not node.args and not node.keywords:
            return None
        func = node.func
        receiver = self.binding_of_receiver(func.value) if isinstance(func, ast.Attribute) else None
        positional = tuple(
            None if isinstance(a, ast.Starred) else self.evaluate(a) for a in node.args
        )
        keywords = tuple((k.arg, self.evaluate(k.value)) for k in node.keywords if k.arg)
        unpacked = any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        )
        # whether a method's `self` is surely given or not: `obj.q(sql)`, `Repo.q(obj, sql)` —
        # not `f = self.q; f(sql)`, whose first argument is `text`, not `self` (round 28,
        # outside review h28e: it was given to `self`, and `text` read as its default)
        known = isinstance(receiver, InstanceRef | ClassRef)
        # (pairs, not a dict: a hole holding them is hashed)
        ordered = tuple(self.sequences(node).items())
        return (isinstance(receiver, InstanceRef), positional, keywords, unpacked, known, ordered)

    def sequences(self, node: ast.Call) -> dict[int | str, tuple[tuple[Value, ...], ...]]:
        """The items each list argument of a call holds, in order, on each path (under "*"
        those of a last `*conds`), for a callee that joins its parameter (`Call.sequences`)."""
        out: dict[int | str, tuple[tuple[Value, ...], ...]] = {}
        arguments = [*enumerate(node.args), *((k.arg, k.value) for k in node.keywords)]
        for key, argument in arguments:
            if key is None:
                continue
            if isinstance(argument, ast.Starred):
                if key != len(node.args) - 1:
                    continue
                key, argument = "*", argument.value
            lists = self._sequence(argument)
            if lists is not None:
                out[key] = lists
        return out

    def _sequence(self, argument: ast.expr) -> tuple[tuple[Value, ...], ...] | None:
        """The items an argument holds in order on each path (a list or tuple display without
        `*`, a constant list a name holds, each list a grown list may hold); None otherwise."""
        if isinstance(argument, ast.List | ast.Tuple):
            if any(isinstance(e, ast.Starred) for e in argument.elts):
                return None
            return (tuple(self.evaluate(e) for e in argument.elts),)
        if isinstance(argument, ast.Name | ast.Attribute):
            items = self.items_of(argument)
            if items is not None and items.keys is None and items.ordered and not items.subset:
                return (items.values,)
        if isinstance(argument, ast.Name):
            grown = self.lookup(argument.id)
            if isinstance(grown, Grown):
                return grown.lists
        return None

    def returning(self, func: ast.expr) -> Callable[[], list[FunctionInfo]] | None:
        """The project functions a call surely runs (a method: the one its class finds, and
        its overrides in subclasses of the same module), for what they return. Not a module's
        function a file of the project may replace (`helpers.where = any_of`, `setattr(helpers,
        "where", …)`: h36Q, the call was read as the function the module defines)."""
        if isinstance(func, ast.Name):
            binding = self.lookup(func.id)
            if isinstance(binding, FuncRef | ImportedRef):
                name = binding.name if isinstance(binding, ImportedRef) else binding.info.name
                if not (isinstance(binding, FuncRef) and binding.info.cls is not None) and (
                    self.index.changed_outside(name)
                ):
                    return None
                return self.index.callees(binding)
            return None
        if not isinstance(func, ast.Attribute):
            return None
        if _is_super(func.value) and self.lookup("super") is None:
            return self._super_callees(func.attr)
        receiver = self.binding_of_receiver(func.value)
        if isinstance(receiver, ModuleRef | ImportedRef):
            if self.index.changed_outside(func.attr):
                return None
            return self.index.module_callees(receiver, func.attr)
        if isinstance(receiver, InstanceRef | ClassRef) and (
            self.index.changed_outside(func.attr)
            or func.attr in _rebound(self.module)[1]
            or _ANY_NAME in _rebound(self.module)[1]
            or (self.module.tree is not None and func.attr in _attribute_stores(self.module.tree))
        ):
            return None  # `Repo.where = any_of` in this or another file (h36Q), as for its text
        if isinstance(receiver, InstanceRef):
            return self.index.overrides(receiver.info, func.attr, exact=receiver.exact)
        if isinstance(receiver, ClassRef):
            return self.index.overrides(receiver.info, func.attr)
        return None

    def _super_callees(self, name: str) -> Callable[[], list[FunctionInfo]] | None:
        """`super().name()` in a method of a project class C: the method `name` each class
        of the project deriving from C (C included) finds after C in its order — the next base
        of C's, or a mixin a subclass puts between them (h42D: TG009 at `return super()._sql()
        + " ORDER BY name"`). None outside a method, where the method may be replaced, or where
        a base outside the project may come first."""
        function = self.function
        owner = function.cls if function is not None else None
        if (
            owner is None
            or function is None
            or function.method_kind not in ("method", "classmethod")
            or function.node not in owner.node.body
            or self.index.changed_outside(name)
            or name in _rebound(self.module)[1]
            or _ANY_NAME in _rebound(self.module)[1]
            or (self.module.tree is not None and name in _attribute_stores(self.module.tree))
        ):
            return None
        index = self.index

        def resolve() -> list[FunctionInfo]:
            found: list[FunctionInfo] = []
            for cls in [owner, *index._subclasses(owner)]:
                order, complete = index.bases(cls)
                at = next((i for i, c in enumerate(order) if c is owner), None)
                if at is None or not complete:
                    return []
                method = next((c.methods[name] for c in order[at + 1 :] if name in c.methods), None)
                if method is None:
                    return []
                if all(method is not f for f in found):
                    found.append(method)
            return found

        return resolve

    def identifiers(self, items: ast.expr) -> list[Value] | None:
        """psycopg's `map(sql.Identifier, COLUMNS)` or `(sql.Identifier(c) for c in COLUMNS)`
        of a tuple or list of constants (written there or named): each item quoted as psycopg
        quotes a name; `map(sql.Placeholder, FIELDS)` or `(sql.Placeholder(f) for f in
        FIELDS)`: each a named bind placeholder, `%(field)s` (h35D: TG009 before). None for
        another shape."""
        shape = _identifier_source(items)
        if shape is None:
            return None
        source, made = shape
        values: Sequence[Value]
        if isinstance(source, ast.List | ast.Tuple):
            if not source.elts or any(isinstance(e, ast.Starred) for e in source.elts):
                return None
            values = [self.evaluate(e) for e in source.elts]
        else:
            named = self.items_of(source)
            if named is None or named.keys is not None or not named.ordered:
                return None
            values = named.values
        origin = self.origin
        quoted: list[Value] = []
        if made == "Placeholder":
            # a bind placeholder whatever its name: `%(name)s` of a constant, `%s` otherwise
            return [
                tuple(
                    (Lit(f"%({a[0].text})s", origin, None, 0, source),)
                    if len(a) == 1 and type(a[0]) is Lit and a[0].text.isidentifier()
                    else (Lit("%s", origin, None, 0, source),)
                    for a in value
                )
                for value in values
            ]
        for value in values:
            quote = ((Lit('"', origin, None, 0, source),),)
            inner = tuple(name_text(a) for a in value)
            quoted.append(concat([quote, inner, quote], source, origin))
        return quoted

    def _composable(self, node: ast.expr, composed: bool) -> Value:
        """An argument of `.format()`; psycopg's `Identifier`/`Literal`/`Placeholder` render as
        PostgreSQL would see them."""
        origin = self.origin
        if composed and isinstance(node, ast.Call):
            name = _called_name(node)
            if name == "Identifier" and node.args and not node.keywords:
                names = [self.evaluate(a) for a in node.args]
                parts: list[Value] = []
                for index, value in enumerate(names):
                    if index:
                        parts.append(((Lit(".", origin, None, 0, node),),))
                    quote = ((Lit('"', origin, None, 0, node.args[index]),),)
                    inner = tuple(name_text(a) for a in value)
                    parts.extend([quote, inner, quote])
                result = concat(parts, node, origin)
                return result
            if name == "Literal" and len(node.args) == 1:
                argument = node.args[0]
                if (
                    isinstance(argument, ast.Constant)
                    and isinstance(argument.value, int | float)
                    and not isinstance(argument.value, bool)
                ):
                    text = str(argument.value)
                    return ((Lit(text, origin, None, 0, argument),),)
                if (
                    isinstance(argument, ast.Constant)
                    and isinstance(argument.value, str)
                    and "'" not in argument.value
                ):
                    quoted = (
                        (
                            Lit("'", origin, None, 0, argument),
                            Lit(argument.value, origin, argument),
                            Lit("'", origin, None, 0, argument),
                        ),
                    )
                    return quoted
                # a value known at run time, quoted by psycopg as it renders it: a value of
                # the statement, as a bind parameter is (it cannot change what the SQL says)
                return hole(
                    argument,
                    origin,
                    f"`{_short(argument)}` is a value psycopg quotes (`sql.Literal`)",
                    kind="literal",
                )
            if name == "Placeholder":
                label = (
                    node.args[0]
                    if node.args
                    else next((k.value for k in node.keywords if k.arg == "name"), None)
                )
                if label is None:
                    return ((Lit("%s", origin, None, 0, node),),)
                if isinstance(label, ast.Constant) and isinstance(label.value, str):
                    text = f"%({label.value})s"
                    return ((Lit(text, origin, None, 0, node),),)
                # a name known at run time (`sql.Placeholder(field)`, a loop's): a bind
                # placeholder whatever it is (h35D: read as the call again, without end)
                named = self.evaluate(label)
                return tuple(
                    (Lit(f"%({a[0].text})s", origin, None, 0, node),)
                    if len(a) == 1 and type(a[0]) is Lit and a[0].text.isidentifier()
                    else (Lit("%s", origin, None, 0, node),)
                    for a in named
                )
            if name == "SQL" and node.args:
                result = self.evaluate(node.args[0])
                return result
        return self._argument(node)


def _identifier_source(items: ast.expr) -> tuple[ast.expr, str] | None:
    """Of psycopg's `map(sql.Identifier, COLUMNS)` or `(sql.Identifier(c) for c in COLUMNS)`
    (`Placeholder` too): the expression of the names and what each is made ("Identifier",
    "Placeholder"); None for another shape."""
    if (
        isinstance(items, ast.Call)
        and _is_name(items.func, "map")
        and len(items.args) == 2
        and not items.keywords
        and isinstance(items.args[0], ast.Attribute)
        and items.args[0].attr in ("Identifier", "Placeholder")
        and _receiver_name(items.args[0].value) in _SQL_MODULES
    ):
        return items.args[1], items.args[0].attr
    if (
        isinstance(items, ast.GeneratorExp | ast.ListComp)
        and len(items.generators) == 1
        and not items.generators[0].ifs
        and not items.generators[0].is_async
        and isinstance(items.generators[0].target, ast.Name)
        and isinstance(items.elt, ast.Call)
        and _is_sql_module_call(items.elt)
        and isinstance(items.elt.func, ast.Attribute)
        and items.elt.func.attr in ("Identifier", "Placeholder")
        and len(items.elt.args) == 1
        and not items.elt.keywords
        and _is_name(items.elt.args[0], items.generators[0].target.id)
    ):
        return items.generators[0].iter, items.elt.func.attr
    return None


def _only_joined_or_tested(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    name: str,
    joined: ast.Name,
    builtin_len: bool = True,
) -> bool:
    """Whether every other use of `name` in the function tests whether it is empty (`if
    conds`, `not conds`, `len(conds) == 0` when `len` is the builtin, in an `if`, a
    conditional expression or a `while`) and none binds it."""
    allowed: set[int] = {id(joined)}
    for node in ast.walk(function):
        if not isinstance(node, ast.If | ast.IfExp | ast.While):
            continue
        tests = node.test.values if isinstance(node.test, ast.BoolOp) else [node.test]
        for test in tests:
            if not builtin_len and any(
                isinstance(n, ast.Name) and n.id == "len" for n in ast.walk(test)
            ):
                continue
            if _emptiness_test(test) == (name, True) or _emptiness_test(test) == (name, False):
                allowed.update(
                    id(n) for n in ast.walk(test) if isinstance(n, ast.Name) and n.id == name
                )
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == name and id(node) not in allowed:
            return False
    return True


# `str` methods that take characters off a text's ends (`.strip()` with no argument, which
# takes whitespace only, is read as the text itself: `_STRIPS`)
_END_STRIPS = frozenset({"strip", "lstrip", "rstrip", "removeprefix", "removesuffix"})


def _stripped(value: Value, name: str, chars: str) -> Value | None:
    """`value.<name>(chars)` as Python computes it, alternative by alternative: each end it
    strips must be constant text up to where the stripping stops (None otherwise, or when
    an alternative becomes empty: what it sends is read at run time)."""
    if not chars and name in ("removeprefix", "removesuffix"):
        return value  # (nothing to remove)
    out: list[Alternative] = []
    for alternative in value:
        parts: list[Part] | None = list(alternative)
        if parts is not None and name in ("strip", "lstrip", "removeprefix"):
            parts = _stripped_end(parts, name, chars, right=False)
        if parts is not None and name in ("strip", "rstrip", "removesuffix"):
            parts = _stripped_end(parts, name, chars, right=True)
        if not parts:
            return None
        out.append(tuple(parts))
    return tuple(out)


def _stripped_end(parts: list[Part], name: str, chars: str, *, right: bool) -> list[Part] | None:
    """`parts` with one end stripped (`right`: the end), or None when a part known only at
    run time is reached before the stripping stops."""
    parts = list(parts)
    if name in ("removeprefix", "removesuffix"):
        text = ""
        for part in reversed(parts) if right else parts:
            if type(part) is not Lit:
                break
            text = part.text + text if right else text + part.text
            if len(text) >= len(chars):
                break
        if len(text) < len(chars):
            return None  # the text may be shorter than the affix, or end in a value
        if not (text.endswith(chars) if right else text.startswith(chars)):
            return parts
        left = len(chars)
    else:
        left = -1  # as many as are among `chars`
    while parts:
        index = len(parts) - 1 if right else 0
        part = parts[index]
        if type(part) is not Lit:
            return None
        if left >= 0:
            cut = min(left, len(part.text))
            left -= cut
            kept = part.text[: len(part.text) - cut] if right else part.text[cut:]
        else:
            kept = part.text.rstrip(chars) if right else part.text.lstrip(chars)
        if kept:
            start = 0 if right else len(part.text) - len(kept)
            parts[index] = part.sliced(start, start + len(kept))
            if left <= 0:
                return parts
        else:
            del parts[index]
            if left == 0:
                return parts
    return parts


def _is_super(node: ast.expr) -> bool:
    """`super()`, with no arguments."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "super"
        and not node.args
        and not node.keywords
    )
