"""The walker's evaluation of expressions to string values: names, attributes, items, enum
members, f-strings, `%` formatting, conditionals and membership tests (`evaluate`), and the
instance a receiver names (`binding_of_receiver`). A call's value is asked of `call_value`
(the `texts` layer); items of `items_of` (`calls`). Relies on `scopes`, `model`, `syntax`,
`stores`, `loops`, `names`.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from tenantguard.sources.pyflow.loops import _PAST_FIRST, _constant_number, _tested_for_items
from tenantguard.sources.pyflow.model import (
    _MAX_DEPTH,
    ClassRef,
    FilePath,
    FuncRef,
    Grown,
    ImportedRef,
    InstanceRef,
    Items,
    ModuleRef,
    _imports_django,
)
from tenantguard.sources.pyflow.names import (
    _TEXT_MODULES,
    _TRANSPARENT,
    _dotted,
    _is_name,
    _set_display,
    _short,
    expression_name,
)
from tenantguard.sources.pyflow.scopes import _Scopes
from tenantguard.sources.pyflow.stores import _added_display
from tenantguard.sources.pyflow.syntax import (
    _DOLLAR_END,
    _KWARG,
    _added,
    _constant_spec,
    _constant_text,
    _enum_member_name,
    _is_enum,
    _is_property,
    _makes_records,
    _may_change_fields,
    _plain_dataclass,
    _surely_false,
)
from tenantguard.sources.pyvalues import (
    Hole,
    Lit,
    concat,
    format_percent,
    formatted,
    formatted_numbers,
    hole,
    integer_value,
    is_constant,
    union,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tenantguard.sources.pyflow.model import Binding, ClassInfo, FunctionInfo, ModuleInfo
    from tenantguard.sources.pyvalues import Value


# the key under which a member `for s in Status` is at holds its value (`enum_members`): no
# field of a record has that name
_LOOPED_MEMBER = "\0member"

# the key under which a field `for f in fields(Row)` is at holds its name (`dataclass_fields`)
_LOOPED_FIELD = "\0field"


class _Values(_Scopes):
    """Evaluation of expressions to string values (see the module docstring)."""

    # bindings and values

    def _own_kwarg(self, node: ast.Call | ast.Subscript) -> str | None:
        """The key `node` reads of the running function's `**kwargs` as the function
        received it: `kw.pop("sql")`, `kw.get("sql")` (no default) or `kw["sql"]`,
        where the function's body only ever reads keys of `kw` that way, each key once, or
        passes it on whole (`**kw`); else None."""
        function = self.function
        kwarg = function.node.args.kwarg if function is not None else None
        if function is None or kwarg is None:
            return None
        key = _kwarg_key(node, kwarg.arg)
        if key is None or (isinstance(node, ast.Call) and len(node.args) > 1):
            return None  # (`kw.get("sql", DEFAULT)`: the default is sent when none is given)
        if not self._as_received(kwarg):
            return None  # bound again
        return key if _kwargs_only_read(function.node, kwarg.arg, key) else None

    def _as_received(self, kwarg: ast.arg) -> bool:
        """Whether the running function's `**kwargs` is bound to what it received (not bound
        again in its body)."""
        bound = self.lookup(kwarg.arg)
        return (
            isinstance(bound, tuple)
            and len(bound) == 1
            and len(bound[0]) == 1
            and type(bound[0][0]) is Hole
            and bound[0][0].node is kwarg
        )

    def plain_read(self, node: ast.expr) -> ast.expr:
        """`getattr(q, "PARTS")`, `vars(q)["PARTS"]`, `vars(q).get("PARTS")`,
        `q.__dict__["PARTS"]` (a module's name spelt as a constant, the built-ins not
        rebound): the attribute `q.PARTS` they read, placed where they are (h35D: TG009
        before); what changes it so is read by the alias scan. Else the node itself."""
        if not isinstance(node, ast.Call | ast.Subscript):
            return node
        owner: ast.expr | None = None
        key: ast.expr | None = None
        if isinstance(node, ast.Call):
            func = node.func
            if (
                _is_name(func, "getattr")
                and len(node.args) == 2
                and not node.keywords
                and self.lookup("getattr") is None
            ):
                owner, key = node.args
            elif (
                isinstance(func, ast.Attribute)
                and func.attr == "get"
                and len(node.args) == 1
                and not node.keywords
            ):
                owner, key = self._namespace_of(func.value), node.args[0]
        else:
            owner, key = self._namespace_of(node.value), node.slice
        if (
            owner is None
            or isinstance(owner, ast.Starred)
            or not (isinstance(key, ast.Constant) and isinstance(key.value, str))
            or not key.value.isidentifier()
        ):
            return node
        if isinstance(node, ast.Subscript) or not _is_name(node.func, "getattr"):
            # `vars(x)` / `x.__dict__` of a module only (an object's holds its own names)
            held = self.lookup(owner.id) if isinstance(owner, ast.Name) else None
            if isinstance(held, ImportedRef):
                held = self.index.imported(held)
            if not isinstance(held, ModuleRef):
                return node
        return ast.copy_location(ast.Attribute(owner, key.value, ast.Load()), node)

    def _namespace_of(self, node: ast.expr) -> ast.expr | None:
        """`x` of `vars(x)` (the built-in) or of `x.__dict__`; else None."""
        if (
            isinstance(node, ast.Call)
            and _is_name(node.func, "vars")
            and len(node.args) == 1
            and not node.keywords
            and self.lookup("vars") is None
        ):
            return node.args[0]
        if isinstance(node, ast.Attribute) and node.attr == "__dict__":
            return node.value
        return None

    def instance_of(self, node: ast.expr) -> InstanceRef | None:
        """`Queries()` (or `m.Queries()`, imported) of a class of the project: an instance of
        it, whose methods are the class's (or a subclass's override: each is read)."""
        if not isinstance(node, ast.Call):
            return None
        made = self.binding_of_receiver(node.func)
        if isinstance(made, ImportedRef):
            imported = self.index.imported(made)
            made = imported if isinstance(imported, ClassRef) else made
        if not isinstance(made, ClassRef):
            return None
        given = self._fields_given(made.info, node)
        return InstanceRef(
            made.info, exact=True, bare=not node.args and not node.keywords, given=given
        )

    def records_made(self, elements: list[ast.expr]) -> tuple[InstanceRef, ...] | None:
        """The objects a display's items make when each calls a record class of the project
        with its fields given (`(Query("tags", "SELECT …"), Query(…))`): each one; else None."""
        made: list[InstanceRef] = []
        for element in elements:
            instance = self.instance_of(element) if isinstance(element, ast.Call) else None
            if instance is None or not instance.given:
                return None
            made.append(instance)
        return tuple(made) if made else None

    def record_item(self, collection: ast.expr, key: ast.expr) -> InstanceRef | None:
        """An item of a tuple, list or dict of records of the project each made with its
        fields given (`Items.records`): the one a constant key names, else any of them."""
        items = self.items_of(collection)
        if items is None or items.records is None or not items.ordered:
            return None
        records = items.records
        if isinstance(key, ast.Slice):
            return None
        if isinstance(key, ast.Constant):
            if items.keys is not None and key.value in items.keys:
                at = len(items.keys) - 1 - items.keys[::-1].index(key.value)
                return records[at]
            if items.keys is None and type(key.value) is int:
                count = len(records)
                return records[key.value] if -count <= key.value < count else None
            if items.keys is not None and not any(k.startswith("\0") for k in items.keys):
                return None  # no such item: the call fails at run time
        return self.any_record(records, key)

    def any_record(self, records: tuple[InstanceRef, ...], node: ast.AST) -> InstanceRef | None:
        """Any one of these records, as one object whose fields hold any of their values
        (each checked); None unless they are of one class and give the same fields."""
        first = records[0]
        names = [name for name, _ in first.given]
        if any(r.info is not first.info or [n for n, _ in r.given] != names for r in records):
            return None
        given = tuple(
            (name, union([dict(r.given)[name] for r in records], node, self.origin))
            for name in names
        )
        return InstanceRef(first.info, exact=True, given=given)

    def _fields_given(self, info: ClassInfo, node: ast.Call) -> tuple[tuple[str, Value], ...]:
        """The fields a call of a dataclass or NamedTuple of the project gives, each with its
        argument's value (`Query("SELECT …", name="x")`); none where an argument is unpacked
        (`*args`, `**kw`) or does not map to a field (Python raises)."""
        fields = info.fields
        if not fields or not (node.args or node.keywords):
            return ()
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            return ()
        if len(node.args) > len(fields) or (info.kw_only and node.args):
            return ()
        given: dict[str, Value] = {}
        for name, argument in zip(fields, node.args, strict=False):
            given[name] = self.evaluate(argument)
        for keyword in node.keywords:
            if keyword.arg not in fields or keyword.arg in given:
                return ()
            given[keyword.arg] = self.evaluate(keyword.value)
        if info.defaults and not self.index.changed_outside("__defaults__", dunder=True):
            # a field the call leaves out holds its default, as one made with no arguments
            # does (`Report("by status").sql`; `Query("a", "…", one=True)` beside
            # `Query("b", "…")` in one registry: the same fields, read through an item)
            for name in fields:
                default = info.defaults.get(name)
                if name not in given and isinstance(default, tuple):
                    given[name] = default
        return tuple((name, given[name]) for name in fields if name in given)

    def binding_of_receiver(self, node: ast.expr) -> Binding | None:
        """The reference an expression stands for (`self`, a class, a module), if any."""
        if isinstance(node, ast.Name):
            return self.lookup(node.id)
        if isinstance(node, ast.Subscript):
            return self.record_item(node.value, node.slice)  # `NAMED[0]`, `BY_NAME[k]`
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and len(node.args) == 1
            and not node.keywords
        ):
            record = self.record_item(node.func.value, node.args[0])  # `BY_NAME.get(k)`
            if record is not None:
                return record
        if isinstance(node, ast.Call):
            if _is_name(node.func, "type") and len(node.args) == 1 and not node.keywords:
                made = self.binding_of_receiver(node.args[0])  # `type(self)`: self's class
                return made if isinstance(made, InstanceRef) else None
            return self.instance_of(node)
        if isinstance(node, ast.Attribute):
            base = self.binding_of_receiver(node.value)
            if node.attr == "__class__" and isinstance(base, InstanceRef):
                return base  # `self.__class__`: self's class
            if isinstance(base, ImportedRef):
                imported = self.index.imported(base)  # `from m import Repo`: Repo.X
                base = imported if isinstance(imported, ClassRef) else base
            if isinstance(base, ModuleRef | ImportedRef):
                return self.index.attribute_of(base, node.attr)
            if isinstance(base, ClassRef | InstanceRef):
                found = self.index.class_attribute(base.info, node.attr)
                if (
                    isinstance(base, InstanceRef)
                    and isinstance(found, FuncRef)
                    and found.info.method_kind == "method"
                ):
                    return FuncRef(found.info, bound=True)  # `fetch = self._fetch`
                return found if isinstance(found, ClassRef | FuncRef) else None
        return None

    def name_value(self, node: ast.Name) -> Value:
        binding = self.lookup(node.id)
        if binding is None:
            return hole(node, self.origin, f"`{node.id}` is not assigned a constant in this module")
        value = self.index.as_value(binding, node, self.origin, node.id)
        # a name that holds nothing known enters the string where it is used
        return tuple(
            (a[0]._replace(node=node),)
            if len(a) == 1 and type(a[0]) is Hole and self.origin.same_file(a[0].origin)
            else a
            for a in value
        )

    def evaluate(self, node: ast.expr) -> Value:
        """The strings an expression can evaluate to."""
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                return hole(node, self.origin, "the string expression is nested too deeply")
            return self._evaluate(node)
        finally:
            self.depth -= 1

    def _evaluate(self, node: ast.expr) -> Value:
        origin = self.origin
        if isinstance(node, ast.Call | ast.Subscript):
            key = self._own_kwarg(node)
            if key is not None:
                # `kw.pop("sql")` in `async def _call(self, **kw)`: the caller's `sql=` (h37D:
                # TG009 in the wrapper, and `self._call(sql=T.format(table="tickets"))` never
                # checked)
                reason = f"the SQL is `{_short(node)}`, given by the caller as `{key}=`"
                return hole(node, origin, reason, param=_KWARG + key, owner=self.function)
            node = self.plain_read(node)
        kind = type(node)
        if kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if isinstance(value, str):
                return ((Lit(value, origin, node),),)
            number = value if isinstance(value, int | float) else None
            reason = f"{value!r} is not a string"
            integer = type(value) is int  # not a bool: `True` formats as a word
            return hole(
                node,
                origin,
                reason,
                kind="value",
                string=False,
                number=number,
                integer=integer,
                false=not value,
            )
        if kind is ast.Name:
            return self.name_value(node)  # type: ignore[arg-type]
        if kind is ast.JoinedStr:
            return self.fstring(node)  # type: ignore[arg-type]
        if kind is ast.BinOp:
            op = type(node.op)  # type: ignore[attr-defined]
            if op in (ast.Add, ast.Sub, ast.Mult) and self.numeric(node):
                return self.counted(node, node.left, node.right)  # type: ignore[attr-defined]
            if op is ast.Add:
                operands = _added(node)  # type: ignore[arg-type]
                return concat([self.evaluate(o) for o in operands], node, origin)
            if op is ast.Mod:
                return self.percent(node)  # type: ignore[arg-type]
            return hole(node, origin, "the string is computed at run time")
        if kind is ast.IfExp:
            return self.conditional(node)  # type: ignore[arg-type]
        if kind is ast.BoolOp:
            values = [self.evaluate(v) for v in node.values]  # type: ignore[attr-defined]
            if type(node.op) is ast.Or:  # type: ignore[attr-defined]
                # `ORDER.get(o, None) or "id"`: an operand gives its value only when it is
                # true — a None, False, 0 or "" it may hold gives the next operand's instead
                values = [
                    tuple(a for a in v if not _surely_false(a)) if i < len(values) - 1 else v
                    for i, v in enumerate(values)
                ]
                values = [v for v in values if v]
            return union(values, node, origin)
        if kind is ast.Call:
            return self.call_value(node)  # type: ignore[arg-type]
        if kind is ast.Attribute:
            listed = (
                self.lookup(node.value.id)  # type: ignore[attr-defined]
                if type(node.value) is ast.Name  # type: ignore[attr-defined]
                else None
            )
            if isinstance(listed, FilePath) and node.attr in ("stem", "name", "suffix"):  # type: ignore[attr-defined]
                path = Path(listed.path)
                text = getattr(path, node.attr)  # type: ignore[attr-defined]
                return ((Lit(text, origin, None, 0, node),),)  # `p.stem` of a listed file
            member = self.enum_value(node)  # type: ignore[arg-type]
            if member is not None:
                return member
            if node.attr == "name" and type(node.value) is ast.Name:  # type: ignore[attr-defined]
                looped = self.lookup(node.value.id)  # type: ignore[attr-defined]
                if isinstance(looped, InstanceRef) and looped.exact:
                    at = dict(looped.given).get(_LOOPED_FIELD)
                    if at is not None:
                        return at  # `f.name` of `for f in fields(Row)`, at one field
            binding = self.attribute_binding(node)  # type: ignore[arg-type]
            if isinstance(binding, FuncRef) and _is_property(binding.info.node):
                return self.property_value(node, binding)  # type: ignore[arg-type]
            if binding is not None:
                return self.index.as_value(binding, node, origin, ast.unparse(node))
            return hole(node, origin, f"`{_short(node)}` is read at run time")
        if kind is ast.Await or kind is ast.NamedExpr:  # (`q := "SELECT …"` is its value)
            return self.evaluate(node.value)  # type: ignore[attr-defined]
        if kind is ast.Starred:
            return hole(node, origin, "a starred argument")
        if kind is ast.Subscript:
            found = self.item(node.value, node.slice)  # type: ignore[attr-defined]
            if found is not None:
                return found
        return hole(node, origin, f"the SQL is computed at run time ({kind.__name__.lower()})")

    def item(self, collection: ast.expr, key: ast.expr) -> Value | None:
        """`QUERIES["lead"]`, `STEPS[0]`: the item; with a key known at run time, any item."""
        items = self.items_of(collection)
        if items is None or not items.ordered or isinstance(key, ast.Slice):
            return None
        if isinstance(key, ast.Constant):
            index = key.value
            if items.keys is not None and index in items.keys:
                return items.values[len(items.keys) - 1 - items.keys[::-1].index(index)]
            if items.keys is not None and any(k.startswith("\0") for k in items.keys):
                return union(items.values, key, self.origin)  # a name's key may equal it
            if items.keys is None and type(index) is int:
                count = len(items.values)
                return items.values[index] if -count <= index < count else None
            return None  # no such item: the call fails at run time
        return union(items.values, key, self.origin)

    def enum_value(self, node: ast.Attribute) -> Value | None:
        """`Query.PINNED.value` of an `Enum` of the project: the member's constant. A member
        known only at run time — `Sort(text)`, `Sort[name]`, a name bound to one, a parameter
        annotated `Sort` (`| None`, `Optional`, `Annotated`) — is one of the members: each
        member's value (Python raises for anything else; the annotation is trusted as a
        `Literal[…]` one is, see `_run_function`)."""
        member = node.value
        if node.attr != "value":
            return None
        name: str | None = None
        if isinstance(member, ast.Attribute):
            owner = self.binding_of_receiver(member.value)
            name = member.attr
            if not isinstance(owner, ClassRef | ImportedRef):
                owner, name = self._field_member(member), None  # `params.sort.value`
        else:
            owner = self._some_member(member)
        if isinstance(owner, ImportedRef):
            owner = self.index.imported(owner)
        if not isinstance(owner, ClassRef) or not _is_enum(owner.info):
            return None
        if not self._plain_values(owner.info):
            return None
        looped = self.lookup(member.id) if isinstance(member, ast.Name) else None
        if isinstance(looped, InstanceRef) and looped.exact and looped.info is owner.info:
            at = dict(looped.given).get(_LOOPED_MEMBER)
            if at is not None:
                return at  # `s.value` of `for s in Status`, at one member (`enum_members`)
        if name is not None:
            found = self.index.class_attribute(owner.info, name)
            return found if isinstance(found, tuple) else None
        if any(
            "_missing_" in cls.methods or "_missing_" in cls.attributes
            for cls in self.index.bases(owner.info)[0]
        ):
            return None  # `_missing_` may make a pseudo-member of any value it is given
        members = [
            binding if isinstance(binding, tuple) else hole(member, self.origin, "not a string")
            for attr, binding in owner.info.attributes.items()
            if _enum_member_name(attr) and isinstance(binding, tuple | Items)
        ]
        # an enum with no members of its own may be the base of enums that have some
        return union(members, member, self.origin) if members else None

    def _plain_values(self, info: ClassInfo) -> bool:
        """Whether a member's `.value` of the project enum `info` is the constant its class
        body gives it: not its own `value` (a property), nor a member's `_value_` set from
        outside (`Q.PIN._value_ = …`)."""
        order, _ = self.index.bases(info)
        return not (
            any(
                attr in cls.methods or attr in cls.attributes
                for cls in order
                for attr in ("value", "_value_", "__getattribute__", "__getattr__")
            )
            or self.index.changed_outside("_value_")
        )

    def enum_members(self, node: ast.expr) -> list[Binding] | None:
        """What `for s in Status` binds `s` to, member after member, when `node` names an
        enum class of the project (not a `Flag`) whose members' values are distinct
        constant strings, at least one (an alias, a second name for a value, is not
        iterated; `auto()`, tuples: unknown): each member, read as `s.value` gives its
        constant (`enum_value`). None for anything else."""
        owner = self.binding_of_receiver(node)
        if isinstance(owner, ImportedRef):
            owner = self.index.imported(owner)
        if not isinstance(owner, ClassRef) or not _is_enum(owner.info):
            return None
        info = owner.info
        order, _ = self.index.bases(info)
        if (
            not self._plain_values(info)
            or any("Flag" in _dotted(b) for cls in order for b in cls.base_exprs)
            or any("__new__" in cls.methods or "__init__" in cls.methods for cls in order)
            or not _plain_enum_body(info.node)
            or self._members_added(info)
        ):
            return None  # (an enum with members has no subclass: its members are its own)
        values: list[Value] = []
        texts: set[str] = set()
        for attr, binding in info.attributes.items():
            if not _enum_member_name(attr):
                continue
            if not (isinstance(binding, tuple) and len(binding) == 1 and is_constant(binding[0])):
                return None
            text = "".join(p.text for p in binding[0] if type(p) is Lit)
            if text in texts:
                return None
            texts.add(text)
            values.append(binding)
        if not values or len(values) > 64:
            return None
        return [InstanceRef(info, exact=True, given=((_LOOPED_MEMBER, v),)) for v in values]

    def _members_added(self, info: ClassInfo) -> bool:
        """Whether a file of the project may give the enum members its body does not make, or
        replace it: `extend_enum(Status, "ALL", …)` (aenum) or `Status._member_map_[…] = …`
        anywhere, `q.Status = …` (h37Q: a member added at run time, `"tags --"`, ended the
        joined statement's filter, read with the body's members only: no finding)."""
        index = self.index
        return (
            index.changed_outside(info.name)
            or index.changed_outside("_member_map_", stored=False)
            or index.changed_outside("_member_map_")
            or any(
                index._changed_somewhere(f"handed:{adder}:{info.name}")
                for adder in ("extend_enum", "_add_member_", "add_member")
            )
        )

    def dataclass_fields(self, node: ast.expr) -> list[Binding] | None:
        """What `for f in fields(Row)` binds `f` to, field after field (the standard
        library's `dataclasses.fields`, of a plain dataclass of the project or an object of
        one, whose fields the reader knows: `ClassInfo.fields`): each field, read as `f.name`
        gives its name. None for anything else."""
        if not (
            isinstance(node, ast.Call)
            and len(node.args) == 1
            and not node.keywords
            and not isinstance(node.args[0], ast.Starred)
        ):
            return None
        func = node.func
        if isinstance(func, ast.Name):
            bound = self.lookup(func.id)
            if not (
                isinstance(bound, ImportedRef)
                and bound.name == "fields"
                and bound.module.level == 0
                and bound.module.name == "dataclasses"
            ):
                return None
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module = self.lookup(func.value.id)
            if not (
                func.attr == "fields"
                and isinstance(module, ModuleRef)
                and module.level == 0
                and module.name == "dataclasses"
            ):
                return None
        else:
            return None
        owner = self.binding_of_receiver(node.args[0])
        if isinstance(owner, ImportedRef):
            owner = self.index.imported(owner)
        if not isinstance(owner, ClassRef | InstanceRef):
            return None
        info = owner.info
        if info.fields is None or not _plain_dataclass(info) or not info.fields:
            return None
        if info.base_exprs or info.node.keywords:
            return None  # a base's fields come first (one outside the project: not known)
        exact = (isinstance(owner, InstanceRef) and owner.exact) or (
            isinstance(owner, ClassRef) and not owner.any_subclass
        )
        if not exact and self.index._subclasses(info):
            # `fields(self)`, `fields(cls)`: of the object's class, which may be a subclass
            # with fields of its own (h37Q: `TenantRow(Row)` adding `account_id`, set by
            # `UPDATE … SET {f.name} = …` read with Row's fields only: no finding, exit 0)
            return None
        origin = self.origin
        return [
            InstanceRef(
                info, exact=True, given=((_LOOPED_FIELD, ((Lit(f, origin, None, 0, node),),)),)
            )
            for f in info.fields
        ]

    def str_enum_text(self, node: ast.expr) -> Value | None:
        """`f"{sort}"` of a member of a project `StrEnum` known only at run time (a parameter
        annotated `Sort`, `Sort(text)`, `params.sort`…, as `.value` reads them): a `StrEnum`
        member formats as its value — each member's. Not a `(str, Enum)` mixin, which Python
        3.12 formats as `Sort.NAME`, nor a class that writes its members itself."""
        if isinstance(node, ast.Attribute):
            owner = self.binding_of_receiver(node.value)
            if isinstance(owner, ClassRef | ImportedRef):
                return None  # `Sort.NAME`: a member named (`attribute_binding` reads it)
            owner = self._field_member(node)
        else:
            owner = self._some_member(node)
        if isinstance(owner, ImportedRef):
            owner = self.index.imported(owner)
        if not isinstance(owner, ClassRef) or self.index.formats_members(owner.info):
            return None
        order, _ = self.index.bases(owner.info)
        if not any(_dotted(b).rsplit(".", 1)[-1] == "StrEnum" for c in order for b in c.base_exprs):
            return None
        value = ast.copy_location(ast.Attribute(value=node, attr="value", ctx=ast.Load()), node)
        return self.enum_value(value)

    def _some_member(self, node: ast.expr) -> Binding | None:
        """The enum class (a `ClassRef`, or what imports it) of which `node` is surely a
        member without saying which: `E(text)` (one value looked up, or Python raises),
        `E[name]`, a name bound to such a call, a parameter annotated `E` not assigned since."""
        if isinstance(node, ast.Call):
            if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
                return None  # `E("Name", members)`: the functional API makes a class
            return self.binding_of_receiver(node.func)
        if isinstance(node, ast.Subscript):
            return self.binding_of_receiver(node.value)
        if not isinstance(node, ast.Name):
            return None
        bound = self.lookup(node.id)
        if isinstance(bound, InstanceRef):
            return ClassRef(bound.info)  # `order = Sort(text)`: only an enum's member is kept
        function = self.function
        if (
            function is None
            or not isinstance(bound, tuple)
            or len(bound) != 1
            or len(bound[0]) != 1
            or type(bound[0][0]) is not Hole
            or bound[0][0].param != node.id
            or bound[0][0].owner is not function
        ):
            return None
        args = function.node.args
        for parameter in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if parameter.arg == node.id:
                return self._annotated_class(parameter.annotation)
        return None

    def _field_member(self, node: ast.Attribute) -> Binding | None:
        """The enum class of a field annotated with it (`sort: Sort = Sort.NAME`) of a record
        class of the project — a pydantic model, a dataclass… (see `_makes_records`) — read on
        a parameter annotated with that class (`params: ListParams`, FastAPI's query model) or
        on `self` in its methods; None when any file assigns that attribute (`p.sort = …`)."""
        base = self.binding_of_receiver(node.value)
        record = (
            base
            if isinstance(base, InstanceRef) and not isinstance(node.value, ast.Call)
            else self._some_member(node.value)
        )
        if isinstance(record, ImportedRef):
            record = self.index.imported(record)
        if not isinstance(record, ClassRef | InstanceRef):
            return None
        order, _ = self.index.bases(record.info)
        if not any(_makes_records(cls) for cls in order):
            return None
        if (
            self.index.changed_outside(node.attr)
            or self.index.overridden_elsewhere(node.attr, "", self.origin)
            or any(
                _may_change_fields(cls) or node.attr in self.index._assigned(cls) for cls in order
            )
        ):
            return None  # (a validator, `__post_init__`, `self.sort = …` may give it another)
        for cls in order:
            for statement in cls.node.body:
                if (
                    isinstance(statement, ast.AnnAssign)
                    and isinstance(statement.target, ast.Name)
                    and statement.target.id == node.attr
                ):
                    written = ast.unparse(statement).lower()
                    if "validator" in written or "converter" in written:
                        return None  # `Annotated[Sort, AfterValidator(f)]`, `converter=str`
                    return self._annotated_class(statement.annotation, module=cls.module)
        return None

    def _annotated_class(
        self, annotation: ast.expr | None, depth: int = 0, module: ModuleInfo | None = None
    ) -> Binding | None:
        """The one class an annotation names, None allowed beside it: `E`, `"E"`, `E | None`,
        `Optional[E]`, `Union[E, None]`, `Annotated[E, …]`, `m.E` (written in `module`: its
        names, not this scope's)."""
        if annotation is None or depth > 8:
            return None
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                parsed = ast.parse(annotation.value, mode="eval").body
            except (SyntaxError, ValueError):
                return None
            return self._annotated_class(parsed, depth + 1, module)
        items: list[ast.expr]
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            items = [annotation.left, annotation.right]
        elif isinstance(annotation, ast.Subscript):
            form = expression_name(annotation.value).rsplit(".", 1)[-1]
            inner = annotation.slice
            items = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
            if form == "Annotated" and items:
                items = items[:1]
            elif form not in ("Optional", "Union"):
                return None
        elif module is not None and module is not self.module:
            if not isinstance(annotation, ast.Name):
                return None
            found = module.env.get(annotation.id)
            return self.index.imported(found) if isinstance(found, ImportedRef) else found
        else:
            return self.binding_of_receiver(annotation)
        named = [i for i in items if not (isinstance(i, ast.Constant) and i.value is None)]
        return self._annotated_class(named[0], depth + 1, module) if len(named) == 1 else None

    def property_value(self, node: ast.Attribute, binding: FuncRef) -> Value:
        """`self.select_sql` of a `@property`: what the getter (or its overrides) returns."""
        base = self.binding_of_receiver(node.value)
        info = binding.info
        returns = (
            _or_getter(self.index.overrides(base.info, node.attr, exact=base.exact), info)
            if isinstance(base, InstanceRef)
            else lambda: [info]
        )
        reason = f"`{_short(node)}` is computed at run time"
        return hole(node, self.origin, reason, returns=returns)

    def attribute_binding(self, node: ast.Attribute) -> Binding | None:
        if node.attr == "db_table" and type(node.value) is ast.Attribute:
            table = self.django_table(node.value)
            if table is not None:
                return table
        base = self.binding_of_receiver(node.value)
        if isinstance(base, ImportedRef):
            imported = self.index.imported(base)  # `from m import Repo`: Repo.X
            if isinstance(imported, InstanceRef) and (imported.given or imported.exact):
                # `from m import EVENTS`: a record made there, EVENTS.text; `from m import Q`
                # where `Q = Queries()`: Q.list as it reads in m (h42D: TG009 here)
                base = imported
            base = imported if isinstance(imported, ClassRef) else base
        if isinstance(base, InstanceRef):
            holder = expression_name(node.value)
            if holder not in ("", "self", "cls") and self.index.class_written_by_key(holder):
                # `setattr(Q, k, v)` / `vars(Q).update(data)` somewhere: any attribute of it
                reason = f"`{_short(node.value)}` has attributes written by a key not spelt"
                return hole(node, self.origin, reason)
            return self.index.instance_attribute(
                base.info,
                node.attr,
                node,
                exact=base.exact,
                bare=base.bare,
                fields_given=base.given,
            )
        if isinstance(base, ClassRef) and base.any_subclass:
            # `cls.X`: the class's X or a subclass's (what instances are given included: more
            # values, each checked)
            return self.index.instance_attribute(base.info, node.attr, node)
        if isinstance(base, ClassRef):
            found = self.index.class_attribute(base.info, node.attr)
            made = self.index.metaclass_makes(base.info, node.attr)
            if found is not None and made is not None:
                reason = f"`{_short(node)}` is what the metaclass `{made}` makes of it"
                return hole(node, self.origin, reason)
            if found is not None and self.index.formats_members(base.info):
                # `Q.PIN` of an enum whose class writes its members itself: `f"{Q.PIN}"`,
                # `str(Q.PIN)` send what its `__str__` / `__format__` returns (`Q.PIN.value`
                # is the constant: `enum_value`)
                reason = f"`{_short(node)}` is written by its class's own `__str__`/`__format__`"
                return hole(node, self.origin, reason)
            return found
        if isinstance(base, ModuleRef | ImportedRef):
            return self.index.attribute_of(base, node.attr)
        return None

    def django_table(self, meta: ast.Attribute) -> Binding | None:
        """`Tag._meta.db_table` (`meta` its `Tag._meta`): the `db_table` a Django model of the
        project sets in its own `class Meta` (Django takes it as written), for the class itself
        or an object made of it (`Tag()`); None otherwise — a model leaving its table to
        Django's default or to an abstract base, `self` in a base model's method (a subclass's
        Meta), a class with an attribute `_meta` of its own."""
        if meta.attr != "_meta":
            return None
        base = self.binding_of_receiver(meta.value)
        if isinstance(base, ImportedRef):
            imported = self.index.imported(base)
            base = imported if isinstance(imported, ClassRef) else base
        if not (
            (isinstance(base, ClassRef) and not base.any_subclass)
            or (isinstance(base, InstanceRef) and base.exact)
        ):
            return None
        info = base.info
        if not _imports_django(info.module) or self.index.class_attribute(info, "_meta"):
            return None
        options = info.attributes.get("Meta")
        if not isinstance(options, ClassRef) or options.info.node not in info.node.body:
            return None
        return options.info.attributes.get("db_table")

    def fstring(self, node: ast.JoinedStr) -> Value:
        """Constant parts as text; each field its value when it is a constant (a conditional of
        constants gives one alternative per branch), else a hole where the field stands."""
        parts: list[Value] = []
        origin = self.origin
        offset = 0
        text = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                text = str(part.value)
                parts.append(((Lit(text, origin, node, offset),),))
                offset += len(text)
                continue
            assert isinstance(part, ast.FormattedValue)
            if _DOLLAR_END.search(text) and self.numeric(part.value):
                # `${len(params)}`: a bind parameter whose number is counted at run time
                reason = f"`{_short(part.value)}` numbers a parameter at run time"
                parts.append(hole(part.value, origin, reason, kind="number", string=False))
            elif (
                part.format_spec is not None or part.conversion not in (-1, ord("s"))
            ) and isinstance(spec := _constant_spec(part.format_spec), str):
                # `{n:>5}`, `{name!r}`: a constant is formatted as Python formats it
                conversion = "" if part.conversion == -1 else chr(part.conversion)
                value = self.evaluate(part.value)
                if conversion in ("", "s") and spec in ("", "d") and integer_value(value):
                    value = formatted_numbers(value, spec, part.value, origin)
                    if not all(is_constant(a) for a in value):
                        reason = f"`{_short(part.value)}` is an int formatted at run time"
                        value = hole(
                            part.value, origin, reason, kind="integer", string=False, integer=True
                        )
                    parts.append(value)
                    text = ""
                    continue
                value = formatted(value, conversion, spec, part.value, origin)
                reason = f"`{_short(part.value)}` is formatted into the string at run time"
                kind = "value" if spec else None
                parts.append(
                    tuple(
                        a if is_constant(a) else (Hole(part.value, origin, reason, kind=kind),)
                        for a in value
                    )
                )
            elif part.format_spec is None and part.conversion in (-1, ord("s")):
                written = self.str_enum_text(part.value)
                value = self.evaluate(part.value) if written is None else written
                if integer_value(value) and not all(
                    type(a[0]) is Hole and a[0].number is not None for a in value
                ):
                    # an int known at run time: digits (and a minus), one number token where
                    # the text around it keeps it one (python.py checks the place)
                    reason = f"`{_short(part.value)}` is an int formatted at run time"
                    parts.append(
                        hole(part.value, origin, reason, kind="integer", string=False, integer=True)
                    )
                else:
                    parts.append(formatted_numbers(value, "", part.value, origin))
            else:
                numeric = part.format_spec is not None
                reason = f"`{_short(part.value)}` is formatted into the string at run time"
                parts.append(hole(part.value, origin, reason, kind="value" if numeric else None))
            text = ""
        return concat(parts, node, origin)

    def replaced(self, template: ast.expr, node: ast.Call) -> Value | None:
        """`TEMPLATE.replace("{table}", "leads")` of constants: the replaced text, placed at
        the call (None: something in it is only known at run time)."""
        texts: list[str] = []
        for argument in node.args[:2]:
            value = self.evaluate(argument)
            text = _constant_text(value[0]) if len(value) == 1 else None
            if text is None:
                return None
            texts.append(text)
        count = -1
        if len(node.args) == 3:
            last = node.args[2]
            if not (isinstance(last, ast.Constant) and type(last.value) is int):
                return None
            count = last.value
        alternatives: list[tuple[Lit]] = []
        for alternative in self.evaluate(template):
            text = _constant_text(alternative)
            if text is None:
                return None
            text = text.replace(texts[0], texts[1], count)
            alternatives.append((Lit(text, self.origin, None, 0, node),))
        return tuple(alternatives)

    def narrowing(self, test: ast.expr) -> tuple[str, Grown | None, Grown | None] | None:
        """A test of a list the function grows (`if conditions`, `not params`, `len(xs)`): the
        name, and the lists a path can leave that make it true, and false."""
        tested = _tested_for_items(test, self.lookup("len") is None)
        if tested is None:
            return None
        name, holds = tested
        grown = self.env.get(name)
        if not isinstance(grown, Grown):
            return None
        full = Grown(tuple(items for items in grown.lists if items))
        empty = Grown(tuple(items for items in grown.lists if not items))
        return (name, full, empty) if holds else (name, empty, full)

    def memberships(self, test: ast.expr) -> list[tuple[str, Value, bool]]:
        """The names a test narrows (see `membership`): one test, or the tests joined by `and`
        that narrow where all of them pass (`if key in allowed and key in existing:`, its
        body), or by `or` where none does (`if col not in COLUMNS or not value: continue`,
        after it) — each with the strings it holds there, and whether that is when the whole
        test is true. A name the test also assigns (`if key in ALLOWED and [key := val]:`)
        is not narrowed: it holds what the assignment gave (outside review h31h)."""
        walrus = {
            node.target.id
            for node in ast.walk(test)
            if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name)
        }
        return [m for m in self._memberships(test) if m[0] not in walrus]

    def _memberships(self, test: ast.expr) -> list[tuple[str, Value, bool]]:
        negated = False
        inner = test
        while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.Not):
            inner, negated = inner.operand, not negated
        if isinstance(inner, ast.BoolOp) and negated:  # `not (a in A and b)`: its `else`
            return [(n, held, not when) for n, held, when in self._memberships(inner)]
        if isinstance(test, ast.BoolOp):
            want = isinstance(test.op, ast.And)
            found: list[tuple[str, Value, bool]] = []
            names: set[str] = set()
            for value in test.values:
                member = self.membership(value)
                if member is not None and member[2] == want and member[0] not in names:
                    names.add(member[0])
                    found.append(member)
            return found
        member = self.membership(test)
        return [] if member is None else [member]

    def membership(self, test: ast.expr) -> tuple[str, Value, bool] | None:
        """`name in CONSTANTS` (or `not in`, `not … in`) where CONSTANTS is a tuple, list, set
        or dict of constant strings, written there or bound to a name the module does not
        change: the name, the strings it holds when the test passes (a dict's keys), and
        whether that is when the test is true."""
        negated = False
        while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, negated = test.operand, not negated
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.In | ast.NotIn)
            and isinstance(test.left, ast.Name)
        ):
            return None
        if isinstance(test.ops[0], ast.NotIn):
            negated = not negated
        container = test.comparators[0]
        if (
            isinstance(container, ast.Call)
            and isinstance(container.func, ast.Attribute)
            and container.func.attr == "keys"
            and not container.args
            and not container.keywords
        ):
            # `name in COLS.keys()`: a dict's keys, as `name in COLS` (h32j)
            keyed = self.items_of(container.func.value)
            if keyed is None or keyed.keys is None:
                return None
            container = container.func.value
        items = self.items_of(container)
        if items is None:
            displayed = container.elts if isinstance(container, ast.Tuple | ast.List) else None
            displayed = displayed or _set_display(container)
            if not displayed or any(isinstance(e, ast.Starred) for e in displayed):
                return None
            items = Items(tuple(self.evaluate(e) for e in displayed), None)
        if items.keys is not None:
            if any(k.startswith("\0") for k in items.keys):
                return None  # keys that are names: their values are not read here
            members: list[Value] = [
                ((Lit(key, self.origin, None, 0, container),),) for key in items.keys
            ]
        else:
            members = list(items.values)
        if not members or not all(
            value and all(all(type(p) is Lit for p in a) for a in value) for value in members
        ):
            return None  # an item known at run time (or a number): the name is not narrowed
        return test.left.id, union(members, test, self.origin), not negated

    def conditional(self, node: ast.IfExp) -> Value:
        """`a if test else b`: each branch's values; a branch that tests a grown list sees the
        lists that take it (`f"WHERE {…}" if conditions else ""` never joins an empty list)."""
        decided = self.compared_number(node.test)
        if decided is not None:  # `"" if i == 0 else "OR "` on a loop's first pass
            return self.evaluate(node.body if decided else node.orelse)
        narrowed = self.narrowing(node.test)
        if narrowed is None:
            return union((self.evaluate(node.body), self.evaluate(node.orelse)), node, self.origin)
        name, truthy, falsy = narrowed
        values: list[Value] = []
        saved = self.env[name]
        try:
            for branch, lists in ((node.body, truthy), (node.orelse, falsy)):
                if lists is not None and lists.lists:
                    self.env[name] = lists
                    values.append(self.evaluate(branch))
        finally:
            self.env[name] = saved
        return union(values, node, self.origin)

    def grown_view(self, node: ast.expr) -> Grown | None:
        """The lists `conds + [written items]` may hold, for a list `conds` the function grows:
        each list it may hold, then those items (`" OR ".join(conds + ["FALSE"])`)."""
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Add)
            and isinstance(node.left, ast.Name)
            and _added_display(node.right)
        ):
            grown = self.lookup(node.left.id)
            assert isinstance(node.right, ast.List | ast.Tuple)
            added = tuple(self.evaluate(e) for e in node.right.elts)
            if isinstance(grown, Grown):
                return Grown(tuple(items + added for items in grown.lists))
        return None

    def compared_number(self, test: ast.expr) -> bool | None:
        """The outcome of `name == n` / `name != n` when both sides are known numbers (an
        `enumerate` index on a loop's first pass), else None."""
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq | ast.NotEq)
            and isinstance(test.left, ast.Name)
            and isinstance(test.comparators[0], ast.Constant)
            and type(test.comparators[0].value) is int
        ):
            return None
        bound = self.lookup(test.left.id)
        number = _constant_number(bound) if isinstance(bound, tuple) else None
        compared = test.comparators[0].value
        if number is not None:
            return (number == compared) == isinstance(test.ops[0], ast.Eq)
        if (
            isinstance(bound, tuple)
            and len(bound) == 1
            and len(bound[0]) == 1
            and type(bound[0][0]) is Hole
            and bound[0][0].reason == _PAST_FIRST
            and compared <= 0
        ):  # `i == 0` after a loop's first pass
            return not isinstance(test.ops[0], ast.Eq)
        return None

    def counted(self, node: ast.AST, left: ast.expr, right: ast.expr) -> Value:
        """Arithmetic of two numbers: a number (its value when both sides are constants)."""
        values = [self.evaluate(side) for side in (left, right)]
        numbers = [_constant_number(value) for value in values]
        operator = node.op if isinstance(node, ast.AugAssign | ast.BinOp) else None
        # `int + int`, `int - int`, `int * int`: an int
        integer = isinstance(operator, ast.Add | ast.Sub | ast.Mult) and all(
            integer_value(value) for value in values
        )
        number: int | None = None
        if numbers[0] is not None and numbers[1] is not None:
            operator = node.op if isinstance(node, ast.AugAssign | ast.BinOp) else None
            if isinstance(operator, ast.Add):
                number = numbers[0] + numbers[1]
            elif isinstance(operator, ast.Sub):
                number = numbers[0] - numbers[1]
            elif isinstance(operator, ast.Mult) and abs(numbers[0] * numbers[1]) < 1 << 64:
                number = numbers[0] * numbers[1]
        reason = f"`{_short(left)}` is a number counted at run time"
        return hole(
            node, self.origin, reason, kind="value", string=False, number=number, integer=integer
        )

    def numeric(self, node: ast.expr) -> bool:
        """Whether an expression surely gives a number: an int literal, `len()`, `int()`,
        arithmetic of them, a name every value of which is one (not a parameter annotated
        `int`: Python does not enforce it)."""
        if isinstance(node, ast.Constant):
            return type(node.value) is int
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id in ("len", "int") and self.lookup(node.func.id) is None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            return self.numeric(node.left) and self.numeric(node.right)
        if isinstance(node, ast.Name):
            binding = self.lookup(node.id)  # every value it may hold an int (no annotation)
            return isinstance(binding, tuple) and integer_value(binding)
        return False

    def percent(self, node: ast.BinOp) -> Value:
        template = self.evaluate(node.left)
        right = node.right
        if isinstance(right, ast.Tuple):
            if any(isinstance(e, ast.Starred) for e in right.elts):
                return hole(node, self.origin, "`%` formatting with a starred argument")
            arguments: list[Value] | dict[str, Value] = [self._argument(e) for e in right.elts]
        elif isinstance(right, ast.Dict):
            if not all(
                isinstance(k, ast.Constant) and isinstance(k.value, str) for k in right.keys
            ):
                return hole(node, self.origin, "`%` formatting with a mapping computed at run time")
            arguments = {
                str(k.value): self._argument(v)  # type: ignore[union-attr]
                for k, v in zip(right.keys, right.values, strict=True)
            }
        else:
            arguments = [self._argument(right)]
        return format_percent(template, arguments, node, self.origin)

    def _argument(self, node: ast.expr) -> Value:
        return self.evaluate(node)

    def _unaliased(self, node: ast.Call, name: str) -> str:
        """`sql_text` of `from sqlalchemy import text as sql_text`: `text` (helper 113)."""
        if isinstance(node.func, ast.Name) and name not in _TRANSPARENT:
            imported = self.lookup(name)
            if (
                isinstance(imported, ImportedRef)
                and imported.name in _TRANSPARENT
                and imported.module.name.split(".")[0] in _TEXT_MODULES
            ):
                return imported.name
        return name


