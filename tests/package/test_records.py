"""tenantguard._records: the frozen records behave as the frozen dataclasses they replace."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from pathlib import Path

import pytest

from tenantguard._records import frozen_record
from tenantguard.cache import PolicyFacts
from tenantguard.engine.findings import Rule, RuleInfo, Severity
from tenantguard.engine.policy import ForeignKey, FunctionPins
from tenantguard.engine.sqltext import Comment, Statement
from tenantguard.engine.verdicts import Verdict
from tenantguard.selection import EnabledRules, RuleSelection
from tenantguard.sources.walk import FileReport, SourceFile

# each record, built twice alike, and its fields with their values
RECORDS = [
    lambda: Statement("SELECT 1", 0, 1, 1),
    lambda: Comment("-- x", 3, 1, 4),
    lambda: Verdict((), (), True),
    lambda: SourceFile(Path("a.sql"), "a.sql", False, size=3, relative="a.sql"),
    lambda: FileReport("a.sql", (), 2, notes=("n",), tenant_statements=1),
    lambda: PolicyFacts(3, ("w",), names=("t",)),
    lambda: ForeignKey(("a",), "t", ("id",)),
    lambda: FunctionPins(frozenset({0}), frozenset({"t"})),
    lambda: RuleInfo("TG001", "unpinned", Severity.ERROR),
    lambda: Rule(RuleInfo("TG001", "unpinned", Severity.ERROR), "doc", None),
    lambda: RuleSelection(("TG001",), (), {"a/**": ("TG002",)}),
    lambda: EnabledRules(frozenset({"TG001"}), (("TG001", "unpinned"),), RuleSelection()),
]


def twin(record: object) -> object:
    """The frozen dataclass the record's class was, holding the same values."""
    cls = type(record)
    names = cls.__match_args__  # type: ignore[attr-defined]
    made = dataclasses.make_dataclass(cls.__name__, names, frozen=True)
    made.__qualname__ = cls.__qualname__
    return made(*(getattr(record, n) for n in names))


@pytest.mark.parametrize("build", RECORDS)
def test_a_record_is_its_dataclass(build: object) -> None:
    record, again = build(), build()  # type: ignore[operator]
    names = type(record).__match_args__
    dataclass = twin(record)
    assert repr(record) == repr(dataclass)
    assert record == again
    assert (record != again) is False
    assert record != dataclass  # another class: not equal, as between two dataclasses
    hashable = type(record) is not RuleSelection and type(record) is not EnabledRules
    if hashable:
        assert hash(record) == hash(dataclass) == hash(again)
    else:  # a dict among its fields: unhashable, as the dataclass was
        with pytest.raises(TypeError):
            hash(record)
    for name in (*names, "other"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(record, name, 1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(record, name)
    if type(record) is not Rule:  # (its check would be a module's function: None here)
        assert pickle.loads(pickle.dumps(record)) == record
    assert copy.deepcopy(record) == record
    for name in names:  # a changed field: not equal
        values = {n: getattr(record, n) for n in names}
        values[name] = object()
        assert type(record)(**values) != record


def test_defaults_are_the_dataclasses() -> None:
    assert Statement("x", 0, 1, 1).error is None
    assert Verdict((), (), False).parsed is True
    source = SourceFile(Path("a"), "a", True)
    assert (source.is_patch, source.size, source.relative, source.text) == (False, 0, None, None)
    report = FileReport("a", (), 0)
    assert (report.notes, report.consulted, report.schema) == ((), None, False)
    assert report.tenant_statements is None
    assert PolicyFacts(1) == PolicyFacts(1, (), (), None)
    first, second = RuleSelection(), RuleSelection()
    assert first.select == ("ALL",) and first.ignore == () and first.per_file_ignores == {}
    assert first.per_file_ignores is not second.per_file_ignores  # a new dict each, as before
    rule = Rule(RuleInfo("TG001", "x", Severity.ERROR), None, None)
    assert rule.needs == frozenset() and rule.module == ""


def test_a_record_needs_two_fields_and_plain_bases() -> None:
    class One:
        __match_args__ = ("a",)

    with pytest.raises(TypeError):
        frozen_record(One)

    class Guarded:
        def __setattr__(self, name: str, value: object) -> None:
            object.__setattr__(self, name, value)

    class Below(Guarded):
        __match_args__ = ("a", "b")

    with pytest.raises(TypeError):
        frozen_record(Below)
