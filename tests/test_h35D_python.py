"""Session 35 (helper D), issue 12 items 2 and 5: the resolution gaps left in the Python reader.

Each class: a small project, `tenantguard check` on it, the findings a user expects.

- A list-display (or parenthesised, or trailing-comma) target, `[p] = [PARTS]`, `(p,) =
  (PARTS,)`, `p, = [PARTS]`, binds `p` to the module's own list: `p += [' OR TRUE']` then
  changes what `"".join(PARTS)` sends (h34N left it a silent pass).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .project_files import findings_of_check, write_guild_project

PARTS = 'PARTS = ["SELECT name FROM tags WHERE guild_id = $1"]\n'
JOINED = (
    "from bot.q import PARTS\n"
    "\n"
    "\n"
    "async def joined(conn, guild_id):\n"
    '    return await conn.fetch("".join(PARTS), guild_id)\n'  # 5
)
ADMIN = "from bot.q import PARTS\n\n\ndef admin():\n    {target} = {value}\n    p += [' OR TRUE']\n"
UNPACKED = {
    "list_display": ("[p]", "[PARTS]"),
    "parenthesised_tuple": ("(p,)", "(PARTS,)"),
    "trailing_comma": ("p,", "[PARTS]"),
    "two_targets": ("[x, p]", "[1, PARTS]"),
    "nested": ("[[p]]", "[[PARTS]]"),
    "starred_rest": ("[p, *rest]", "[PARTS, 1, 2]"),
}


@pytest.mark.parametrize("shape", sorted(UNPACKED))
def test_a_module_list_unpacked_into_a_name_and_extended_is_changed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
) -> None:
    target, value = UNPACKED[shape]
    admin = ADMIN.format(target=target, value=value)
    write_guild_project(tmp_path, {"bot/q.py": PARTS, "bot/tags.py": JOINED, "bot/admin.py": admin})
    assert ("bot/tags.py", 5, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


@pytest.mark.parametrize(("target", "value"), [("[p]", "[list(PARTS)]"), ("[p]", "[PARTS[:]]")])
def test_a_copy_unpacked_into_a_name_and_extended_leaves_the_module_list(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    value: str,
) -> None:
    admin = ADMIN.format(target=target, value=value)
    write_guild_project(tmp_path, {"bot/q.py": PARTS, "bot/tags.py": JOINED, "bot/admin.py": admin})
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []
