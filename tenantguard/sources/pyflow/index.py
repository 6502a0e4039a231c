"""The project as the walker follows it: `ProjectIndex` loads the modules an import
names, keeps their functions, classes and calls, and answers which calls are sinks;
`analyze_module` runs one module. The top of the package: relies on all the modules below,
`walker` included.
"""

from __future__ import annotations

import ast
import builtins
import functools
import itertools
import os
import re
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenantguard.sources.pyflow.model import (
    _RETURN_DEPTH,
    _YIELDED,
    Call,
    ClassRef,
    FuncRef,
    ImportedRef,
    InstanceRef,
    ModuleInfo,
    ModuleRef,
    find_module,
)
from tenantguard.sources.pyflow.names import (
    _LIBRARY_SQL_METHODS,
    _LOG_METHODS,
    _NO_ATTRIBUTES_BASES,
    _TEXT_DUNDERS,
    SQL_METHODS,
    _db_named,
    _dotted,
    _is_name,
    _same_class,
    _short,
    expression_name,
)
from tenantguard.sources.pyflow.parameters import (
    _argument_for,
    _carries_parameters,
    _default,
    _default_expression,
    _positional,
    _substituted,
    passed_parameters,
    sent_unchanged,
)
from tenantguard.sources.pyflow.scan import (
    _CLASS_BASES,
    _CLASS_LEAD,
    _CLASS_STATEMENT,
    _DEF,
    _DEF_LEAD,
    _FRAMEWORK_HOOKS,
    _NAME_ALIAS,
    _TYPE_BASES,
    _UNREAD_CLASS,
    _WORD,
    _at_line_starts,
    _blanked,
    _code_words,
    _import_aliases,
    _outside_changes,
    handed_changes,
)
from tenantguard.sources.pyflow.stores import (
    _ANY_NAME,
    _ARGUMENTS_KEPT,
    _forwards_arguments,
    _function_nonlocals,
    _sets_any_attribute,
)
from tenantguard.sources.pyflow.syntax import (
    _MAX_READ_FILE,
    _RECORD_MAKERS,
    _annotation_of,
    _c3_merge,
    _constant_value,
    _decorated,
    _definition_order,
    _generator,
    _init_parameter,
    _is_enum,
    _makes_by_name,
    _makes_its_class,
    _makes_its_own,
    _none_value,
    _own_calls,
    _string_annotation,
)
from tenantguard.sources.pyflow.walker import _Walker
from tenantguard.sources.pyvalues import MAX_ALTERNATIVES, Hole, Origin, hole, is_constant, union

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from tenantguard.sources.pyflow.model import Binding, ClassInfo, FunctionInfo, Reach, Sink
    from tenantguard.sources.pyvalues import Alternative, Lit, Value


@dataclass(frozen=True, slots=True)
class Consulted:
    """What checks read besides their own file: the check cache's dependencies.

    `modules`: files whose content was used (memoized facts of a module count for every later
    check of the process: a process's union is what its checks depended on); `lookups`:
    imports resolved on disk (directory, name, level, the file found or None); `names`:
    function names looked up among the project's files (which files define them matters).
    """

    modules: frozenset[str] = frozenset()
    lookups: frozenset[tuple[str, str, int, str | None]] = frozenset()
    names: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.modules or self.lookups or self.names)


@functools.lru_cache(maxsize=1024)
def _module_stem(path: str) -> str:
    """The name `import` gives the module at `path` (its package's, for an `__init__.py`):
    asked once per module-level assignment, worked out once per file (session 34)."""
    found = Path(path)
    return found.parent.name if found.stem == "__init__" else found.stem


