"""The project index's classes: their bases in order, the attributes of a class and of its
instances, subclasses, and the classes the project makes (`bases`, `instance_attribute`,
`made_by_the_project`). Relies on `project` and below, and on `walker` (to evaluate the
arguments and assignments that give an attribute its value).
"""

from __future__ import annotations

import ast
import os
import re
from typing import TYPE_CHECKING, cast

from tenantguard.sources.pyflow.model import ClassRef, FuncRef, ImportedRef, ModuleRef
from tenantguard.sources.pyflow.names import (
    _NO_ATTRIBUTES_BASES,
    _TEXT_DUNDERS,
    _db_named,
    _is_name,
    _same_class,
    _short,
    expression_name,
)
from tenantguard.sources.pyflow.project import _Project
from tenantguard.sources.pyflow.scan import _blanked
from tenantguard.sources.pyflow.stores import _ANY_NAME, _sets_any_attribute
from tenantguard.sources.pyflow.syntax import (
    _RECORD_MAKERS,
    _annotation_of,
    _c3_merge,
    _init_parameter,
    _is_enum,
    _is_property,
    _makes_by_name,
    _makes_its_class,
    _makes_its_own,
    _none_value,
    _own_calls,
    _standard,
    _string_annotation,
)
from tenantguard.sources.pyflow.walker import _Walker
from tenantguard.sources.pyvalues import Hole, hole, union

if TYPE_CHECKING:
    from collections.abc import Callable

    from tenantguard.sources.pyflow.index import ProjectIndex
    from tenantguard.sources.pyflow.model import Binding, ClassInfo, FunctionInfo
    from tenantguard.sources.pyvalues import Value


