"""Outside review h31h of the Python reader's changes in h31c (loops over constants read pass by
pass, a function's local list changed only by that function).

1. A function's local list was taken as changed only by a mutator called on its name, an
   `alias = X`, or a function called by its name: `holder = {"a": allowed}` then
   `holder["a"].append("guild_id")`, `grow = allowed.append`, `for l in [allowed]:
   l.append(…)`, `more = allowed or []`, `self.widen(allowed)` (a project method) all changed
   it unseen, and `if key in allowed:` narrowed the caller's keys to names the list no longer
   held: an UPDATE that sets `guild_id` (the row moves to another tenant) passed silently
   (TG009 before h31c). Any use of the name that is not a known read now counts as a change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .project_files import findings_of_check, write_guild_project

_found = findings_of_check
_project = write_guild_project


# 1. a local list handed on, then changed

ALLOWED_UPDATE = (
    "class Repo:\n"
    "    def widen(self, cols):\n"
    '        cols.append("guild_id")\n'
    "\n"
    "    async def update(self, db, guild_id, tag_id, fields):\n"
    '        allowed = ["name", "uses"]\n'
    "        HANDED\n"
    "        sets = []\n"
    "        params = [guild_id, tag_id]\n"
    "        for key, val in fields.items():\n"  # 10
    "            if key in allowed:\n"
    "                params.append(val)\n"
    '                sets.append(f"{key} = ${len(params)}")\n'
    "        await db.execute(\n"
    "            f\"UPDATE tags SET {', '.join(sets)} WHERE guild_id = $1 AND id = $2\", *params\n"
    "        )\n"
)


@pytest.mark.parametrize(
    "handed",
    [
        'holder = {"a": allowed}; holder["a"].append("guild_id")',
        'grow = allowed.append; grow("guild_id")',
        'for cols in [allowed]: cols.append("guild_id")',
        'more = allowed or []; more.append("guild_id")',
        "self.widen(allowed)",
    ],
)
def test_a_local_list_handed_on_and_changed_is_not_read_as_built(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    handed: str,
) -> None:
    _project(tmp_path, {"bot/tags.py": ALLOWED_UPDATE.replace("HANDED", handed)})
    # the SET may hold `guild_id = $3`: unproven (TG009), not a silent pass
    assert _found(tmp_path, capsys, monkeypatch) == [("bot/tags.py", 10, "TG009")]


@pytest.mark.parametrize(
    "read",
    [
        "pass",
        "assert len(allowed) == 2 and allowed[0] and sorted(allowed)",
        'print(", ".join(allowed), f"{allowed}", allowed + ["x"], allowed.copy())',
    ],
)
def test_a_local_list_only_read_still_narrows(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    read: str,
) -> None:
    _project(tmp_path, {"bot/tags.py": ALLOWED_UPDATE.replace("HANDED", read)})
    assert _found(tmp_path, capsys, monkeypatch) == []
