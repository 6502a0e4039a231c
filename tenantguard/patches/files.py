"""Patch files: `NNNN_name.sql`, applied in numeric order.

A patch that must run outside a transaction (`CREATE INDEX CONCURRENTLY`) says so on a line of
its own — `-- tenantguard: no-transaction` — and holds exactly one statement.

Reading a directory is cheap (names, bytes, checksums): it happens at every startup. The
statements of a patch are parsed (by PostgreSQL's own parser, pglast) only when they are needed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from tenantguard._patterns import lazy_pattern
from tenantguard.engine.sqltext import LineIndex

if TYPE_CHECKING:
    from tenantguard.patches.statements import SqlStatement

__all__ = [
    "LEDGER",
    "PatchConnectionError",
    "PatchError",
    "PatchFile",
    "PatchLockError",
    "PatchUsageError",
    "is_patch_name",
    "patch_number",
    "read_patches",
    "refuse_shared_number",
    "says_no_transaction",
]

# the runner's ledger table; here, so that the patch rules read it without asyncpg
LEDGER = "tenantguard_patches"

_NAME = lazy_pattern(r"^(\d+)_([A-Za-z0-9][\w\-]*)\.sql$")
_MAX_NUMBER = 2**31 - 1  # the ledger's `number integer`
NO_TRANSACTION = lazy_pattern(
    r"^\s*--\s*tenantguard:\s*no-transaction\s*$", re.MULTILINE | re.IGNORECASE
)


def says_no_transaction(text: str) -> bool:
    """Does the patch have the no-transaction marker line? A lone CR ends a line too (for
    PostgreSQL's `--` comment as well): an old Mac editor's file kept its marker unseen."""
    return NO_TRANSACTION.search(text.replace("\r\n", "\n").replace("\r", "\n")) is not None


class PatchError(Exception):
    """A patch directory or file is wrong, or a patch failed; the message says which and why.

    `exit_code` is what the command line returns: 1 when the pipeline itself is wrong (a patch
    fails or was edited), 2 when the request cannot be carried out here (subclasses below).
    `applied` lists the patches this run applied before the error.
    """

    exit_code = 1

    def __init__(self, message: str, *, applied: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.applied = list(applied)


class PatchUsageError(PatchError):
    """What was asked cannot be done: no such directory, a malformed DSN, no pg_dump."""

    exit_code = 2


class PatchLockError(PatchError):
    """A lock never came: the patch lock (`lock_wait`) or a table's lock (`lock_timeout`)."""

    exit_code = 2


class PatchConnectionError(PatchError):
    """The connection to the server was lost while a patch ran."""

    exit_code = 2


@dataclass(frozen=True)
class PatchFile:
    number: int
    name: str  # the file name, the patch's identity in the ledger
    path: Path
    text: str
    checksum: str
    transactional: bool

    @cached_property
    def statements(self) -> list[SqlStatement]:
        """The statements, parsed; a PatchError (file:line:column) when PostgreSQL cannot."""
        from tenantguard.patches.statements import check_patch_statements, split_patch

        statements = split_patch(self.text, str(self.path))
        check_patch_statements(self, statements)
        return statements


def _position(text: str, offset: int) -> str:
    line, column = LineIndex(text).position(offset)
    return f"{line}:{column}"


def decode_patch(data: bytes, path: Path | str) -> str:
    """The text of a patch file, or a PatchError that says what is wrong with its bytes."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PatchError(
            f"{path}: UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        where = _position(data[: error.start].decode("utf-8", "replace"), error.start)
        raise PatchError(
            f"{path}:{where}: not UTF-8 text (byte 0x{data[error.start]:02x}): save the file as UTF-8"
        ) from error
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # a UTF-8 byte-order mark is not SQL; a space keeps every position
    nul = text.find("\x00")
    if nul >= 0:
        raise PatchError(
            f"{path}:{_position(text, nul)}: a NUL character: a patch is text (was it saved as "
            "UTF-16?) and PostgreSQL does not accept NUL in SQL"
        )
    return text


def is_patch_name(name: str) -> bool:
    """`NNNN_description.sql`: what `read_patches` takes for a patch's name."""
    return _NAME.match(name) is not None


def patch_number(path: Path) -> int:
    """The number of a patch file's name; a PatchError when `read_patches` refuses the name."""
    if path.suffix != ".sql":
        raise PatchError(
            f"{path}: a patch file ends in lower-case .sql: rename it to {path.stem}.sql "
            "(otherwise it would be skipped without a word)"
        )
    match = _NAME.match(path.name)
    if match is None:
        raise PatchError(f"{path}: a patch file is named NNNN_description.sql")
    number = int(match.group(1))
    if number > _MAX_NUMBER:
        raise PatchError(
            f"{path}: patch number {number} is too big: the ledger records numbers up to "
            f"{_MAX_NUMBER}; renumber the patch"
        )
    return number


def refuse_shared_number(path: Path) -> None:
    """A PatchError when another patch of the file's directory has its number (what
    `read_patches` refuses, said of this file whichever of the two it is)."""
    number = patch_number(path)
    try:
        siblings = sorted(p.name for p in path.parent.iterdir() if p.name != path.name)
    except OSError:
        return
    for name in siblings:
        match = _NAME.match(name)
        if match is not None and int(match.group(1)) == number and not name.startswith("."):
            raise PatchError(f"{path}: patch number {number} is also used by {name}")


def read_patches(directory: Path) -> list[PatchFile]:
    """Every patch of `directory` in order; duplicate numbers and bad names are errors."""
    if not directory.exists():
        raise PatchUsageError(
            f"patch directory {directory} does not exist: pass --dir DIR or set patch_dir"
        )
    if not directory.is_dir():
        raise PatchUsageError(f"{directory} is not a directory: --dir names the patch directory")
    patches: list[PatchFile] = []
    seen: dict[int, str] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() != ".sql":
            continue  # editors' lock and backup files, notes, subdirectories
        if not path.is_file():
            if _NAME.match(path.name) is None:
                continue
            what = "a symbolic link to nothing" if path.is_symlink() else "not a file"
            raise PatchError(
                f"{path}: named like a patch but {what}: it would be skipped without a word. "
                "Restore the patch file, or rename it"
            )
        number = patch_number(path)
        if number in seen:
            raise PatchError(f"{path}: patch number {number} is also used by {seen[number]}")
        seen[number] = path.name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise PatchError(f"{path}: cannot read the patch: {error.strerror or error}") from error
        text = decode_patch(data, path)
        transactional = not says_no_transaction(text)
        patches.append(
            PatchFile(
                number, path.name, path, text, hashlib.sha256(data).hexdigest(), transactional
            )
        )
    return sorted(patches, key=lambda p: p.number)
