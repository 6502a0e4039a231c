"""TG109 refused-by-apply

## What it does
Reports what `tenantguard patches apply` refuses in a patch before any patch of the run
executes, when no other patch rule (TG006, TG107, TG108) reports it: a file name apply refuses
(in a directory that holds patches: a schema path's `schema.sql` is no patch)
(`NNNN_x.SQL`, not `NNNN_description.sql`, a number above 2147483647 or another patch's
number), an empty or blank file, a
`COPY … FROM STDIN`, a `DETACH PARTITION … CONCURRENTLY` in a transactional patch, and an
`EXCEPTION WHEN OTHERS` (or `lock_not_available`, `deadlock_detected`, …) that does not raise
again, in a DO block or in a PL/pgSQL function the patch creates and calls. It runs the
runner's own checks, so that the two agree.

## Why is this bad?
The patch passes review and CI, then stops every deployment at startup. A handler that
swallows every error catches the runner's `lock_timeout` while the application holds the
table: the patch would be recorded as applied without its change.

## Example
```sql
DO $$
BEGIN
    ALTER TABLE patients ADD COLUMN notes text;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'already there';
END $$;
```

## Use instead
```sql
DO $$
BEGIN
    ALTER TABLE patients ADD COLUMN notes text;
EXCEPTION WHEN duplicate_column THEN
    RAISE NOTICE 'already there';
END $$;
```

## Options
None.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from tenantguard.engine.context import RuleInfo
from tenantguard.engine.findings import Finding, Severity
from tenantguard.patches.rules import PatchContext

RULE = RuleInfo("TG109", "refused-by-apply", Severity.ERROR)


def _in_patch_directory(path: Path) -> bool:
    """Whether apply would read the file's name: its directory holds a file named as a patch
    (`NNNN_description.sql`). A schema path's scripts (`db/init/schema.sql`, `01-seed.sql`)
    are linted as patches but never applied: their names are no patch names (round 32,
    helper h32l: every one of them was TG109 'a patch file is named NNNN_description.sql')."""
    from tenantguard.patches.files import is_patch_name

    try:
        return is_patch_name(path.name) or any(is_patch_name(p.name) for p in path.parent.iterdir())
    except OSError:
        return True


def check(ctx: PatchContext) -> Iterator[Finding]:
    from tenantguard.patches.files import PatchError, PatchFile, refuse_shared_number
    from tenantguard.patches.statements import (
        check_patch_statements,
        refuse_swallowed_retries,
        split_patch,
    )

    source = ctx.source
    patch = PatchFile(
        0, Path(source.path).name, Path(source.path), source.text, "", source.transactional
    )
    try:
        if _in_patch_directory(Path(source.path)):
            refuse_shared_number(Path(source.path))
        statements = split_patch(source.text, source.path)
        check_patch_statements(patch, statements)
        refuse_swallowed_retries(patch, statements)
    except PatchError as refused:
        said = str(refused)
        line, column = 1, 1
        where = re.match(rf"{re.escape(source.path)}:(\d+):(\d+): ", said)
        if where is not None:
            line, column = int(where.group(1)), int(where.group(2))
        message = said[where.end() if where else len(source.path) + 2 :]
        yield ctx.finding(
            RULE,
            line,
            column,
            f"`patches apply` refuses this patch: {message}",
            "fix the patch as the message says: apply refuses it before any patch of the run "
            "executes",
        )
