"""The ground of the project index: its files and their texts, the text scans asked of them
(words, what code outside a name's scope changes), the modules loaded and what an import names
(`module`, `resolve`, `imported`). Relies on `model`, `scan`, `changes`, `stores`, `syntax`,
and `walker` (`_load`: a module loaded is run).
"""

from __future__ import annotations

import ast
import os
from collections import Counter, OrderedDict
from typing import TYPE_CHECKING, cast

from tenantguard.sources.pyflow.changes import (
    _CLASS_STATEMENT,
    _UNREAD_CLASS,
    _outside_changes,
    handed_changes,
)
from tenantguard.sources.pyflow.model import (
    ClassRef,
    Consulted,
    FuncRef,
    ImportedRef,
    InstanceRef,
    ModuleRef,
    _module_stem,
    find_module,
)
from tenantguard.sources.pyflow.names import _dotted
from tenantguard.sources.pyflow.scan import (
    _CLASS_BASES,
    _CLASS_LEAD,
    _DEF,
    _DEF_LEAD,
    _FRAMEWORK_HOOKS,
    _NAME_ALIAS,
    _TYPE_BASES,
    _WORD,
    _at_line_starts,
    _blanked,
    _code_words,
    _import_aliases,
)
from tenantguard.sources.pyflow.stores import _ARGUMENTS_KEPT, _forwards_arguments
from tenantguard.sources.pyflow.syntax import _MAX_READ_FILE
from tenantguard.sources.pyflow.walker import _load
from tenantguard.sources.pyvalues import hole

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from tenantguard.sources.pyflow.index import ProjectIndex
    from tenantguard.sources.pyflow.model import Binding, ClassInfo, FunctionInfo, ModuleInfo, Reach
    from tenantguard.sources.pyvalues import Origin, Value


