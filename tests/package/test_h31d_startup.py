"""Start-up of the command line: the heap set aside at the process's exit, and sqlglot's import
set aside in a run (`frozen_heap`), never in a library caller's process."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

from tenantguard._collect import frozen_heap, set_aside_import

EXIT_CHECK = """
import atexit, gc, sys
from tenantguard import cli
def last():  # registered first: runs after the command line's own handler
    print("frozen at exit:", gc.get_freeze_count() > 0, "code:", code)
atexit.register(last)
code = cli.main({argv})
"""


def run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TENANTGUARD_CACHE_DIR"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )


def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    (tmp_path / "leak.sql").write_text("SELECT * FROM patients;\n")
    return tmp_path


def test_the_process_command_line_sets_the_heap_aside_at_exit(tmp_path: Path) -> None:
    root = project(tmp_path)
    # main() reading sys.argv (the console script, python -m tenantguard): set aside at exit
    done = run(
        "import sys; sys.argv = ['tenantguard', 'check', '--no-cache', 'leak.sql']\n"
        + EXIT_CHECK.format(argv=""),
        root,
    )
    assert "frozen at exit: True code: 1" in done.stdout, done.stdout + done.stderr
    assert "TG001" in done.stdout
    # main(argv) called by a program (tests, a wrapper): its process is left as it is
    done = run(EXIT_CHECK.format(argv="['check', '--no-cache', 'leak.sql']"), root)
    assert "frozen at exit: False code: 1" in done.stdout, done.stdout + done.stderr


def test_python_m_tenantguard_reports_and_exits_as_before(tmp_path: Path) -> None:
    root = project(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "tenantguard", "check", "--no-cache", "leak.sql"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "leak.sql:1:" in done.stdout and "TG001" in done.stdout
    assert done.stderr == ""


def test_an_import_is_set_aside_only_inside_a_run() -> None:
    assert gc.get_freeze_count() == 0
    set_aside_import()  # a library's caller: their heap is theirs to freeze
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        before = gc.get_freeze_count()
        kept = [[object()] for _ in range(100)]  # as an import's objects, made during the run
        set_aside_import()
        assert gc.get_freeze_count() >= before + len(kept)
    assert gc.get_freeze_count() == 0  # the run's end unfreezes everything, as before


def test_sqlglot_imported_in_a_run_is_set_aside_and_collection_resumes() -> None:
    code = (
        "import gc\n"
        "from tenantguard._collect import frozen_heap\n"
        "import tenantguard\n"
        "with frozen_heap():\n"
        "    before = gc.get_freeze_count()\n"
        "    import sqlglot\n"
        "    print(gc.get_freeze_count() > before + 10000, gc.isenabled())\n"
        "print(gc.get_freeze_count(), gc.isenabled())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.split() == ["True", "True", "0", "True"], done.stdout + done.stderr
    # outside a run: sqlglot's import freezes nothing, and collection is on again after it
    code = "import gc, tenantguard, sqlglot\nprint(gc.get_freeze_count(), gc.isenabled())\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.split() == ["0", "True"], done.stdout + done.stderr
