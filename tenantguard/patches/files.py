"""Patch files: `NNNN_name.sql`, applied in numeric order.

A patch that must run outside a transaction (`CREATE INDEX CONCURRENTLY`) says so on a line of
its own — `-- tenantguard: no-transaction` — and holds exactly one statement.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from tenantguard.engine.sqltext import Statement, split_sql

__all__ = ["LEDGER", "PatchError", "PatchFile", "read_patches"]

# the runner's ledger table; here, so that the patch rules read it without asyncpg
LEDGER = "tenantguard_patches"

_NAME = re.compile(r"^(\d+)_([A-Za-z0-9][\w\-]*)\.sql$")
_NO_TRANSACTION = re.compile(
    r"^\s*--\s*tenantguard:\s*no-transaction\s*$", re.MULTILINE | re.IGNORECASE
)


class PatchError(Exception):
    """A patch directory or file is wrong, or a patch failed; the message says which and why."""


@dataclass(frozen=True)
class PatchFile:
    number: int
    name: str  # the file name, the patch's identity in the ledger
    path: Path
    text: str
    checksum: str
    transactional: bool

    @property
    def statements(self) -> list[Statement]:
        return split_sql(self.text)[0]


def read_patches(directory: Path) -> list[PatchFile]:
    """Every patch of `directory` in order; duplicate numbers and bad names are errors."""
    if not directory.is_dir():
        raise PatchError(f"patch directory {directory} does not exist")
    patches: list[PatchFile] = []
    seen: dict[int, str] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql" or not path.is_file():
            continue
        match = _NAME.match(path.name)
        if match is None:
            raise PatchError(f"{path}: a patch file is named NNNN_description.sql")
        number = int(match.group(1))
        if number in seen:
            raise PatchError(f"{path}: patch number {number} is also used by {seen[number]}")
        seen[number] = path.name
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PatchError(f"{path}: not UTF-8 text ({error})") from error
        transactional = _NO_TRANSACTION.search(text) is None
        patch = PatchFile(
            number, path.name, path, text, hashlib.sha256(data).hexdigest(), transactional
        )
        errors = [s for s in patch.statements if s.error]
        if errors:
            raise PatchError(f"{path}:{errors[0].line}: {errors[0].error}")
        if not transactional and len(patch.statements) != 1:
            raise PatchError(
                f"{path}: a no-transaction patch holds exactly one statement "
                f"(found {len(patch.statements)})"
            )
        patches.append(patch)
    return sorted(patches, key=lambda p: p.number)