def _kwarg_key(node: ast.expr, name: str) -> str | None:
    """The constant key of `name.pop(key)`, `name.pop(key, d)`, `name.get(key[, d])` or
    `name[key]` (read), else None."""
    if isinstance(node, ast.Subscript):
        holder, key = node.value, node.slice
        if not isinstance(node.ctx, ast.Load):
            return None
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("pop", "get")
        and 1 <= len(node.args) <= 2
        and not node.keywords
        and not any(isinstance(a, ast.Starred) for a in node.args)
    ):
        holder, key = node.func.value, node.args[0]
    else:
        return None
    if not (isinstance(holder, ast.Name) and holder.id == name):
        return None
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value
    return None


def _kwargs_only_read(function: ast.AST, name: str, key: str) -> bool:
    """Whether every use of `name` in the function (nested scopes included) reads one
    constant key (`_kwarg_key`) or passes it on whole (`f(**name)`), and `key` is read once."""
    reads = 0
    spread: set[int] = set()
    keyed: set[int] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.keyword) and node.arg is None and isinstance(node.value, ast.Name):
            spread.add(id(node.value))
        elif isinstance(node, ast.Call | ast.Subscript):
            found = _kwarg_key(node, name)
            if found is not None:
                holder = node.value if isinstance(node, ast.Subscript) else node.func.value  # type: ignore[attr-defined]
                keyed.add(id(holder))
                reads += found == key
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Name)
            and node.id == name
            and id(node) not in spread
            and id(node) not in keyed
        ):
            return False  # `kw["sql"] = …`, `kw.update(…)`, `f(kw)`, `del kw[…]`
    return reads == 1


def _plain_enum_body(node: ast.ClassDef) -> bool:
    """Whether an enum's body makes its members only as `NAME = "…"` (or annotated), beside
    a docstring, `pass` and methods: no member made another way (`A, B = …`, under an `if`,
    `_ignore_`, `vars()`), which a reading of its attributes could miss."""
    for statement in node.body:
        if isinstance(statement, ast.Assign):
            if not (
                len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)
                and statement.targets[0].id != "_ignore_"
            ):
                return False
        elif isinstance(statement, ast.AnnAssign):
            if not isinstance(statement.target, ast.Name):
                return False
        elif not (
            isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.Pass)
            or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
        ):
            return False
    return True


def _or_getter(
    found: Callable[[], list[FunctionInfo]], info: FunctionInfo
) -> Callable[[], list[FunctionInfo]]:
    """The methods `found` gives, or the property `info` itself when the class read has no
    method of that name (a base's string attribute every subclass overrides, one with a
    `@property`: h42D, TG009)."""
    return lambda: found() or [info]