class _Classes(_Project):
    """Classes of the project and the attributes of their instances (see the module docstring)."""

    # classes

    def bases(self, info: ClassInfo) -> tuple[list[ClassInfo], bool]:
        """The class's project bases in method resolution order (C3, as Python orders them:
        `class C(B, B2)` with `B(A)` and `B2(A)` reads B2 before A), and whether every base
        could be followed."""
        if info._order is not None:
            return info._order
        info._order = ([info], False)  # while it is worked out (a cycle of names)
        direct, complete = self._direct_bases(info)
        lines: list[list[ClassInfo]] = []
        for base in direct:
            line, whole = self.bases(base)
            lines.append(list(line))
            complete = complete and whole
        merged = _c3_merge([*lines, list(direct)])
        if merged is None:  # Python refuses to make the class (or the names are ambiguous)
            merged, complete = self._depth_first(info), False
        order = [info, *merged]
        info._order = (order, complete)
        return order, complete

    def _direct_bases(self, current: ClassInfo) -> tuple[list[ClassInfo], bool]:
        """The project classes a class statement names as its bases, in order, and whether
        every base could be followed."""
        complete = True
        found: list[ClassInfo] = []
        for base in current.base_exprs:
            # `Repo["User"]`, `Generic[T]`: the class subscripted (helper 111: a generic
            # base read as a class outside the project)
            while isinstance(base, ast.Subscript):
                base = base.value
            ref = self._class_ref(base, current)
            if ref is None:
                chosen = self._renamed_classes(base, current)
                if chosen:  # a name bound to one class or another (round 25)
                    found.extend(c for c in chosen if c not in found)
                    complete = False
                    continue
                if expression_name(base) not in _NO_ATTRIBUTES_BASES:
                    complete = False
                continue
            if ref.info not in found:
                found.append(ref.info)
        return found, complete

    def _depth_first(self, info: ClassInfo) -> list[ClassInfo]:
        """The bases depth first, each once (when C3 cannot order them)."""
        order: list[ClassInfo] = []
        stack: list[ClassInfo] = list(self._direct_bases(info)[0])
        seen: set[int] = {id(info)}
        while stack:
            current = stack.pop(0)
            if id(current) in seen:
                continue
            seen.add(id(current))
            order.append(current)
            stack = self._direct_bases(current)[0] + stack
        return order

    def _class_ref(self, node: ast.expr, owner: ClassInfo) -> ClassRef | None:
        binding = self._base_binding(node, owner, 0)
        if isinstance(binding, ImportedRef):
            binding = self.imported(binding)
        return binding if isinstance(binding, ClassRef) else None

    def _renamed_classes(self, node: ast.expr, owner: ClassInfo) -> list[ClassInfo]:
        """The project classes a base's module-level name is bound to on any path, when it is
        no one class (`try: Base = Repo except ImportError: Base = object`)."""
        if not isinstance(node, ast.Name):
            return []
        out: list[ClassInfo] = []
        for binding in owner.module.renames.get(node.id, ()):
            found = self.imported(binding) if isinstance(binding, ImportedRef) else binding
            if isinstance(found, ClassRef) and found.info not in out:
                out.append(found.info)
        return out

    def _base_binding(self, node: ast.expr, owner: ClassInfo, depth: int) -> Binding | None:
        """What a base expression names: a name, or a dotted path through modules
        (`base.Repo`, `app.base.Repo`: round 25, only one dot was followed)."""
        if isinstance(node, ast.Name):
            return owner.base_env.get(node.id) or owner.module.env.get(node.id)
        if isinstance(node, ast.Attribute) and depth < 16:
            base = self._base_binding(node.value, owner, depth + 1)
            if isinstance(base, ModuleRef | ImportedRef):
                return self.attribute_of(base, node.attr)
        return None

    def metaclass_makes(
        self, info: ClassInfo, name: str, *, of_instances: bool = False
    ) -> str | None:
        """The project metaclass (of the class or a base: `class Q(metaclass=Meta)`) that may
        give the class's attribute `name` another value than its body: one that makes the
        class (`__new__`, `__init__`, `__prepare__`: the namespace is its), or, read on the
        class itself (`Q.X`, not `self.X`), computes it (`__getattribute__`, a property or an
        attribute `name` of the metaclass comes before the class's own)."""
        order, _ = self.bases(info)
        makers = {"__new__", "__init__", "__prepare__", "__init_subclass__"}
        if not of_instances:
            makers |= {"__getattribute__", name}
        for cls in order:
            for keyword in cls.node.keywords:
                if keyword.arg != "metaclass":
                    continue
                ref = self._class_ref(keyword.value, cls)
                if ref is None:
                    continue
                for meta in self.bases(ref.info)[0]:
                    if any(m in meta.methods or m in meta.attributes for m in makers):
                        return meta.name
        return None

    def formats_members(self, info: ClassInfo) -> bool:
        """Whether a class is an enum that writes its members as text itself: a project class
        of its bases (itself included) is an `Enum` and one defines a method that makes a
        member's text or is an operator on it (`__str__`, `__format__`, `__repr__`, `__add__`,
        `__mod__`…), as a method or as an attribute (`__str__ = lambda self: …`), or a file
        of the project sets one on some class (`Q.__str__ = …`, a decorator's `cls.__format__ =
        …`, `setattr(Q, "__str__", …)`)."""
        order, _ = self.bases(info)
        if not any(_is_enum(cls) for cls in order):
            return False
        return any(
            name in cls.methods or name in cls.attributes for cls in order for name in _TEXT_DUNDERS
        ) or any(self.changed_outside(name, dunder=True) for name in _TEXT_DUNDERS)

    def class_attribute(self, info: ClassInfo, name: str) -> Binding | None:
        order, _ = self.bases(info)
        for cls in order:
            if name in cls.attributes:
                return cls.attributes[name]
        return None

    def instance_attribute(
        self,
        info: ClassInfo,
        name: str,
        node: ast.AST,
        *,
        exact: bool = False,
        bare: bool = False,
        fields_given: tuple[tuple[str, Value], ...] = (),
    ) -> Binding | None:
        """`self.X`: the class attribute (through the project bases), what methods assign to
        `self.X`, and (unless the object is `exact`ly of that class) what the project's
        subclasses set X to — any of them. Of an object made with no arguments (`bare`), a
        dataclass field's default; of one made with arguments mapped to its fields
        (`fields_given`: `Query("SELECT …", name="x")`), the argument's value."""
        order, complete = self.bases(info)
        subclasses = [] if exact else self._subclasses(info)
        origin = info.module.origin
        values: list[Binding] = []
        passed_here = dict(fields_given).get(name) if exact else None
        if passed_here is not None and (
            self.changed_outside(name)
            or self.class_written_by_key(info.name)
            # `Query.__init__ = …` anywhere: the constructor is not the one its fields make
            or any(self.changed_outside(m, dunder=True) for m in _RECORD_MAKERS)
        ):
            passed_here = None  # `q.sql = …` somewhere (a dataclass that is not frozen)
            values.append(hole(node, origin, f"`{info.name}.{name}` is assigned elsewhere"))
        elif passed_here is not None:
            values.append(passed_here)  # `Query("SELECT …").sql`: what the call gave it
        for cls in order if passed_here is None else ():
            if name in cls.attributes:
                held = cls.defaults.get(name) if bare and exact else None
                if held is not None and self.changed_outside("__defaults__", dunder=True):
                    held = None  # `Queries.__init__.__defaults__ = (…)` somewhere
                if held is None and self._overridden_everywhere(
                    info, subclasses, name, cls.attributes[name]
                ):
                    break  # `table = ""` on a base no object is made of
                values.append(cls.attributes[name] if held is None else held)
                break
        passed = self._passed_to_base(order, name)
        given = None if passed is not None else self._given_by_subclasses(info, subclasses, name)
        keyed = self._given_by_class_keywords(order, subclasses, name)
        # the classes whose methods may set `self.X` on such an object: its bases, its
        # subclasses, and theirs (a mixin beside it: `class C(A, Mixin)` with `self.X = …` in
        # Mixin's methods, round 25, outside attack)
        involved = list(order)
        for sub in subclasses:
            involved.append(sub)
            involved.extend(self.bases(sub)[0])
        involved = list({id(c): c for c in involved}.values())
        if self.changed_outside("__class__", dunder=True):
            # `obj.__class__ = Other` somewhere: an object's attributes are another class's
            return hole(node, origin, "a file of the project sets an object's `__class__`")
        for cls in involved:
            if "__getattribute__" in cls.methods:
                return hole(node, origin, f"`{cls.name}` computes its attributes when read")
            made = self.metaclass_makes(cls, name, of_instances=True)
            if made is not None:
                return hole(node, origin, f"`{cls.name}.{name}` is what `{made}` makes of it")
        for cls in involved:
            found_here = self._assigned(cls)
            assigned = found_here.get(name)
            if _ANY_NAME in found_here:  # `setattr(self, key, …)`: any attribute
                dynamic = found_here[_ANY_NAME]
                assigned = dynamic if assigned is None else union((assigned, dynamic), node, origin)
            if passed is not None and cls is passed[0]:
                assigned = passed[1]
            if given is not None and _same_class(cls, given[0]):
                values.extend(given[1])  # each subclass's, in place of the parameter
                continue
            if keyed is not None and _same_class(cls, keyed[0]):
                values.extend(keyed[1])  # each class statement's keyword, or the default
                continue
            if assigned is not None:
                values.append(assigned)
        for sub in subclasses:
            # its own, or a mixin's before the base in its order (helper 115: `class
            # Inv(Mixin, Base)` with the table on Mixin)
            found = self.class_attribute(sub, name)
            if found is not None and not any(_same_binding(found, v) for v in values):
                values.append(found)
        if not values:
            if not complete:
                written = _short(node) if isinstance(node, ast.expr) else f"self.{name}"
                return hole(
                    node, origin, f"`{written}` may come from a base class outside the project"
                )
            return None
        if len(values) > 1 and not all(_none_value(v) for v in values):
            # `table = None` on a base whose subclasses set it: None is no value a query runs
            # on (formatted into SQL it is `None`, which fails at run time); the others are
            values = [v for v in values if not _none_value(v)]
        if len(values) == 1:
            return values[0]
        if any(isinstance(v, FuncRef) and _is_property(v.info.node) for v in values):
            # a subclass overriding the class's string with a `@property` (h42D: "different
            # kinds of values"): what each getter returns, beside the others
            values = [
                hole(node, origin, f"`self.{name}` is computed", returns=_getter(v.info))
                if isinstance(v, FuncRef) and _is_property(v.info.node)
                else v
                for v in values
            ]
        if all(isinstance(v, tuple) for v in values):
            return union(values, node, origin)  # type: ignore[arg-type]
        return (
            values[0]
            if all(_same_binding(v, values[0]) for v in values)
            else hole(node, origin, f"`self.{name}` holds different kinds of values")
        )

    def _overridden_everywhere(
        self, info: ClassInfo, subclasses: list[ClassInfo], name: str, held: Binding
    ) -> bool:
        """Whether no object holds `held`, the class attribute X that `info` has (its own or
        a base's), as `self.X` of one of `info`'s methods: `info` has subclasses, every one of
        them sets X itself (or inherits it from a class that does), and no object of `info`
        itself may be made (see `_may_be_made`) — `table: ClassVar[str] = ""` on a repository
        base whose subclasses name their tables. A subclass that inherits `held` keeps it."""
        if not subclasses or self._may_be_made(info) or self._called_on(info):
            return False
        return all(self.class_attribute(sub, name) is not held for sub in subclasses)

    def _called_on(self, info: ClassInfo) -> bool:
        """Whether a file of the project calls a method on the class by its name,
        `Repository.count(conn, …)` (a classmethod's `cls` is then the class itself; a
        dunder, `Repository.__init__(self, …)`, is called for a subclass's object)."""
        key = "called:" + info.name
        if key not in self._made:
            names = "|".join(re.escape(n) for n in self._names_of(info.name))
            pattern = re.compile(rf"\b(?:{names})\s*\.\s*(?!__)\w+\s*\(")
            texts = ["".join(info.module.origin.lines)]
            for path in self.files:
                try:
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        texts.append(handle.read())
                except OSError:
                    continue
            self._made[key] = any(pattern.search(_as_code(t)) for t in texts if pattern.search(t))
        self._consulted_names.add("word:" + info.name)
        return self._made[key]

    def _passed_to_base(self, order: list[ClassInfo], name: str) -> tuple[ClassInfo, Value] | None:
        """`self.X = x` in a project base's `__init__` (x its parameter, not rebound there) and
        the class's own `__init__` calling that one (`super().__init__(table="notes")`,
        `Base.__init__(self, "notes")`): X holds what those calls pass (each call one
        alternative), as the subclass's instances get it. None when that is not the shape."""
        inits = [cls for cls in order if "__init__" in cls.methods]
        if len(inits) < 2:
            return None
        own, base = inits[0].methods["__init__"], inits[1].methods["__init__"]
        parameter = _init_parameter(base, name)
        if parameter is None or not own.node.args.args:
            return None
        if any(
            _init_parameter(m, name, stores=True)
            for m in inits[1].methods.values()
            if m is not base
        ):
            return None  # another method of the base sets it too
        this, base_name = own.node.args.args[0].arg, inits[1].name
        arguments: list[ast.expr] = []
        for call in _own_calls(own.node):
            func = call.func
            if not (isinstance(func, ast.Attribute) and func.attr == "__init__"):
                continue
            if isinstance(func.value, ast.Call) and _is_name(func.value.func, "super"):
                positional = list(call.args)
            elif _is_name(func.value, base_name) and call.args and _is_name(call.args[0], this):
                positional = list(call.args[1:])
            else:
                return None  # another class's __init__: not the shape read here
            if any(isinstance(a, ast.Starred) for a in positional):
                return None  # *args: which argument is X is only known at run time
            chosen = next((k.value for k in call.keywords if k.arg == parameter), None)
            index = base.positional.index(parameter) if parameter in base.positional else -1
            if chosen is None and 0 <= index < len(positional):
                chosen = positional[index]
            if chosen is None:
                return None  # the default: left to the base's own reading
            arguments.append(chosen)
        if not arguments:
            return None
        walker = _Walker(own.module, cast("ProjectIndex", self))
        walker.env = {}
        walker.outer = [(own.module.env, own.module.ever)]
        values = [walker.evaluate(argument) for argument in arguments]
        value = values[0] if len(values) == 1 else union(values, arguments[0], own.module.origin)
        return inits[1], value

    def _given_by_class_keywords(
        self, order: list[ClassInfo], subclasses: list[ClassInfo], name: str
    ) -> tuple[ClassInfo, list[Value]] | None:
        """`cls.X = x` in a project class H's `__init_subclass__(cls, x=…, **kwargs)` (x a
        parameter a keyword can pass, stored unchanged, not rebound there): each class made
        from H gets what its class statement passes, `class TagRepo(Base, x="tags")`, or x's
        default. The values of X on an object of a class in `order` (its bases) or of one of
        its `subclasses`: H, and each such class's keyword or default. None when that is not
        the shape: another `__init_subclass__` between H and a class, a class of H's not made
        by a class statement at a module's top (`type(…)` passes keywords of its own), an
        argument unpacked there (`**opts`), a class with a metaclass keyword."""
        related = [*order, *subclasses, *(b for c in subclasses for b in self.bases(c)[0])]
        hooks = list(
            {
                (c.module.path, c.node.lineno, c.name): c
                for c in related
                if "__init_subclass__" in c.methods
            }.values()
        )
        if len(hooks) != 1:
            return None
        storing = hooks[0]
        if self._changed_somewhere("class-set:*") or self._class_family(storing.name) is None:
            return None  # (a class made by `type(…, **keywords)` somewhere: its keywords unread)
        hook = storing.methods["__init_subclass__"]
        if hook.node.decorator_list not in ([],) and [
            ast.unparse(d) for d in hook.node.decorator_list
        ] != ["classmethod"]:
            return None
        parameter = _init_parameter(hook, name)
        arguments = hook.node.args
        if parameter is None or parameter not in [
            a.arg for a in (*arguments.args[1:], *arguments.kwonlyargs)
        ]:
            return None
        default: ast.expr | None = None
        if parameter in [a.arg for a in arguments.kwonlyargs]:
            index = [a.arg for a in arguments.kwonlyargs].index(parameter)
            default = arguments.kw_defaults[index]
        else:
            positional = [*arguments.posonlyargs, *arguments.args]
            index = [a.arg for a in positional].index(parameter)
            shift = len(positional) - len(arguments.defaults)
            default = arguments.defaults[index - shift] if index >= shift else None
        made = [
            c
            for c in {id(c): c for c in (*order, *subclasses)}.values()
            if not _same_class(c, storing)
            and any(_same_class(b, storing) for b in self.bases(c)[0])
        ]
        values: list[Value] = []
        for cls in made:
            between = self.bases(cls)[0]
            if any(
                "__init_subclass__" in b.methods and not _same_class(b, storing) for b in between
            ):
                return None
            tree = cls.module.tree
            if not cls.top or tree is None or cls.node not in tree.body:
                return None
            if any(k.arg is None or k.arg == "metaclass" for k in cls.node.keywords):
                return None
            chosen = next((k.value for k in cls.node.keywords if k.arg == parameter), None)
            module = cls.module if chosen is not None else storing.module
            if chosen is None:
                if default is None:
                    continue  # a TypeError when the class is made: no such class runs
                chosen = default
            walker = _Walker(module, cast("ProjectIndex", self))
            walker.env = {}
            walker.outer = [(module.env, module.ever)]
            values.append(walker.evaluate(chosen))
        return storing, values

    def _given_by_subclasses(
        self, info: ClassInfo, subclasses: list[ClassInfo], name: str
    ) -> tuple[ClassInfo, list[Value]] | None:
        """`self.X = x` stored from a parameter of the `__init__` an object of `info` runs,
        where every class of such an object passes X to that `__init__` (`super().__init__(
        table="notes")`): the class whose `__init__` stores it, and what each one passes. None
        when one of them may be made with X given at run time: a subclass that passes nothing,
        or a base (`info`, an intermediate class) made somewhere in the project (see
        `_may_be_made`)."""
        if not subclasses:
            return None
        inits = [cls for cls in self.bases(info)[0] if "__init__" in cls.methods]
        if not inits or _init_parameter(inits[0].methods["__init__"], name) is None:
            return None
        storing = inits[0]
        values: list[Value] = []
        for concrete in [info, *subclasses]:
            passed = self._passed_to_base(self.bases(concrete)[0], name)
            if passed is not None and _same_class(passed[0], storing):
                values.append(passed[1])
            elif (
                # a class that passes nothing is made with X given at run time, unless it is
                # a base only: subclassed, and never made by the project (a leaf subclass may
                # be made by a framework that finds it, by a name the code does not write)
                (
                    concrete is not info
                    and not any(concrete in self.bases(s)[0][1:] for s in subclasses)
                )
                or self._may_be_made(concrete)
            ):
                return None
        return storing, values

    def _may_be_made(self, info: ClassInfo) -> bool:
        """Whether an object of exactly this class may be made: its name is used in a file of
        the project other than in a class statement, an import, an annotation, `Name.attr`,
        `super(Name, …)`, `isinstance`, a comment line; or a method of it or of its bases
        makes the class it is called on (`cls(…)`, `type(self)(…)`, `__new__`)."""
        for cls in self.bases(info)[0]:
            if any(_makes_its_class(m) for m in cls.methods.values()):
                return True
        if any(not _inert_decorator(info, d) for d in info.node.decorator_list):
            # `@register class Repository:` — the decorator is handed the class, and may keep
            # it where the project makes it by a name never written (h37Q: `REPOS[name](conn)`)
            return True
        name = info.name
        names = self._names_of(name)  # (h37Q: `from .base import Repository as Default`)
        if name not in self._made:
            patterns = [(n, re.compile(rf"\b{re.escape(n)}\b")) for n in names]
            texts: list[str] = []
            own = info.module.path
            files = self.files
            if own is None or own not in files:
                texts.append("".join(info.module.origin.lines))
            for path in files:
                try:
                    with open(path, encoding="utf-8", errors="replace") as handle:
                        text = handle.read()
                except OSError:
                    continue
                if any(p.search(text) for _, p in patterns):
                    texts.append(text)
            codes = [_as_code(t) for t in texts]
            self._made[name] = any(
                _makes_by_name(t, n, p) for t in codes for n, p in patterns if p.search(t)
            )
        for n in names:
            self._consulted_names.add("word:" + n)
        return self._made[name]

    def _names_of(self, name: str) -> list[str]:
        """A class's name and every name the project gives it (`from .base import Repository
        as Default`, `Default = base.Repository`, aliases of aliases)."""
        if self.files:
            self.prepare()
        known = [name]
        for each in known:
            self._consulted_names.add("alias:" + each)
            known.extend(a for a in sorted(self._renamed.get(each, ())) if a not in known)
        return known

    def _subclasses(self, info: ClassInfo) -> list[ClassInfo]:
        """The project's classes that derive from `info`, at any depth (helper 113: a table a
        grandchild class sets was a TG009 warning in the base's query)."""
        out: list[ClassInfo] = []
        todo = [info]
        seen = {id(info)}
        while todo and len(out) < 200:
            for cls in self._direct_subclasses(todo.pop()):
                if id(cls) not in seen:
                    seen.add(id(cls))
                    out.append(cls)
                    todo.append(cls)
        return out

    def _direct_subclasses(self, info: ClassInfo) -> list[ClassInfo]:
        """The project's classes that derive from `info`: in its module, and in the project's
        files whose class statements name it among their bases (read from disk, so that a
        file checked alone sees the subclasses the tree holds)."""
        out: list[ClassInfo] = []
        for cls in info.module.classes:  # those of the module's body: function bodies run later
            if cls.top and cls is not info and info in self.bases(cls)[0][1:]:
                out.append(cls)
        home = info.module.path
        if home is None or not self.files:
            return out
        self.prepare()
        assert self._defined is not None
        known = [info.name]  # its name, and every name the project gives it (round 25)
        for name in known:
            self._consulted_names.add("alias:" + name)
            known.extend(a for a in sorted(self._renamed.get(name, ())) if a not in known)
        paths: list[str] = []
        for name in known:
            self._consulted_names.add("class:" + name)
            paths.extend(p for p in self._defined.get("class:" + name, ()) if p not in paths)
        for path in paths:
            if path == home:
                continue
            module = self.module(path)
            if module is None:
                continue
            for cls in module.classes:
                if cls.top and any(
                    base is info or _same_class(base, info) for base in self.bases(cls)[0][1:]
                ):
                    out.append(cls)
        return out

    def _assigned(self, info: ClassInfo) -> dict[str, Value]:
        """`self.X = …` in the class's methods, evaluated without the method's local names."""
        if info._instance is None:
            info._instance = {}
            try:
                self._assign_instance(info, info._instance)
            except BaseException:  # half of the answer is no answer for a later question
                info._instance = None
                raise
        return info._instance

    def _assign_instance(self, info: ClassInfo, assigned: dict[str, Value]) -> None:
        walker = _Walker(info.module, cast("ProjectIndex", self))
        walker.env = {}
        walker.outer = [(info.module.env, info.module.ever)]
        for method in info.methods.values():
            args = method.node.args.args
            if method.method_kind != "method" or not args:
                continue
            this = args[0].arg
            for inner in ast.walk(method.node):
                if _sets_any_attribute(inner, this):
                    assigned[_ANY_NAME] = hole(
                        inner,
                        info.module.origin,
                        f"{method.name}() sets attributes of `{this}` by names known at run time",
                    )
                    continue
                targets: list[ast.expr] = []
                value: ast.expr | None = None
                if isinstance(inner, ast.Assign):
                    targets, value = inner.targets, inner.value
                elif isinstance(inner, ast.AnnAssign | ast.AugAssign) and inner.value is not None:
                    targets, value = [inner.target], inner.value
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == this
                        and value is not None
                    ):
                        if isinstance(inner, ast.AugAssign):
                            found = hole(
                                target,
                                info.module.origin,
                                f"`self.{target.attr}` is extended at run time",
                            )
                        elif (
                            method.name == "__init__"
                            and isinstance(value, ast.Name)
                            and _init_parameter(method, target.attr) == value.id
                            and not _db_named(value.id)  # `self.conn = conn`: no SQL
                            and _string_annotation(_annotation_of(method, value.id))
                            # (`p.query = q` anywhere: not only what the constructor got)
                            and not self.changed_outside(target.attr)
                            and self.made_by_the_project(info)
                        ):
                            # `self.query = query`: the constructor's parameter, for the
                            # callers that make the object (a wrapper when a method sends it)
                            found = (
                                (
                                    Hole(
                                        value,
                                        info.module.origin,
                                        f"`self.{target.attr}` is the parameter `{value.id}` "
                                        f"of {info.name}()",
                                        param=value.id,
                                        owner=method,
                                    ),
                                ),
                            )
                        else:
                            found = walker.evaluate(value)
                            found = tuple(
                                tuple(
                                    p._replace(
                                        reason=f"`self.{target.attr}` is assigned in "
                                        f"{method.name}(): {p.reason}",
                                        param=None,
                                        owner=None,
                                    )
                                    if type(p) is Hole
                                    else p
                                    for p in a
                                )
                                for a in found
                            )
                        before = assigned.get(target.attr)
                        assigned[target.attr] = (
                            found
                            if before is None
                            else union((before, found), target, info.module.origin)
                        )
        for name in list(assigned):
            # a class whose bases are not read may define it as a class attribute and leave
            # it unset on its instances (its own `__init__`), or set it there (h32j)
            if name != _ANY_NAME and self.overridden_elsewhere(name, info.name, info.module.origin):
                assigned[name] = hole(
                    info.node,
                    info.module.origin,
                    f"`self.{name}` may be set by a class whose bases are not read",
                )

    def made_by_the_project(self, info: ClassInfo) -> bool:
        """Whether only the project's code makes objects of a class, by calling it: the class
        is not handed on as a value (`Depends(Pages)`, `{"pages": Pages}`, `cls=Pages`, an
        annotation's `p: Pages)` read so too), nor looked up by a name, anywhere in the
        project; what its constructor is given is then what its callers pass (h35D)."""
        path = info.module.path
        if path is None or not self.in_project(path):
            return False
        if self._subclasses(info) or any(_makes_its_own(c.node) for c in self.bases(info)[0]):
            # `super().__init__(pool, q)`, `cls(pool, q)`: made otherwise too (`type(self)(…)`
            # in a base's method too: it makes the subclass, h36D)
            return False
        # (the check cache: a file that starts or stops handing the class on changes this,
        # or making objects by another object's class, `type(p)(…)`, `p.__class__(…)`)
        self._consulted_names.update(("word:" + info.name, "word:type", "word:__class__"))
        words = self._word_counts()
        name = info.name
        return not any(
            words.get(key, 0) > 0
            for key in (
                "value " + name,
                "imported value " + name,
                "getattr " + name,
                f"value {os.path.splitext(os.path.basename(path))[0]}.{name}",
                # `map(Pages, pools, queries)`, `to_thread(Pages, pool, q)`: made with
                # arguments the project's call does not show (h35Q)
                "forwarded " + name,
                # `type(p)(pool, q)`, `p.__class__(pool, q)` anywhere: made by another name
                "made by type",
            )
        )


