"""The README's table of the runtime guard's log events is the code's (session 38).

A team wiring the `tenantguard` logger into its alerting needs the list of events a record can
carry (`record.tenantguard["event"]`); the README had none. Pure: reads the package's sources
for every `"event": "…"` a record is logged with, and the README's table rows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _code_events() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "tenantguard" / "runtime").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r'"event":\s*"([a-z_]+)"', text))
        # `"event": "mode" if option == "mode" else "option"`
        for a, b in re.findall(r'"event":\s*"([a-z_]+)"\s+if [^\n]+? else "([a-z_]+)"', text):
            found.update((a, b))
    return found


def _readme_events() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| event `([a-z_]+)`", text, re.MULTILINE))


def test_every_event_the_guard_logs_is_in_the_readme_and_no_other() -> None:
    code = _code_events()
    assert {"unscoped", "mode", "option", "catalog_watch_pooled"} <= code  # the scan works
    assert _readme_events() == code
