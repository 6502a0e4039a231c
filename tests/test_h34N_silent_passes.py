"""Session 34 (helper N), issue 12: silent passes opened by this round's Python-reader changes.

Each resolution that accepts a constant is a place where the SQL that reaches the driver may
differ from the SQL checked. Each case: a small project, `tenantguard check` on it, and the
finding at the sink where another value can reach it.

- `x += …` in a function is that function's own `x` (325ba11, 808a1a3), unless the function
  binds `x` to the module's object itself: `from q import PARTS` (or `… as p`) in its body, or a
  `match PARTS: case p:` capture (the latter also for `p.append(…)`, before this round).
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
# a function that binds the module's list itself, then extends or changes it
CHANGERS = {
    "import_in_the_function": (
        "def admin():\n    from bot.q import PARTS\n\n    PARTS += [' OR TRUE']\n"
    ),
    "import_as_in_the_function": (
        "def admin():\n    from bot.q import PARTS as p\n\n    p += [' OR TRUE']\n"
    ),
    "import_parenthesised": (
        "def admin():\n    from bot.q import (\n        PARTS,\n    )\n\n    PARTS += [' OR TRUE']\n"
    ),
    "match_capture_extended": (
        "from bot.q import PARTS\n\n\ndef admin():\n    match PARTS:\n        case p:\n"
        "            p += [' OR TRUE']\n"
    ),
    "match_capture_appended": (
        "from bot.q import PARTS\n\n\ndef admin():\n    match PARTS:\n        case [*_] as p:\n"
        "            p.append(' OR TRUE')\n"
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGERS))
def test_a_list_bound_to_the_module_object_in_a_function_and_extended_is_changed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    files = {"bot/q.py": PARTS, "bot/admin.py": CHANGERS[change], "bot/tags.py": JOINED}
    write_guild_project(tmp_path, files)
    assert ("bot/tags.py", 5, "TG009") in findings_of_check(tmp_path, capsys, monkeypatch)


# the safe twins: a local of the same name, a match on another value
UNCHANGED = {
    "local_of_the_same_name": (
        "def admin(n):\n    PARTS = ['SELECT 1']\n    PARTS += [' LIMIT 1']\n    return PARTS\n"
    ),
    "import_of_another_name": (
        "def admin():\n    from bot.q import other\n\n    PARTS = []\n    PARTS += ['x']\n"
    ),
    "match_on_another_value": (
        "def admin(row):\n    match row:\n        case p:\n            p += [' x']\n"
    ),
}


@pytest.mark.parametrize("change", sorted(UNCHANGED))
def test_a_local_list_extended_is_no_change_of_the_module_list(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    files = {
        "bot/q.py": PARTS + "other = 1\n",
        "bot/admin.py": UNCHANGED[change],
        "bot/tags.py": JOINED,
    }
    write_guild_project(tmp_path, files)
    assert findings_of_check(tmp_path, capsys, monkeypatch) == []
