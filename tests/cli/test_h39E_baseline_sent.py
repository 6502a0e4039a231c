"""A leak a baseline records where the tree's check says it must not come back as new in a
pre-commit run of the file that sends it (h39E, attacking s39's `_written_fingerprints`).

An f-string of a base class (`f"DELETE FROM {self.table} …"` in base.py) sent by a subclass
that fills it (`table = "patients"` in items.py): the tree says it at base.py with the message
"… (in SQL from app/items.py)", and a baseline records that. A run of items.py alone says it at
items.py without that suffix: s39 stripped the suffix from the call's message only, the entry
never matched, and the recorded leak came back as new (exit 1) in every pre-commit run."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_h34H_newcomer import run
from tests.cli.test_h39E_said_nowhere import ITEMS, SENDS, _found, _repos


def test_a_recorded_f_string_leak_of_a_base_class_is_hidden_at_the_subclass(
    tmp_path: Path,
) -> None:
    root = _repos(tmp_path / "p", ITEMS + SENDS)
    written = run("check", "--no-cache", "--write-baseline", "b.json", "app", cwd=root)
    assert written.returncode == 0, written.stderr
    baseline = ("--no-cache", "--baseline", "b.json")
    assert _found(root, *baseline, "app") == (0, [])
    assert _found(root, *baseline, "app/items.py") == (0, [])
    # a new leak of the subclass is still said
    (root / "app/items.py").write_text(
        ITEMS + SENDS + "\n    async def every(self):\n"
        "        return await self.conn.fetch('SELECT * FROM patients')\n",
        encoding="utf-8",
    )
    assert _found(root, *baseline, "app/items.py") == (1, [("app/items.py", 11, "TG001")])
    # and another subclass sending the same f-string with its own table is not hidden by it
    (root / "app/items.py").write_text(
        ITEMS.replace('"patients"', '"patients AS p"') + SENDS, encoding="utf-8"
    )
    assert _found(root, *baseline, "app/items.py")[0] == 1