# decorators of the standard library that keep no reference to the class they are given
_INERT_DECORATORS = (
    (("dataclasses",), "dataclass"),
    (("typing", "typing_extensions"), "final"),
    (("typing", "typing_extensions"), "runtime_checkable"),
    (("functools",), "total_ordering"),
    (("enum",), "unique"),
)


def _inert_decorator(info: ClassInfo, node: ast.expr) -> bool:
    """Whether a class decorator is one of `_INERT_DECORATORS` (called or not)."""
    func = node.func if isinstance(node, ast.Call) else node
    return any(_standard(info, func, modules, name) for modules, name in _INERT_DECORATORS)


def _same_binding(a: Binding, b: Binding) -> bool:
    """The same binding, or the same `def` / class statement read twice (a base's module read
    again for a subclass in another module: two `FuncRef`s of one `@property`, h38D)."""
    if a is b:
        return True
    if isinstance(a, FuncRef) and isinstance(b, FuncRef):
        return (
            a.bound == b.bound
            and a.info.name == b.info.name
            and a.info.module.path == b.info.module.path
            and a.info.node.lineno == b.info.node.lineno
            and a.info.node.col_offset == b.info.node.col_offset
        )
    if isinstance(a, ClassRef) and isinstance(b, ClassRef):
        return a.any_subclass == b.any_subclass and _same_class(a.info, b.info)
    return False


# a string literal that is only a name or a dotted path (`"Repository"`,
# `"app.repos.base.Repository"`, `"app.repos:Repository"`): what `getattr`, `import_string`
# and settings name a class by
_NAMING_STRING = re.compile(r"""[rRuU]?(['"])((?:[A-Za-z_]\w*[.:])*([A-Za-z_]\w*))\1""")


def _as_code(text: str) -> str:
    """A file's text as code that may name a class: its strings and comments blanked — a
    docstring, a log or error message or a comment naming `Repository` makes no object of it
    (h40D: "Repository base: …" in a module's docstring read the base's `TABLE = ""` into
    its subclasses' SQL, TG006) — and the last name of each string that is only a (dotted)
    name on a line of its own, as code naming the class by it would."""
    named = "".join("\n" + m.group(3) for m in _NAMING_STRING.finditer(text))
    return _blanked(text) + named


def _getter(info: FunctionInfo) -> Callable[[], list[FunctionInfo]]:
    """The function a property's read runs, as `returns=` of a hole takes it."""
    return lambda: [info]
