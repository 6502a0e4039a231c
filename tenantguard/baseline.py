"""Baselines for adopting tenantguard on an existing codebase.

`--write-baseline FILE` records today's findings; `--baseline FILE` then reports only findings
that are not in it. A finding is keyed by a fingerprint of what it is about — the file, the
rule, the message and the statement's text with whitespace folded — not by its line, so edits
elsewhere in the file do not invalidate the baseline. Identical findings are counted: a second
copy of a baselined leak is new.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from tenantguard.engine.findings import Finding
from tenantguard.errors import ConfigError

__all__ = [
    "Known",
    "fingerprint",
    "keyed_path",
    "read_baseline",
    "stale_entries",
    "subtract_baseline",
    "without_baseline",
    "write_baseline",
]

VERSION = 1


def _key_path(path: str, base: Path | None) -> str:
    """The finding's path as keyed: from `base` (the baseline file's directory) when given, so
    that a run from another working directory keys it alike."""
    if base is None:
        return Path(path).as_posix()
    return Path(os.path.relpath(os.path.abspath(path), base)).as_posix()


class Known(Counter[str]):
    """The fingerprints a baseline records, each as often as it records it, and the entry each
    was written as (`path`, `rule`, `message`: what a stale entry is said by, and written back
    as it was when its file was not checked)."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, dict[str, object]] = {}


def fingerprint(finding: Finding, base: Path | None = None) -> str:
    statement = " ".join(finding.statement.split())
    where = _key_path(finding.path, base)
    key = "\0".join((where, finding.code, finding.message, statement))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def write_baseline(
    path: Path, findings: Iterable[Finding], kept: Iterable[dict[str, object]] = ()
) -> int:
    """Writes `findings` (and `kept`: entries of another baseline written back as they were)."""
    base = path.resolve().parent
    written: list[dict[str, object]] = [
        {
            "fingerprint": fingerprint(f, base),
            "path": _key_path(f.path, base),
            "rule": f.code,
            "message": f.message,
        }
        for f in findings
    ]
    entries = sorted(
        [*written, *kept],
        key=lambda e: (str(e.get("path", "")), str(e.get("rule", "")), str(e["fingerprint"])),
    )
    try:
        path.write_text(
            json.dumps({"version": VERSION, "findings": entries}, indent=2) + "\n",
            encoding="utf-8",
        )
    except OSError as error:  # the user's path (a missing folder, a directory), not a bug
        raise ConfigError(
            f"cannot write baseline {path}: {error.strerror}; give a file in an existing, "
            "writable directory"
        ) from error
    return len(entries)


def read_baseline(path: Path) -> Known:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as error:  # CI's first run, before anyone wrote one (h37H)
        raise ConfigError(
            f"cannot read baseline {path}: {error.strerror}; write it first, from a checkout "
            f"whose findings you accept: `tenantguard check --write-baseline {path}`, and "
            "commit it"
        ) from error
    except OSError as error:
        raise ConfigError(f"cannot read baseline {path}: {error.strerror}") from error
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"baseline {path} is not valid JSON: {error}") from error
    if (
        not isinstance(data, dict)
        or data.get("version") != VERSION
        or not isinstance(data.get("findings"), list)
    ):
        raise ConfigError(
            f"baseline {path} is not a tenantguard baseline (version {VERSION}); "
            "rewrite it with --write-baseline"
        )
    known = Known()
    for number, entry in enumerate(data["findings"], 1):
        key = entry.get("fingerprint") if isinstance(entry, dict) else None
        if not isinstance(key, str) or not key:  # hides nothing: a broken file, not a pass
            raise ConfigError(
                f"baseline {path}: entry {number} of findings is {json.dumps(entry)[:80]}, not "
                'an object with a "fingerprint": fix or remove it, or rewrite the baseline '
                "with --write-baseline"
            )
        known[key] += 1
        known.entries[key] = entry
    return known


def subtract_baseline(findings: Sequence[Finding], known: Counter[str]) -> list[Finding]:
    return list(without_baseline(findings, known))


def without_baseline(
    findings: Iterable[Finding],
    known: Counter[str],
    base: Path | None = None,
    *,
    remaining: Counter[str] | None = None,
    matched: list[Finding] | None = None,
    roots: Iterable[str] = (),
) -> Iterator[Finding]:
    """The findings the baseline does not record, in order: each recorded one hides one.
    `base`: the baseline file's directory, which its paths are relative to. `remaining`, when
    given (a copy of `known`), is left holding the entries no finding matched; `matched`
    receives the findings the baseline hid. A finding said at a call for SQL written in a
    file the run does not check (`Finding.read_from`, relative to one of the projects'
    `roots`) is hidden too by the entry of the finding said where it is written: a baseline
    written by a check of the tree records it there, and a pre-commit run of the sender alone
    says it at the call (s39) — a recorded leak, not a new one."""
    if remaining is None:
        remaining = Counter(known)
    roots = tuple(roots)
    for finding in findings:
        key = fingerprint(finding, base)
        if remaining[key] > 0:
            remaining[key] -= 1
            if matched is not None:
                matched.append(finding)
        elif any(known[k] > 0 for k in _written_fingerprints(finding, roots, base)):
            # (the entry is not used up: each call sending the text says it; not this run's to
            # call stale, nor to write again — the file it names is not checked)
            continue
        else:
            yield finding


def _written_fingerprints(finding: Finding, roots: tuple[str, ...], base: Path | None) -> list[str]:
    """The fingerprints of `finding` as the check of the file its SQL is written in says it
    (`read_from`: that file, relative to a project's root, and the line)."""
    if not finding.read_from:
        return []
    written = finding.read_from.rpartition(":")[0]
    # (the call's message names the other module: "… (in SQL from app/queries.py)")
    message = re.sub(r" \(in SQL from [^()]*\)$", "", finding.message)
    # the written file's message names this one when text of this file fills it there (an
    # f-string of a base class, `table = "patients"` here: "… (in SQL from app/items.py)")
    senders = {finding.path.replace(os.sep, "/")}
    senders.update(
        os.path.relpath(os.path.abspath(finding.path), root).replace(os.sep, "/") for root in roots
    )
    messages = [message, *(f"{message} (in SQL from {sender})" for sender in sorted(senders))]
    return [
        fingerprint(
            dataclasses.replace(finding, path=str(Path(root) / written), message=said), base
        )
        for root in roots
        for said in messages
    ]


def keyed_path(path: str, base: Path) -> str:
    """A file's path as a baseline in `base` keys it."""
    return _key_path(path, base)


def stale_entries(
    known: Known, remaining: Counter[str], judged: Callable[[str, str], bool]
) -> list[dict[str, object]]:
    """The entries no finding matched (once each time unmatched) that the run judged —
    `judged(path, rule)`: the file was checked and the rule ran on it. An entry of a file not
    checked (pre-commit names a few) or of a rule not run (`--select`) may still hold."""
    return [
        entry
        for key, count in sorted(remaining.items())
        if count > 0
        and judged(str((entry := known.entries[key]).get("path")), str(entry.get("rule")))
        for _ in range(count)
    ]
