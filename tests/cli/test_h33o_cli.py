"""A hostile user's command line, cache and configuration after h33g's changes (h33o): the real
`tenantguard` command in a subprocess in a temporary tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

TENANTGUARD = shutil.which("tenantguard", path=os.path.dirname(sys.executable))


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    assert TENANTGUARD is not None
    result = subprocess.run(
        [TENANTGUARD, *args],
        cwd=cwd,
        capture_output=True,
        timeout=120,
        # the project's own cache (conftest moves it out of the tree for other tests)
        env=env or {k: v for k, v in os.environ.items() if k != "TENANTGUARD_CACHE_DIR"},
        input=input,
    )
    out = result.stdout.decode("utf-8", "replace")
    err = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err
    return subprocess.CompletedProcess(result.args, result.returncode, out, err)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def configured(root: Path, extra: str = "") -> Path:
    write(root / "db/s.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    write(root / "app/q.sql", "SELECT * FROM notes;\n")
    write(root / "pyproject.toml", f'[tool.tenantguard]\nschema_paths = ["db"]\n{extra}')
    return root


def test_tenantguard_cache_dir_moves_every_cache_file(tmp_path: Path) -> None:
    """TENANTGUARD_CACHE_DIR moved the check cache's key files and verdict store, but the
    schema and policy caches (`schema-*.json`, `policy-*.json`) were still written into the
    project's `.tenantguard_cache/`: a read-only checkout, or a CI cache keyed on the variable,
    got a directory in the project anyway. One rule for every cache file."""
    root = configured(tmp_path / "p")
    shared = tmp_path / "shared"
    env = {**os.environ, "TENANTGUARD_CACHE_DIR": str(shared)}
    result = run("check", "app", cwd=root, env=env)
    assert result.returncode == 1, result.stderr
    assert not (root / ".tenantguard_cache").exists()
    names = sorted(p.name for p in shared.iterdir())
    assert any(n.startswith("schema-") for n in names), names
    assert any(n.startswith("policy-") for n in names), names
    again = run("check", "app", cwd=root, env=env)
    assert again.returncode == 1 and again.stdout == result.stdout
    assert not (root / ".tenantguard_cache").exists()


def _sarif_schema() -> dict[str, object]:
    here = Path(__file__).parent.parent / "fixtures" / "sarif-schema-2.1.0.json"
    schema: dict[str, object] = json.loads(here.read_text(encoding="utf-8"))
    return schema


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
@pytest.mark.parametrize(
    "args",
    [
        ["--bogus", "app"],
        ["--jobs", "x", "app"],
        ["--select"],
    ],
    ids=["unknown-flag", "bad-jobs", "missing-value"],
)
def test_a_usage_error_prints_an_error_document(tmp_path: Path, fmt: str, args: list[str]) -> None:
    """`tenantguard check --format sarif --new-flag .` (a workflow written for a newer
    tenantguard, a typo): argparse's usage error, exit 2, with an empty standard output, which
    the SARIF upload step reads as an invalid file (every other early stop prints a document
    naming why). A document naming the usage error, valid SARIF 2.1.0; exit code unchanged."""
    root = configured(tmp_path / "p")
    for form in (["--format", fmt], [f"--format={fmt}"], ["--output-format", fmt]):
        result = run("check", *form, *args, cwd=root)
        assert result.returncode == 2, (form, result.stdout)
        assert "usage:" in result.stderr
        said = result.stderr.strip().splitlines()[-1].split(": error: ", 1)[1]
        if fmt == "json":
            document = json.loads(result.stdout)
            assert document["error"]["kind"] == "usage"
            assert said in document["error"]["message"]
        elif fmt == "sarif":
            document = json.loads(result.stdout)
            jsonschema.validate(document, _sarif_schema())
            invocation = document["runs"][0]["invocations"][0]
            assert invocation["executionSuccessful"] is False
            assert said in invocation["toolExecutionNotifications"][0]["message"]["text"]
        else:
            assert result.stdout.startswith("::error "), result.stdout
            assert said in result.stdout


def test_help_and_a_text_usage_error_print_no_document(tmp_path: Path) -> None:
    """The twin: `--help` (exit 0) prints its help, and a usage error without a machine format
    prints nothing on standard output."""
    root = configured(tmp_path / "p")
    shown = run("check", "--format", "sarif", "--help", cwd=root)
    assert shown.returncode == 0 and shown.stdout.startswith("usage:")
    plain = run("check", "--bogus", "app", cwd=root)
    assert plain.returncode == 2 and plain.stdout == ""


def test_stale_schema_and_policy_cache_files_are_pruned(tmp_path: Path) -> None:
    """Every schema edit keys a new `schema-<hex>.json` and `policy-<hex>.json` (and a killed
    run leaves its `.<name>.<pid>.tmp`); since the pruning was narrowed to `<20 hex>.json` (so
    as not to delete other tools' files) these were never dropped: the cache directory grew
    by two files per schema change, forever. Its own files unused for 30 days are dropped;
    files of other names (another tool's `policy-notes.json`) are kept."""
    root = configured(tmp_path / "p")
    cache = root / ".tenantguard_cache"
    assert run("check", "app", cwd=root).returncode == 1
    old = sorted(p.name for p in cache.glob("*-*.json"))
    assert any(n.startswith("schema-") for n in old) and any(n.startswith("policy-") for n in old)
    (cache / f".{old[0]}.4242.tmp").write_text("{", encoding="utf-8")
    foreign = [cache / "policy-notes.json", cache / "schema-0123.json"]
    for path in foreign:
        path.write_text("{}\n", encoding="utf-8")
    for path in cache.iterdir():
        os.utime(path, (1_000_000_000, 1_000_000_000))
    write(root / "db/s.sql", "CREATE TABLE notes (id int, tenant_id int, body text);\n")
    assert run("check", "app", cwd=root).returncode == 1
    left = {p.name for p in cache.iterdir()}
    assert not set(old) & left, left
    assert f".{old[0]}.4242.tmp" not in left
    assert {p.name for p in foreign} <= left
    assert any(n.startswith("schema-") for n in left - set(old))


def test_a_monorepo_root_file_no_service_covers_is_named(tmp_path: Path) -> None:
    """A monorepo root with no configuration, its services configured below, and a root
    tooling file with no SQL (noxfile.py): exit 2 "no tenant tables … [no configuration file
    found from <root> upward] … `tenantguard init` proposes them", which names neither the file
    that needed a configuration nor the services that have theirs (the user sees a configured
    monorepo fail). Still exit 2 (fails closed: the file is unchecked), and the message names
    the file, the services' configurations and the ways out."""
    root = tmp_path / "mono"
    write(root / "svc_a/db/s.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    write(root / "svc_a/tenantguard.toml", 'schema_paths = ["db"]\n')
    write(root / "svc_a/app/q.sql", "SELECT * FROM notes;\n")
    write(root / "noxfile.py", "import nox\n")
    for fmt in ("text", "json"):
        result = run("check", "--no-cache", "--format", fmt, cwd=root)
        assert result.returncode == 2, result.stdout
        assert "noxfile.py" in result.stderr, result.stderr
        assert os.path.join("svc_a", "tenantguard.toml") in result.stderr
        assert "exclude" in result.stderr
        if fmt == "json":
            assert "noxfile.py" in json.loads(result.stdout)["error"]["message"]
    write(root / "pyproject.toml", '[tool.tenantguard]\nexclude = ["noxfile.py"]\n')
    assert run("check", "--no-cache", cwd=root).returncode == 1  # the way out it names works


def test_a_flagged_tenant_table_one_service_lacks_names_the_service(tmp_path: Path) -> None:
    """`tenantguard check --tenant-tables items` at a monorepo root: the flag is given to every
    service, and the warning for the one whose schema does not create `items` said only
    "(--tenant-tables) is not created by any schema source (db)", while every service has a
    db/: which one? It names the service's configuration."""
    root = tmp_path / "mono"
    write(root / "svc_a/db/s.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    write(root / "svc_a/tenantguard.toml", 'schema_paths = ["db"]\n')
    write(root / "svc_a/app/q.sql", "SELECT * FROM notes;\n")
    write(root / "svc_b/db/s.sql", "CREATE TABLE items (id int, tenant_id int);\n")
    write(root / "svc_b/tenantguard.toml", 'schema_paths = ["db"]\n')
    write(root / "svc_b/app/q.sql", "SELECT * FROM items;\n")
    result = run("check", "--no-cache", "--tenant-tables", "items", cwd=root)
    assert result.returncode == 1, result.stderr
    warning = [line for line in result.stderr.splitlines() if "'items'" in line]
    assert len(warning) == 1, result.stderr
    assert "(--tenant-tables" in warning[0]
    assert str(root / "svc_a" / "tenantguard.toml") in warning[0], warning[0]


def test_a_cache_dir_under_the_home_directory_is_expanded(tmp_path: Path) -> None:
    """`cache_dir = "~/.cache/tenantguard"` (as ruff's cache-dir takes it) made a directory
    named `~` in the project, which the user then removes with `rm -rf ~`: their home. `~` is
    the home directory, as in ruff; so it is in TENANTGUARD_CACHE_DIR."""
    home = tmp_path / "home"
    home.mkdir()
    root = configured(tmp_path / "p", 'cache_dir = "~/.cache/tenantguard"\n')
    env = {k: v for k, v in os.environ.items() if k != "TENANTGUARD_CACHE_DIR"}
    result = run("check", "app", cwd=root, env={**env, "HOME": str(home)})
    assert result.returncode == 1, result.stderr
    assert not (root / "~").exists()
    assert any((home / ".cache/tenantguard").glob("policy-*.json"))
    (root / "pyproject.toml").write_text('[tool.tenantguard]\nschema_paths = ["db"]\n')
    moved = {**env, "HOME": str(home), "TENANTGUARD_CACHE_DIR": "~/elsewhere"}
    assert run("check", "app", cwd=root, env=moved).returncode == 1
    assert not (root / "~").exists()
    assert any((home / "elsewhere").glob("schema-*.json"))


def test_init_below_a_configuration_does_not_also_say_to_write_one_by_hand(
    tmp_path: Path,
) -> None:
    """`cd svc_a/app && tenantguard init`: the refusal said to edit the service's configuration
    and, in the same sentence, "set tenant_column and tenant_tables in [tool.tenantguard] by
    hand" (here, which it had just said would replace the service's). And a proposal from one
    table said "(1 tables)"."""
    root = configured(tmp_path / "p")
    result = run("init", "--dry-run", cwd=root / "app")
    assert result.returncode == 2
    assert str(root / "pyproject.toml") in result.stderr
    assert "by hand" not in result.stderr, result.stderr
    fresh = tmp_path / "fresh"
    write(fresh / "db/s.sql", "CREATE TABLE notes (id int, tenant_id int);\n")
    proposed = run("init", "--dry-run", cwd=fresh)
    assert proposed.returncode == 0, proposed.stderr
    assert "(1 table)" in proposed.stdout, proposed.stdout


def test_a_baseline_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    """A baseline re-saved by an editor (or Windows PowerShell's `Set-Content -Encoding
    utf8`) that writes a UTF-8 byte-order mark: exit 2 "is not valid JSON: Unexpected UTF-8
    BOM (decode using utf-8-sig)", Python's advice to a programmer. JSON readers may ignore
    the mark (RFC 8259 §8.1), as the configuration's message now names it: the baseline is
    read, its findings hidden; a baseline broken otherwise still fails closed."""
    root = configured(tmp_path / "p")
    assert run("check", "--write-baseline", "base.json", "app", cwd=root).returncode == 0
    base = root / "base.json"
    base.write_bytes(b"\xef\xbb\xbf" + base.read_bytes())
    result = run("check", "--baseline", "base.json", "app", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "1 finding hidden by the baseline" in result.stdout
    base.write_bytes(b"\xef\xbb\xbf{")
    assert run("check", "--baseline", "base.json", "app", cwd=root).returncode == 2


def test_a_cache_dir_that_is_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    """`cache_dir = "pyproject.toml"` (or any file): every run silently kept no cache (each
    write failed and was passed over), and nothing said why checks stayed slow. As a
    directory holding other files is, it is a configuration error naming the key; the file
    is untouched."""
    root = configured(tmp_path / "p", 'cache_dir = "notes.txt"\n')
    (root / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = run("check", "app", cwd=root)
    assert result.returncode == 2, result.stderr
    assert "cache_dir 'notes.txt'" in result.stderr and "not a directory" in result.stderr
    assert (root / "notes.txt").read_text(encoding="utf-8") == "mine\n"