class ProjectIndex:
    """What the project defines, shared by every file of one run.

    What a file's findings depend on is the content of the project's files, never which files
    the run checks nor in which order (pre-commit passes the staged files, CI the tree):

    * `files` are the project's Python files (the configuration root's tree, walked as a check
      of it walks it), not the files named on the command line; the names of the functions they
      define are indexed in one pass over their text, on first need (a call of a method on an
      object of unknown class);
    * a module read for its names runs its body only; its function bodies run when a caller
      needs them (is this function a wrapper?), after every module body they read has run;
    * whether a function is a wrapper is worked out for each set of mutually recursive
      functions together, in the order of their definitions, not of the first question.

    Modules are read once per process and kept in a bounded cache: a module imported by many
    files is read once, not once per importer. A parallel check's forked workers inherit what
    the parent built before the fork, and build the rest once each.
    """

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

    def changed_outside(self, name: str, *, stored: bool = True, dunder: bool = False) -> bool:
        """Whether a file of the project may assign the attribute `name` of some object other
        than `self` / `cls` (`queries.X = …`, `Repo.X = …`, `setattr(obj, "X", …)`), or, with
        `stored` False, change a collection of that name in place (`X.append(…)`, `q.X[k] =
        …`): see `_outside_changes`, read over the project's files on first need. A name with
        a leading `__` is asked for with `dunder` only (`Q.__str__ = …`, a decorator's
        `cls.__format__ = …`)."""
        key = ("stored:" if stored else "mutated:") + name
        if name.startswith("__") and not dunder:
            return False
        return self._changed_somewhere(key)

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
            info = _load(path, self)
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
            if found is not None and all(found is not v for v in values):
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
        if all(isinstance(v, tuple) for v in values):
            return union(values, node, origin)  # type: ignore[arg-type]
        return (
            values[0]
            if all(v is values[0] for v in values)
            else hole(node, origin, f"`self.{name}` holds different kinds of values")
        )

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
        walker = _Walker(own.module, self)
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
            walker = _Walker(module, self)
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
        name = info.name
        if name not in self._made:
            pattern = re.compile(rf"\b{re.escape(name)}\b")
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
                if pattern.search(text):
                    texts.append(text)
            self._made[name] = any(_makes_by_name(t, name, pattern) for t in texts)
        self._consulted_names.add("word:" + name)
        return self._made[name]

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
        walker = _Walker(info.module, self)
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

    # calls

    def callees(self, ref: FuncRef | ImportedRef) -> Callable[[], list[FunctionInfo]]:
        def resolve() -> list[FunctionInfo]:
            binding: Binding | None = ref
            if isinstance(binding, ImportedRef):
                binding = self.imported(binding)
            if isinstance(binding, ClassRef):  # `from .pages import Pages`, then `Pages(…)`
                return self.overrides(binding.info, "__init__", exact=True)()
            return [binding.info] if isinstance(binding, FuncRef) else []

        return resolve

    def method_callees(self, info: ClassInfo, name: str) -> Callable[[], list[FunctionInfo]]:
        def resolve() -> list[FunctionInfo]:
            order, complete = self.bases(info)
            for cls in order:
                if name in cls.methods:
                    return [cls.methods[name]]
            return self.named_callees(name, info.module)() if not complete else []

        return resolve

    def overrides(
        self, info: ClassInfo, name: str, *, exact: bool = False
    ) -> Callable[[], list[FunctionInfo]]:
        """The method a class finds by its name, and (unless the object is `exact`ly of that
        class) those of its subclasses in the same module; none when a base outside the
        project may come first."""

        def resolve() -> list[FunctionInfo]:
            order, complete = self.bases(info)
            found = next((cls.methods[name] for cls in order if name in cls.methods), None)
            if found is None or not (complete or name in info.methods):
                return []  # a base outside the project may define it first
            if exact:
                return [found]
            return [found, *(c.methods[name] for c in self._subclasses(info) if name in c.methods)]

        return resolve

    def returned(self, value: Value, depth: int = 0, seen: frozenset[int] = frozenset()) -> Value:
        """A value with the calls of project functions in it replaced by what they return
        (each `return` one alternative); a call whose returns are not all read stays a hole."""
        if not any(type(p) is Hole and p.returns is not None for a in value for p in a):
            return value
        out: list[tuple[Lit | Hole, ...]] = []
        for alternative in value:
            choices: list[Value] = []
            for part in alternative:
                given = self._given(part, depth, seen) if type(part) is Hole else None
                choices.append(given if given is not None else ((part,),))
            for combination in itertools.product(*choices):
                out.append(tuple(p for piece in combination for p in piece))
                if len(out) > MAX_ALTERNATIVES:
                    return value  # too many strings: the calls stay unknown
        return tuple(out)

    def _given(self, part: Hole, depth: int, seen: frozenset[int]) -> Value | None:
        if part.returns is None or depth >= _RETURN_DEPTH:
            return None
        targets = part.returns()  # type: ignore[operator]
        if not targets:
            return None
        values: list[Value] = []
        for info in targets:
            if id(info) in seen:
                return None  # a recursion: what it returns is not followed
            self.finished(info.module)
            if part.position == _YIELDED:  # an item of the generator it makes
                if not _generator(info.node) or _decorated(info.node) or not info.yields:
                    return None
                for value in info.yields.values():
                    # a parameter it yields (`yield BASE + extra`) holds what the call gives
                    # it, as for a return (round 28, outside review h28e: `gen(" OR true")`
                    # was only a warning)
                    value = self._filled(value, info, part, depth, seen)
                    values.append(self.returned(value, depth + 1, seen | {id(info)}))
                continue
            if _generator(info.node) or _decorated(info.node):
                return None
            if part.position is not None:  # an item of the tuples it returns
                if not info.tuple_returns:
                    return None
                for items in info.tuple_returns.values():
                    item = items[part.position] if part.position < len(items) else None
                    if item is None:
                        return None
                    values.append(self.returned(item, depth + 1, seen | {id(info)}))
                continue
            if not info.returns:
                return None
            for value in info.returns.values():
                value = self._filled(value, info, part, depth, seen)
                values.append(self.returned(value, depth + 1, seen | {id(info)}))
        return union(values, part.node, part.origin)

    def _filled(
        self, value: Value, info: FunctionInfo, part: Hole, depth: int, seen: frozenset[int]
    ) -> Value:
        """What a function returns with each of its parameters it returns unchanged (a hole of
        that parameter: `return dedent(text).strip()`) given the call's argument for it, or
        its constant default, when that is constant; a parameter the call gives no sure
        argument for, or one only partly known, stays a hole."""
        if not any(
            type(p) is Hole and p.param is not None and p.owner is info for a in value for p in a
        ):
            return value
        # a parameter a nested function assigns again through `nonlocal` (`def add(): nonlocal
        # text; text += " OR true"`, then `add(); return text`) is not what the call gave
        # (round 28, outside review h28e: it was read as the argument)
        rebound = _function_nonlocals(info)
        given = part.given
        call: Call | None = None
        unpacked = False
        if isinstance(given, tuple):
            bound, positional, keywords, unpacked, known = given
            if not known and info.method_kind == "method":
                return value  # which argument is `self` is not known: the parameter stays
            call = Call(
                part.node,  # type: ignore[arg-type]
                lambda: [],
                [None if v is None else (part.node, v) for v in positional],  # type: ignore[misc]
                {k: (part.node, v) for k, v in keywords},  # type: ignore[misc]
                None,
                bool(bound),
            )
        out: list[Alternative] = []
        for alternative in value:
            choices: list[Value] = []
            for piece in alternative:
                argument: Value | None = None
                if (
                    type(piece) is Hole
                    and piece.param is not None
                    and piece.owner is info
                    and piece.param not in rebound
                ):
                    found = (
                        None
                        if call is None
                        else _argument_for(call, info, _positional(call, info), piece.param)
                    )
                    if found is not None:
                        argument = found[1]
                    elif not unpacked and (call is None or None not in call.positional):
                        # the call surely gives nothing for it: its default is what it holds
                        argument = _default(info, piece)
                    if argument is not None:
                        argument = self.returned(argument, depth + 1, seen | {id(info)})
                        if not all(is_constant(a) for a in argument):
                            # a part only known at run time: TG009 stays at the parameter,
                            # where the function leaves it to run time (as before)
                            argument = None
                        elif piece.transform is not None:  # `" ".join(text.split())`
                            argument = piece.transform(argument)
                choices.append(argument if argument is not None else ((piece,),))
            for combination in itertools.product(*choices):
                out.append(tuple(p for chosen in combination for p in chosen))
        return tuple(dict.fromkeys(out))

    def module_callees(
        self, ref: ModuleRef | ImportedRef, name: str
    ) -> Callable[[], list[FunctionInfo]]:
        def resolve() -> list[FunctionInfo]:
            if isinstance(ref, ImportedRef):
                target = self.imported(ref)
                if isinstance(target, ClassRef):  # `from m import Repo`: Repo.method(…)
                    return self.method_callees(target.info, name)()
            binding = self.attribute_of(ref, name)
            if isinstance(binding, ImportedRef):
                binding = self.imported(binding)
            if isinstance(binding, ClassRef):  # `pages.Pages(…)`: its constructor
                return self.overrides(binding.info, "__init__", exact=True)()
            return [binding.info] if isinstance(binding, FuncRef) else []

        return resolve

    def named_callees(
        self, name: str, module: ModuleInfo | None = None
    ) -> Callable[[], list[FunctionInfo]]:
        """A method called on an object of unknown class: every project method of that name."""

        def resolve() -> list[FunctionInfo]:
            self.prepare()
            assert self._defined is not None
            self._consulted_names.add(name)
            out: list[FunctionInfo] = []
            paths = sorted(set(self._defined.get(name, ())))
            if module is not None and module.path not in paths:  # a file outside the project
                out.extend(f for f in module.functions if f.name == name and f.cls is not None)
            for path in paths:
                info = self.module(path)
                if info is not None:
                    functions = self.finished(info).functions
                    out.extend(f for f in functions if f.name == name and f.cls is not None)
            return out

        return resolve

    def wrapper(self, info: FunctionInfo) -> dict[str, Reach]:
        """The parameters a function passes unchanged into a sink (directly, or through other
        project functions), with what they reach and whether that is certainly SQL.

        Functions that call each other (a strongly connected component of the call graph,
        found as Tarjan does) are settled together once the first of them to be asked is done:
        from nothing, in the order they are defined, until no answer grows. The answer is the
        same whichever of them was asked first.
        """
        if info.wrapper is not None:
            return info.wrapper
        key = id(info)
        if key in self._number:  # being worked out: what is known so far
            self._asked_again.add(key)
            return self._provisional.get(key, {})
        number = len(self._number)
        self._number[key] = self._low[key] = number
        self._unsettled.append(info)
        try:
            found = self._provisional[key] = self._wrapper_of(info)
            if self._low[key] < number:
                return found  # part of a recursion through a function asked before: settled there
            start = self._unsettled.index(info)
            members = self._unsettled[start:]
            if len(members) > 1 or key in self._asked_again:  # a recursion: settled together
                self._settle(sorted(members, key=_definition_order))
            # (a module read again while settling, evicted from the cache, may have added some)
            for member in self._unsettled[start:]:
                member.wrapper = self._provisional.get(id(member), {})
            self._forget(start)
            return info.wrapper if info.wrapper is not None else {}
        except BaseException:  # nothing half-worked-out stays to answer a later question
            if info in self._unsettled:
                self._forget(self._unsettled.index(info))
            raise

    def _settle(self, members: list[FunctionInfo]) -> None:
        """The answers of functions that call each other: from nothing, in a fixed order,
        until none grows."""
        for member in members:
            self._provisional[id(member)] = {}
        for _ in range(4 * len(members) + 4):  # answers only grow: a bound, not a guess
            changed = False
            for member in members:
                answer = self._wrapper_of(member)
                if answer != self._provisional[id(member)]:
                    self._provisional[id(member)] = answer
                    changed = True
            if not changed:
                return

    def _forget(self, start: int) -> None:
        """Drops what is kept about the unsettled functions from `start` on (settled now, or
        their question failed)."""
        for member in self._unsettled[start:]:
            key = id(member)
            self._number.pop(key, None)
            self._low.pop(key, None)
            self._provisional.pop(key, None)
            self._asked_again.discard(key)
        del self._unsettled[start:]

    def _wrapper_of(self, info: FunctionInfo) -> dict[str, Reach]:
        """One function's answer, given what its callees' answers are now."""
        self.finished(info.module)
        self._frames.append(id(info))
        try:
            found: dict[str, Reach] = {}

            def reaches(parameter: str, through: str, certain: bool, template: Value) -> None:
                known = found.get(parameter)
                if known is None:
                    found[parameter] = (through, certain, template)
                elif not set(template) <= set(known[2]):  # sent in several ways: each is one
                    merged = union((known[2], template), info.node, info.module.origin)
                    found[parameter] = (known[0], known[1], merged)

            # the functions its body defines send what they read of its parameters too (a
            # callback handed to a retry helper or a circuit breaker)
            inner = [info]
            if info.name == "__init__" and info.cls is not None:
                # its class's methods send what it keeps of its parameters (`self.query`)
                inner.extend(m for m in info.cls.methods.values() if m is not info)
            for function in inner:
                inner.extend(function.nested)
            for sink in (s for function in inner for s in function.sinks):
                for parameter, template in passed_parameters(sink.value, info).items():
                    reaches(parameter, sink.method, sink.certain, template)
            for call in (c for function in inner for c in function.calls):
                if not _carries_parameters(call, info):
                    continue  # none of its arguments holds one of them: whatever the callee does
                for callee, _, argument, (through, certain, _) in self.wrapped_arguments(call):
                    for own, template in passed_parameters(argument[1], info).items():
                        reaches(own, f"{callee.name}() -> {through}", certain, template)
            return found
        finally:
            self._frames.pop()

    def wrapped_arguments(
        self, call: Call, unpacked: Origin | None = None
    ) -> Iterator[tuple[FunctionInfo, str, tuple[ast.expr, Value], Reach]]:
        """(callee, its parameter, the argument given for it, what it reaches) for each
        parameter of a wrapper that this call fills. The argument's value is the SQL the
        callee sends with it: its template with the argument in the parameter's place, and
        the callee's other parameters there filled by what this call gives them.

        `unpacked` (the calling file): a parameter the call may fill from `*args` or
        `**kwargs` is given a value only known at run time, there (not left out)."""
        unpacks = unpacked is not None and (
            any(p is None for p in call.positional)
            or any(k.arg is None for k in call.call.keywords)
        )
        for callee in call.targets():
            wrapped = self.wrapper(callee)
            if self._frames and id(callee) in self._low:  # still unsettled: one recursion
                frame = self._frames[-1]
                self._low[frame] = min(self._low[frame], self._low[id(callee)])
            if not wrapped:
                continue
            positional = _positional(call, callee)
            for parameter, reach in wrapped.items():
                argument = _argument_for(call, callee, positional, parameter)
                if argument is None and unpacks and parameter not in call.keywords:
                    assert unpacked is not None
                    reason = f"the SQL {callee.name}() gets is unpacked from `*`/`**` arguments"
                    argument = (call.call, hole(call.call, unpacked, reason))
                if argument is None:
                    default = _default_expression(callee, parameter)
                    if default is None or isinstance(default, ast.Constant) or unpacks:
                        continue
                    # left out, its default sent: one computed when the function was made
                    # (`def run(conn, q=PREFIX[:21])`, h32g) is only known at run time
                    reason = f"the default of `{parameter}` in {callee.name}() is computed"
                    argument = (default, hole(default, callee.module.origin, reason))
                template = reach[2]
                if sent_unchanged(template):
                    yield callee, parameter, argument, reach
                    continue
                filled = {parameter: argument[1]}
                for alternative in template:
                    for part in alternative:
                        if (
                            type(part) is Hole
                            and part.owner is callee
                            and part.param is not None
                            and part.param not in filled
                        ):
                            other = _argument_for(call, callee, positional, part.param)
                            given = other[1] if other is not None else _default(callee, part)
                            if given is not None:
                                filled[part.param] = given
                value = _substituted(template, callee, filled, argument[0])
                yield callee, parameter, (argument[0], value), reach

    def made_by_the_project(self, info: ClassInfo) -> bool:
        """Whether only the project's code makes objects of a class, by calling it: the class
        is not handed on as a value (`Depends(Pages)`, `{"pages": Pages}`, `cls=Pages`, an
        annotation's `p: Pages)` read so too), nor looked up by a name, anywhere in the
        project; what its constructor is given is then what its callers pass (h35D)."""
        path = info.module.path
        if path is None or not self.in_project(path):
            return False
        if self._subclasses(info) or _makes_its_own(info.node):
            return False  # `super().__init__(pool, q)`, `cls(pool, q)`: made otherwise too
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

    def sends_nothing(self, call: Call) -> bool:
        """Whether a call of a project method named like a driver's (`Shell().execute(text)`,
        the receiver's class known) surely sends nothing of its first argument as SQL: each
        callee is no wrapper, sends no SQL of its own, and hands what it is given (and any
        name made from it) only to what is outside the project (`subprocess.run`, `print`,
        a log call) or back by `return` — never to an object's attribute, a container, a
        callable it holds or one looked up by a name (h35D: such text was TG006 as a
        driver's SQL, `"update users and invoices …"`)."""
        if call.guessed or not call.positional or call.positional[0] is None:
            return False
        callees = call.targets()
        if not callees:
            return False
        for callee in callees:
            positional = _positional(call, callee)
            if not positional or self.wrapper(callee) or callee.sinks or callee.nested:
                return False
            if not self._keeps_to_itself(callee, positional[0]):
                return False
        return True

    def _keeps_to_itself(self, info: FunctionInfo, parameter: str) -> bool:
        """Whether a function hands its parameter (and what it makes of it) to nothing but
        callables from outside the project or a log call, or back by `return`."""
        body = list(ast.walk(info.node))
        tainted = {parameter}

        def uses(node: ast.AST | None) -> bool:
            return node is not None and any(
                isinstance(n, ast.Name) and n.id in tainted for n in ast.walk(node)
            )

        grown = True
        while grown:
            grown = False
            for node in body:
                value: ast.AST | None = None
                targets: list[ast.AST] = []
                if isinstance(node, ast.Assign):
                    value, targets = node.value, list(node.targets)
                elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
                    value, targets = node.value, [node.target]
                elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                    value, targets = node.iter, [node.target]
                elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                    value, targets = node.context_expr, [node.optional_vars]
                if not uses(value):
                    continue
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name) and name.id not in tainted:
                            tainted.add(name.id)
                            grown = True
        local = {
            n.id for n in body if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        } | set(info.parameters)
        for node in body:
            if isinstance(node, ast.Global | ast.Nonlocal) and tainted & set(node.names):
                return False
            if isinstance(node, ast.Yield | ast.YieldFrom | ast.Lambda) and uses(node):
                return False
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and uses(node.value):
                stored = node.targets if isinstance(node, ast.Assign) else [node.target]
                if not all(isinstance(t, ast.Name) for t in stored):
                    return False  # kept on an object or in a container: sent later, maybe
            if (
                isinstance(node, ast.Call)
                and (any(uses(a) for a in node.args) or any(uses(k.value) for k in node.keywords))
                and (
                    not self._outside_callable(node.func, info, local)
                    or (
                        not isinstance(node.func, ast.Name)  # (`print(…, file=self.out)`)
                        and not (
                            isinstance(node.func, ast.Attribute) and node.func.attr in _LOG_METHODS
                        )
                        and any(
                            self._a_sender(a, info)
                            for a in (*node.args, *(k.value for k in node.keywords))
                        )
                    )
                )
            ):
                return False
        return True

    def _a_sender(self, given: ast.expr, info: FunctionInfo) -> bool:
        """Whether an argument handed to a call beside the text is a callable that may send
        it: a driver's method (`asyncio.to_thread(self.pool.execute, command)`,
        `Thread(target=cur.execute, args=(command,))`), a project function, or what the object
        holds (`self.runner`: a method or a callable kept) — h35Q: the text reached the
        database through such a call in silence."""
        if isinstance(given, ast.Starred):
            given = given.value
        if isinstance(given, ast.Attribute):
            if given.attr in SQL_METHODS or given.attr in _LIBRARY_SQL_METHODS:
                return True
            # a method of the object, or a callable it holds (`self.runner`)
            return isinstance(given.value, ast.Name) and given.value.id in ("self", "cls")
        if isinstance(given, ast.Name):
            if given.id in SQL_METHODS:
                return True
            binding = info.module.env.get(given.id)
            return isinstance(binding, FuncRef | ClassRef | ImportedRef) and not (
                isinstance(binding, ImportedRef) and self.imported(binding) is None
            )
        return False

    def _outside_callable(self, func: ast.expr, info: FunctionInfo, local: set[str]) -> bool:
        """A built-in, a log call, or a callable reached through a module from outside the
        project (`subprocess.run`, `shlex.split`): not one that may send SQL."""
        if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS:
            return True
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name) or root.id in local:
            return False
        binding = info.module.env.get(root.id)
        if binding is None:
            return isinstance(func, ast.Name) and hasattr(builtins, root.id)
        if isinstance(binding, ImportedRef):
            binding = binding.module
        if isinstance(binding, ModuleRef):
            return binding.level == 0 and self.resolve(binding) is None
        return False

    def built_statements(self, call: Call) -> Iterator[tuple[FunctionInfo, Sink, Value]]:
        """(callee, its sink, the SQL it sends) for each statement a callee of this call builds
        from parameters the call gives constants for: `exists(curs, "workspace", id)` where
        `exists(curs, tablename, _id)` sends `f'SELECT … FROM "{tablename}" WHERE id = …'`.
        A parameter inside the text is no wrapper's (its callee builds its SQL from it: TG009
        stays there), but the statement a constant makes of it is checked at the call, as a
        function's `return` is (before, a caller's `"workspace"` read the victim's rows
        unseen). Only the callee's own sinks, and only constants: a value known at run time
        is that function's TG009, not said again at each call."""
        for callee in call.targets():
            if not callee.sinks:
                continue
            wrapped = self.wrapper(callee)
            positional = _positional(call, callee)
            for sink in callee.sinks:
                if any(
                    type(part) is Hole and part.owner is callee and part.param in wrapped
                    for alternative in sink.value
                    for part in alternative
                ):
                    continue  # a wrapper's statement: checked at the call with all it is given
                filled: dict[str, Value] = {}
                for alternative in sink.value:
                    for part in alternative:
                        if (
                            type(part) is not Hole
                            or part.owner is not callee
                            or part.param is None
                            or part.param in filled
                        ):
                            continue
                        given = _argument_for(call, callee, positional, part.param)
                        if given is not None and _constant_value(given[1]):
                            filled[part.param] = given[1]
                if filled:
                    yield callee, sink, _substituted(sink.value, callee, filled, call.call)


def _load(path: str, index: ProjectIndex) -> ModuleInfo | None:
    from tenantguard.sources.files import read_source  # its coding declaration, as Python

    text, _, _ = read_source(Path(path))
    if text is None:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return analyze_module(text, tree, index, path=path, functions=False)


def analyze_module(
    text: str,
    tree: ast.Module,
    index: ProjectIndex,
    *,
    path: str | None = None,
    display: str = "",
    functions: bool = True,
) -> ModuleInfo:
    """Runs a module's statements; its sinks, calls and strings are in the result. Without
    `functions`, only its body: the function bodies run when `index.finished` is asked."""
    if not display and path is not None:
        display = index.display(path)
    origin = Origin(text.splitlines(keepends=True), path, display)
    info = ModuleInfo(origin, tree)
    if path is not None:
        index.register(info)
    walker = _Walker(info, index)
    try:
        walker.run_body(tree)
        if functions:
            walker.run_functions()
        else:
            info.functions_pending = walker
    except RecursionError:
        info.sinks.clear()
        if path is not None:
            index.unfollowable(path)
        raise
    return info