class _Project:
    """Files, texts and modules of the project (see the module docstring)."""

    def __init__(
        self,
        files: Sequence[str] | Callable[[], Sequence[str]] = (),
        sql_functions: Sequence[str] = (),
        root: str | None = None,
    ) -> None:
        self._files = files  # a callable: listed on first need
        self.sql_functions = frozenset(sql_functions)
        self._sql_tails = frozenset(n.rsplit(".", 1)[-1] for n in sql_functions)
        self.root = root  # other modules are named relative to it in messages
        # the application SQL files a check of the tree checks itself (real paths; the
        # command line's `_ProjectFiles.sql_files`): a statement of one the program reads is
        # reported there (h36D); None: none known, reported where Python sends it
        self.checked_sql_files: Callable[[], frozenset[str]] | None = None
        self._defined: dict[str, list[str]] | None = None
        self._renamed: dict[str, set[str]] = {}  # a name -> the names aliases give it
        self._modules: OrderedDict[str, ModuleInfo | None] = OrderedDict()
        self._loading: set[str] = set()
        self._unfollowable: set[str] = set()  # modules whose body could not be followed
        self._found: dict[tuple[str, str, int], str | None] = {}
        self._made: dict[str, bool] = {}  # class name -> a file of the project may make one
        self._real: frozenset[str] | None = None  # the files, their real paths
        self._words: Counter[str] | None = None  # see _word_counts
        # attributes assigned from outside (see `changed_outside`), read name by name
        self._changes: set[str] | None = None  # the project's `_outside_changes`
        # `overrides:X:C` of `_outside_changes`: X -> (file, class C) (see `overridden_elsewhere`)
        self._overriders: dict[str, list[tuple[str, str]]] | None = None
        self._own_words: dict[str, Counter[str]] = {}  # each module's, by path
        # wrappers being worked out (Tarjan's strongly connected components over calls)
        self._number: dict[int, int] = {}  # function id -> order of visit, while unsettled
        self._low: dict[int, int] = {}
        self._unsettled: list[FunctionInfo] = []
        self._provisional: dict[int, dict[str, Reach]] = {}
        self._frames: list[int] = []  # the functions whose wrapper is being computed
        self._asked_again: set[int] = set()  # unsettled functions whose answer was asked again
        self.cache_size = 512
        # read since the last `take_consulted` (what a module's memoized facts came from included)
        self._consulted_modules: set[str] = set()
        self._consulted_lookups: set[tuple[str, str, int, str | None]] = set()
        self._consulted_names: set[str] = set()

    @property
    def files(self) -> list[str]:
        if callable(self._files):
            self._files = list(self._files())
        return list(self._files)

    def in_project(self, path: str) -> bool:
        """Whether a file is one of the project's files (checked when the tree is)."""
        if self._real is None:
            self._real = frozenset(os.path.realpath(f) for f in self.files)
        return os.path.realpath(path) in self._real

    def display(self, path: str) -> str:
        """How messages name a module: relative to the project root (to the working directory
        without one), else in full."""
        base = self.root if self.root is not None else os.getcwd()
        prefix = base.rstrip(os.sep) + os.sep
        return path[len(prefix) :] if path.startswith(prefix) else path

    def _texts(self) -> Iterator[tuple[str, str]]:
        """Each of the project's files that can be read, with its text."""
        for path in self.files:
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    yield path, handle.read()
            except OSError:
                continue

    def prepare(self) -> None:
        if self._defined is None:
            self._defined = {}
            for path, text in self._texts():
                names = set(_at_line_starts(_DEF, _DEF_LEAD, text))
                aliases: dict[str, list[str]] = {}  # `from .base import Repo as B`
                pairs = [
                    *_import_aliases(text),
                    *((o.rsplit(".", 1)[-1], a) for a, o in _NAME_ALIAS.findall(text)),
                ]  # `from .base import Repo as B`, `Base = base.Repo`
                for original, alias in pairs:
                    aliases.setdefault(alias, []).append(original)
                    # the names the project gives a class anywhere (`Repository = Repo` where
                    # it is defined, a package's re-export): its subclasses' files name those
                    self._renamed.setdefault(original, set()).add(alias)
                    names.add("alias:" + original)
                for bases in [
                    *_at_line_starts(_CLASS_BASES, _CLASS_LEAD, text),
                    *_TYPE_BASES.findall(text),  # `type("Inv", (Repo,), {…})`
                ]:
                    todo = _WORD.findall(bases)
                    while todo:  # through aliases of aliases (`Base2 = Base = Repo`)
                        word = todo.pop()
                        if "class:" + word in names:
                            continue
                        names.add("class:" + word)
                        todo.extend(aliases.get(word, ()))
                for name in names:
                    self._defined.setdefault(name, []).append(path)

    def entry_point(self, info: FunctionInfo) -> bool:
        """Whether a framework, not the project, calls this function: a route or command
        handler (decorated by a call of such a name: `@router.post("/run")`, `@bot.command()`),
        or a function no file of the project calls by its name (`name(…)`, `obj.name(…)`) —
        one only passed on as a value (a route table, a dispatch dict) or never used. Its
        parameters come from outside (a request, a chat message): SQL taken from one is built
        at run time, not a wrapper's for callers to complete."""
        for decorator in info.node.decorator_list:
            called = decorator.func if isinstance(decorator, ast.Call) else None
            if called is not None and _dotted(called).rsplit(".", 1)[-1] in _FRAMEWORK_HOOKS:
                return True
        if self.rewrapped(info):
            return True
        if info.name.startswith("__"):
            return False  # dunders are called by Python
        # (a closure too: `def q(sql): return conn.fetch(sql)` handed on, `app.add_route("/run",
        # q)`, sends what whoever calls it gives — round 29, outside review h29c: it passed in
        # silence, its parameter read as a wrapper's no call of the project fills)
        path = info.module.path
        if path is None or not self.in_project(path):
            return False  # a text checked on its own (stdin): its callers may be anywhere
        # (the check cache: a file that starts or stops calling it, or handing it on, changes
        # the answer — h35D: a wrapper put in another file's route table kept its cached
        # "no finding")
        self._consulted_names.add("word:" + info.name)
        words = self._word_counts()
        defined = words.get("def " + info.name, 0)
        stem = os.path.splitext(os.path.basename(path))[0]
        # the calls that may be of it: a method's by any `obj.name(`; a function's by its name
        # alone or by its module's (`jobs.run_sql(` is some object's method)
        calls = (
            words.get(info.name, 0)
            if info.cls is not None
            else words.get("bare " + info.name, 0) + words.get(f"call {stem}.{info.name}", 0)
        )
        if defined > 0 and calls <= defined:
            return True  # no call but the definitions
        # passed on as a value — in its own module (`add_api_route("/run", run_sql)`, a
        # dispatch table), or by its module's name (`path("run", views.run_sql)`): whoever
        # calls it then is not the project (other modules' names of that word are others')
        own = self._own_words.get(path)  # read by _word_counts, unless the file changed since
        if own is None:
            own = self._own_words[path] = _code_words("".join(info.module.origin.lines))
        # (a method by `self.name` / `cls.name` in its own module, a function bare there)
        mine = ("self", "cls") if info.cls is not None else ("",)
        return (
            any(own.get(f"value {q}{'.' if q else ''}{info.name}", 0) > 0 for q in mine)
            or words.get(f"value {stem}.{info.name}", 0) > 0
            or (info.cls is None and words.get("imported value " + info.name, 0) > 0)
            or words.get("getattr " + info.name, 0) > 0
            # `map(run_all, [conn], lists)`: called with items no call of the project shows
            or words.get("mapped " + info.name, 0) > 0
        )

    def rewrapped(self, info: FunctionInfo) -> bool:
        """Whether a decorator of the function may call it with other arguments than its
        callers give (`@loosen` whose inner function passes `q.replace(…)` on): what the
        project's callers pass is not what reaches the query (round 25b, outside attack)."""
        return any(
            not self._passes_arguments(d, info)
            and not (  # a route's or a command's: a framework's handler (see entry_point)
                isinstance(d, ast.Call) and _dotted(d.func).rsplit(".", 1)[-1] in _FRAMEWORK_HOOKS
            )
            for d in info.node.decorator_list
        )

    def _passes_arguments(self, decorator: ast.expr, info: FunctionInfo) -> bool:
        """Whether a decorator calls the function with the arguments its callers give: a known
        one (`staticmethod`, `functools.wraps`, `lru_cache`, `contextmanager`, a retry); one
        from outside the project (a tracer's span, a library's timer: only the project's own
        decorators are read — a library rewriting its callers' SQL is not the mistake this
        guards against, and taking every such wrapper for SQL from outside would hide its
        callers' SQL behind TG009); or a project function whose inner function calls it with
        its own `*args, **kwargs`, never reassigned. A project's decorator factory
        (`@deco(…)`), class or object is not read: it may change them."""
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _dotted(target).rsplit(".", 1)[-1] in _ARGUMENTS_KEPT:
            return True
        root = target
        while isinstance(root, ast.Attribute | ast.Call):
            root = root.value if isinstance(root, ast.Attribute) else root.func
        if not isinstance(root, ast.Name):
            return False  # `@registry[k]`, `@(lambda f: …)`: not read
        binding = info.module.env.get(root.id)
        if isinstance(binding, ImportedRef):
            binding = self.imported(binding)
        elif isinstance(binding, ModuleRef) and self.resolve(binding) is None:
            binding = None  # `import tracing` of an installed package
        if not isinstance(binding, FuncRef | ClassRef | InstanceRef | ModuleRef):
            return (
                True  # not the project's: imported from outside it, a built-in, a library's object
            )
        if isinstance(decorator, ast.Call) or root is not target:
            return False  # a project's factory, or a name read on a project's module or object
        return isinstance(binding, FuncRef) and _forwards_arguments(binding.info.node)

    def _word_counts(self) -> Counter[str]:
        """`_code_words` of the whole project, read once."""
        if self._words is None:
            counts: Counter[str] = Counter()
            for path, text in self._texts():
                # each file's, kept
                own = self._own_words[path] = _code_words(text, _blanked(text))
                counts.update(own)
            self._words = counts
        return self._words

    def take_consulted(self) -> Consulted:
        """What was read since the last call, besides the files checked (see `Consulted`)."""
        found = Consulted(
            frozenset(self._consulted_modules),
            frozenset(self._consulted_lookups),
            frozenset(self._consulted_names),
        )
        self._consulted_modules.clear()
        self._consulted_lookups.clear()
        self._consulted_names.clear()
        return found

    # configuration

    def is_sql_function(self, name: str, func: ast.expr) -> bool:
        if name not in self._sql_tails:
            return False
        if name in self.sql_functions:
            return True
        dotted = _dotted(func)
        return any(dotted.endswith("." + n) or dotted == n for n in self.sql_functions)

    def configured_function(self, info: FunctionInfo | None) -> bool:
        """Whether a project function is named in `sql_functions` (its callers' SQL is checked)."""
        return info is not None and info.name in self._sql_tails

    def may_define(self, name: str) -> bool:
        if name.startswith("__"):
            return False
        self.prepare()
        assert self._defined is not None
        self._consulted_names.add(name)
        return name in self._defined  # the project's files only: not what this process read

    def changed_outside(
        self,
        name: str,
        *,
        stored: bool = True,
        dunder: bool = False,
        home: ModuleInfo | None = None,
    ) -> bool:
        """Whether a file of the project may assign the attribute `name` of some object other
        than `self` / `cls` (`queries.X = …`, `Repo.X = …`, `setattr(obj, "X", …)`), or, with
        `stored` False, change a collection of that name in place (`X.append(…)`, `q.X[k] =
        …`): see `_outside_changes`, read over the project's files on first need. A name with
        a leading `__` is asked for with `dunder` only (`Q.__str__ = …`, a decorator's
        `cls.__format__ = …`)."""
        key = ("stored:" if stored else "mutated:") + name
        if name.startswith("__") and not dunder:
            return False
        if self._changed_somewhere(key):
            return True
        if stored:
            return False
        # a file that changes its own module's collection of that name only (`TABLES = {}`
        # then `TABLES["x"] = …`, no import or attribute of that name): a change of `home`'s
        # `name` when `home` is that file; of any module's when the asker does not say which
        # (h37Q: an unrelated module's own `TABLES` made a TG001 of `TABLES.items()` TG009)
        own = "mutated-own:" + name
        if home is None:
            return self._changed_somewhere(own)
        return own in _outside_changes("".join(home.origin.lines))

    def hooked_attribute(self, name: str, info: ClassInfo) -> bool:
        """Whether a classmethod or `__init_subclass__` of a class C of the project sets
        `cls.<name>` (`class-set:` of `_outside_changes`) where `cls` may be a class whose
        attribute `info`'s reads see: C and `info` share a class (by name: `info` or one of
        its subclasses is C or one of C's). Any class statement whose bases are not read
        (`class A(*BASES)`, a call), or a class made by `type(…)` / `new_class(…)` in a file
        that names C, counts as sharing."""
        if not self._changed_somewhere("class-set:" + name):
            return False
        assert self._changes is not None
        prefix = f"class-set:{name}:"
        setters = sorted(k[len(prefix) :] for k in self._changes if k.startswith(prefix))
        mine = self._class_family(info.name)
        return mine is None or any(
            (theirs := self._class_family(c)) is None or mine & theirs for c in setters
        )

    def _class_family(self, name: str) -> set[str] | None:
        """The class named `name` and the names of the project's classes that derive from it
        (read from the class statements of the files that name it among their bases, through
        the aliases the project gives it); None when one of those files makes a class it
        cannot read so (bases unpacked or called, `type(…)`)."""
        if not self.files:
            return None  # (the project's other files unknown)
        self.prepare()
        assert self._defined is not None
        family = {name}
        todo = [name]
        while todo:
            current = todo.pop()
            known = [current]
            for alias in known:
                self._consulted_names.add("alias:" + alias)
                known.extend(a for a in sorted(self._renamed.get(alias, ())) if a not in known)
            for alias in known:
                self._consulted_names.add("class:" + alias)
                for path in self._defined.get("class:" + alias, ()):
                    try:
                        with open(path, encoding="utf-8", errors="replace") as handle:
                            text = _blanked(handle.read())
                    except OSError:
                        return None
                    if _UNREAD_CLASS.search(text) is not None:
                        return None
                    for match in _CLASS_STATEMENT.finditer(text):
                        if alias in _WORD.findall(match.group(3)) and match.group(2) not in family:
                            family.add(match.group(2))
                            todo.append(match.group(2))
        return family

    def overridden_elsewhere(self, name: str, owner: str, origin: Origin) -> bool:
        """Whether a class whose bases are not read (`class Admin(*BASES)`, see
        `_unread_subclass_attributes`) defines `name`, other than the class `owner` of the
        file `origin` itself (its own body's value is the one its methods read)."""
        if name.startswith("__") or not self._changed_somewhere("overrides:" + name):
            return False
        if self._overriders is None:
            self._overriders = {}
            for path, text in self._texts():
                for key in _outside_changes(text):
                    attribute, _, cls = key[10:].partition(":")
                    if key.startswith("overrides:") and cls:
                        where = (os.path.realpath(path), cls)
                        self._overriders.setdefault(attribute, []).append(where)
        own = os.path.realpath(str(origin.path)) if origin.path is not None else None
        return any(where != (own, owner) for where in self._overriders.get(name, ()))

    def class_written_by_key(self, name: str) -> bool:
        """Whether a file writes the attributes of a class of that name it imports by a key not
        spelt at the write (`for k, v in os.environ.items(): setattr(Repo, k, v)`, h32j)."""
        return self._changed_somewhere("overrides-all:" + name)

    def module_replaced(self, info: ModuleInfo) -> bool:
        """Whether a file of the project may put another object in the module's place
        (`sys.modules["queries"] = …`, `queries.__class__ = M`): what `import queries` gives
        then is not its body's names (round 26b, outside attack)."""
        if info.path is None:
            return False
        stem = _module_stem(info.path)
        return self._changed_somewhere("replaced:*") or self._changed_somewhere("replaced:" + stem)

    def _changed_somewhere(self, key: str) -> bool:
        self._consulted_names.add(key)
        if self._changes is None:
            self._changes = set()
            for _path, text in self._texts():
                self._changes |= _outside_changes(text)
            self._changes |= handed_changes(self._changes).keys()
        return key in self._changes

    # modules

    def register(self, info: ModuleInfo) -> None:
        if info.path is not None:
            self._store(info.path, info)

    def _store(self, path: str, info: ModuleInfo | None) -> None:
        self._modules[path] = info
        self._modules.move_to_end(path)
        while len(self._modules) > self.cache_size:
            self._modules.popitem(last=False)

    def consult_directory(self, path: str) -> None:
        """A directory whose files a module's value lists: a cached answer that read it goes
        when a file is added or removed there (the cache hashes its listing)."""
        self._consulted_modules.add(path)

    def read_file(self, path: str) -> str | None:
        """The text of a file a module's value is (`Path(…).read_text()`), None when it is not
        there, too large or not UTF-8 text; recorded as read, so that a cached answer that
        read it goes when it changes."""
        self._consulted_modules.add(path)
        try:
            if os.path.getsize(path) > _MAX_READ_FILE:
                return None
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError):
            return None

    def module(self, path: str) -> ModuleInfo | None:
        """The module of a file, its body run (None: it cannot be read). Read while its body
        runs (an import cycle), it holds the names bound so far."""
        self._consulted_modules.add(path)
        if path in self._unfollowable:  # every reader fails closed, not only the first
            raise RecursionError(f"the values of {self.display(path)} cannot be followed")
        if path in self._modules:
            self._modules.move_to_end(path)
            return self._modules[path]
        if path in self._loading:
            return None
        self._loading.add(path)
        try:
            info = _load(path, cast("ProjectIndex", self))
        finally:
            self._loading.discard(path)
        self._store(path, info)
        return info

    def unfollowable(self, path: str) -> None:
        """A module whose body could not be followed: no half-read module stays to be read."""
        self._unfollowable.add(path)
        self._modules.pop(path, None)

    def finished(self, info: ModuleInfo) -> ModuleInfo:
        """The module with its function bodies run (their sinks and calls recorded). Bodies
        that cannot be followed fail every question about them, not only the first (the check
        that asks fails closed)."""
        if info.unfollowable:
            raise RecursionError(f"the functions of {info.origin.display} cannot be followed")
        walker = info.functions_pending
        if walker is not None:
            info.functions_pending = None
            try:
                walker.run_functions()
            except RecursionError:
                info.unfollowable = True
                raise
        return info

    def resolve(self, ref: ModuleRef) -> str | None:
        """The file of an imported module, found next to the importer (relative imports) or
        in the importer's ancestor directories (absolute ones)."""
        importer = ref.importer
        if importer is None:
            return None
        directory = os.path.dirname(importer)
        key = (directory, ref.name, ref.level)
        if key in self._found:
            found = self._found[key]
        else:
            found = self._found[key] = find_module(directory, ref.name, ref.level)
        self._consulted_lookups.add((directory, ref.name, ref.level, found))
        return found

    def attribute_of(self, ref: ModuleRef | ImportedRef, name: str) -> Binding | None:
        """`q.X` for a module reference: X's binding in q, or the submodule q.X."""
        module = self._module_of(ref)
        if isinstance(module, ModuleRef):
            path = self.resolve(module)
            info = self.module(path) if path else None
            if info is not None and name in info.env:
                return info.env[name]
            sub = ModuleRef(  # a submodule of a package (`__init__.py` or not)
                f"{module.name}.{name}" if module.name else name, module.level, module.importer
            )
            return sub if self.resolve(sub) is not None else None
        return None

    def _module_of(self, ref: ModuleRef | ImportedRef) -> Binding | None:
        if isinstance(ref, ModuleRef):
            return ref
        return self.imported(ref)

    def imported(self, ref: ImportedRef) -> Binding | None:
        """The binding `from q import X` gives X: X in q, or q's submodule X (followed through
        re-exports; an import cycle gives None)."""
        seen: set[ImportedRef] = set()
        while ref not in seen:
            seen.add(ref)
            path = self.resolve(ref.module)
            info = self.module(path) if path else None
            binding = info.env.get(ref.name) if info is not None else None
            if binding is not None and not (
                # `from . import tq` in a package's `__init__.py` binds its submodule tq there
                isinstance(binding, ImportedRef)
                and binding.name == ref.name
                and self.resolve(binding.module) == path
            ):
                if isinstance(binding, ImportedRef):
                    ref = binding
                    continue
                return binding
            module = ref.module  # a submodule of a package (`__init__.py` or not)
            sub = ModuleRef(
                f"{module.name}.{ref.name}" if module.name else ref.name,
                module.level,
                module.importer,
            )
            return sub if self.resolve(sub) is not None else None
        return None

    def as_value(self, binding: Binding, node: ast.AST, origin: Origin, label: str) -> Value:
        """A binding read as a string."""
        if isinstance(binding, tuple):
            return binding
        if isinstance(binding, ImportedRef):
            resolved = self.imported(binding)
            if resolved is None:
                where = "." * binding.module.level + binding.module.name
                reason = (
                    f"`{label}` is imported from {where}, outside the project"
                    if self.resolve(binding.module) is None
                    else f"`{label}` is imported from {where}, which cannot be read or does not "
                    "define it (by then: an import cycle)"
                )
                return hole(node, origin, reason)
            return self.as_value(resolved, node, origin, label)
        return hole(node, origin, f"`{label}` is not a string")
