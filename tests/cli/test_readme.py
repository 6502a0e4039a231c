"""README's shown output is the real one: the newcomer's commands, run as written there."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tenantguard.cli import main

REPO = Path(__file__).resolve().parent.parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def console_blocks() -> list[tuple[str, str]]:
    """(command, output) of each ```console block of one command, continuation lines joined."""
    blocks = []
    for body in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        lines = body.splitlines()
        command = lines[0].removeprefix("$ ")
        rest = lines[1:]
        while command.endswith("\\") and rest:
            command = command[:-1] + rest.pop(0).strip()
        if not any(line.startswith("$ ") for line in rest):
            blocks.append((command, "\n".join(rest)))
    return blocks


def tenantguard_argv(command: str) -> list[str]:
    argv = shlex.split(command.split(" && ")[-1])
    assert argv[0].endswith("tenantguard"), command
    return argv[1:]


EXPLAIN = [(c, o) for c, o in console_blocks() if " explain " in c and "tenantguard" in c]


@pytest.mark.parametrize(("command", "shown"), EXPLAIN)
def test_explain_shows_what_readme_shows(
    command: str, shown: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    main(tenantguard_argv(command))
    assert capsys.readouterr().out.rstrip("\n") == shown


def test_readme_has_an_explain_example() -> None:
    assert EXPLAIN


def test_quickstart_check_shows_real_findings(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its findings, `...` standing for those left out, appear as shown, and so does the
    summary line."""
    command, shown = next((c, o) for c, o in console_blocks() if "check examples/" in c)
    monkeypatch.chdir(REPO)
    assert main([*tenantguard_argv(command), "--no-cache"]) == 1
    out = capsys.readouterr().out
    parts = [part for part in shown.split("\n\n") if part.strip() != "..."]
    for part in parts:
        assert part in out
    assert out.rstrip("\n").splitlines()[-1] == shown.splitlines()[-1]
