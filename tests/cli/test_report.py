"""The reports are written as they go: the text report reads each file's lines once, forward,
and shows the line the position counts (not `str.splitlines`'s); SARIF is the document
`json.dumps(indent=2)` prints, results written one at a time."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tenantguard.cli import main
from tenantguard.engine.findings import Finding, Severity
from tenantguard.report import SourceLines, render, write_report


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.tenantguard]\ntenant_tables = ["patients"]\n')
    return tmp_path


def shown(capsys: pytest.CaptureFixture[str], *argv: str) -> list[tuple[str, str]]:
    """(location, the source line shown under it) of each finding of a text report."""
    assert main(["check", "--no-cache", *argv]) == 1
    lines = capsys.readouterr().out.splitlines()
    return [(lines[i].split(" ")[0], lines[i + 1]) for i, ln in enumerate(lines) if ": TG" in ln]


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        # a form feed (or \u2028) ends a line for str.splitlines, not for the positions
        ("q.sql", b"-- page\x0cbreak\nSELECT 1;\nSELECT * FROM patients;\n", "q.sql:3:15:"),
        ("u.sql", "-- a\u2028b\nSELECT 1;\nSELECT * FROM patients;\n".encode(), "u.sql:3:15:"),
        ("w.sql", b"-- crlf\r\nSELECT 1;\r\nSELECT * FROM patients;\r\n", "w.sql:3:15:"),
        ("b.sql", b"\xef\xbb\xbfSELECT * FROM patients;\n", "b.sql:1:15:"),
        (
            "app.py",
            b'# page\x0cbreak\nasync def f(c):\n    await c.fetch("SELECT * FROM patients")\n',
            "app.py:3:19:",
        ),
        # a lone \r ends a line for Python
        (
            "cr.py",
            b'# a\rasync def f(c):\r    await c.fetch("SELECT * FROM patients")\r',
            "cr.py:3:34:",
        ),
    ],
)
def test_the_line_shown_is_the_line_of_the_position(
    workdir: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, expected: str
) -> None:
    (workdir / name).write_bytes(data)
    [(location, source)] = shown(capsys, name)
    assert location == expected
    assert "SELECT * FROM patients" in source
    # the same from standard input
    monkey = pytest.MonkeyPatch()
    monkey.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    try:
        [(location, source_in)] = shown(capsys, "--stdin-filename", name)
    finally:
        monkey.undo()
    assert (location, source_in) == (expected, source)


def test_each_file_is_read_once_forward_and_let_go(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("a1\na2\na3\n")
    (tmp_path / "b.sql").write_text("b1\nb2\n")
    lines = SourceLines()
    a, b = str(tmp_path / "a.sql"), str(tmp_path / "b.sql")
    assert [lines.line(a, 1), lines.line(a, 3), lines.line(a, 3)] == ["a1", "a3", "a3"]
    reading_a = lines.lines
    assert lines.line(b, 2) == "b2"
    # a's file is closed: its generator has finished
    assert next(reading_a, "closed") == "closed"
    assert lines.line(b, 3) is None and lines.line(b, 9) is None
    assert lines.line(a, 2) == "a2"  # out of order (render's callers may not sort): read again
    assert lines.line(str(tmp_path / "missing.sql"), 1) is None
    lines.close()


def test_sarif_is_the_indented_document_written_one_result_at_a_time() -> None:
    finding = Finding("TG001", "unpinned", Severity.ERROR, 'a "b"', "c", 2, 3, 2, 9, "q.sql", "s")
    for findings in ([], [finding], [finding, finding]):
        text = render("sarif", findings, 1, 1)
        assert text == json.dumps(json.loads(text), indent=2) + "\n"
        assert len(json.loads(text)["runs"][0]["results"]) == len(findings)


def watched(findings: list[Finding], out: io.StringIO, seen: list[int]) -> Iterator[Finding]:
    """The findings, noting how much of the report was written when each was taken."""
    for finding in findings:
        seen.append(len(out.getvalue()))
        yield finding


def test_reports_are_written_to_the_stream_as_they_go() -> None:
    """Each finding reaches the stream before the next one is taken."""
    finding = Finding("TG001", "unpinned", Severity.ERROR, "m", "h", 1, 1, 1, 2, "x.sql", "s")
    for fmt in ("text", "concise", "json", "github", "sarif"):
        out = io.StringIO()
        seen: list[int] = []
        write_report(out, fmt, watched([finding, finding], out, seen), 1, 1)
        assert len(seen) == 2 and seen[0] < seen[1], fmt


def test_findings_are_written_as_each_file_is_checked(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tenantguard.sources.files as files

    for name in ("a.sql", "b.sql", "c.sql"):
        (workdir / name).write_text("SELECT 1;\nSELECT * FROM patients;\n")
    out = io.StringIO()
    written_before: list[int] = []
    check_file = files.check_file

    def watched(*args, **kwargs):  # type: ignore[no-untyped-def]
        written_before.append(len(out.getvalue()))
        return check_file(*args, **kwargs)

    monkeypatch.setattr(files, "check_file", watched)
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["check", "--no-cache", "--jobs", "1", "."]) == 1
    assert written_before[0] == 0 and written_before[0] < written_before[1] < written_before[2]
    assert [ln.split(":")[0] for ln in out.getvalue().splitlines() if ": TG" in ln] == [
        "a.sql",
        "b.sql",
        "c.sql",
    ]


def test_the_findings_of_several_configurations_come_in_path_order(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each configuration's files are a stream of their own; merged, the paths are in order."""
    (workdir / "sub").mkdir()
    (workdir / "sub" / "pyproject.toml").write_text(
        '[tool.tenantguard]\ntenant_tables = ["visits"]\n'
    )
    (workdir / "a.sql").write_text("SELECT * FROM patients;\n")
    (workdir / "sub" / "m.sql").write_text("SELECT * FROM visits;\nSELECT * FROM patients;\n")
    (workdir / "z.sql").write_text("SELECT 1;\nSELECT * FROM patients WHERE id = 1;\n")
    code = main(["check", "--no-cache", "--format", "concise", "z.sql", "sub/m.sql", "a.sql"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert [ln.split(" ")[0] for ln in out[:-1]] == [
        "a.sql:1:15:",
        "sub/m.sql:1:15:",
        "z.sql:2:15:",
    ]
    assert out[-1] == "Found 3 errors and 0 warnings in 3 files (5 statements)."


def test_a_warning_says_so_in_the_concise_format(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line per finding, `path:line:col: CODE message`: a warning (it does not fail the
    run) ends with `(warning)`, as the text format's help line does; an error does not."""
    (workdir / "a.py").write_text(
        "async def f(conn, q):\n"
        '    sql = "SELECT * FROM patients WHERE id = 1 AND " + q\n'
        "    return await conn.fetch(sql)\n"
    )
    code = main(["check", "--no-cache", "--format", "concise", "a.py"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    by_code = {line.split(" ")[1]: line for line in out[:-1]}
    assert set(by_code) == {"TG001", "TG009"}
    assert by_code["TG009"].endswith(" (warning)")
    assert not by_code["TG001"].endswith(")")
    assert out[-1] == "Found 1 error and 1 warning in 1 file (1 statement)."


def test_github_and_sarif_paths_are_relative_to_the_checkout(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workflow step run in a subdirectory (`working-directory: app`): GitHub attaches an
    annotation or a code-scanning result to a path of the checkout, not of that directory
    (round 19, a first-time user)."""
    (workdir / "app").mkdir()
    (workdir / "app" / "q.sql").write_text("SELECT * FROM patients;\n")
    monkeypatch.chdir(workdir / "app")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workdir))
    assert main(["check", "--no-cache", "--format", "github", "q.sql"]) == 1
    assert capsys.readouterr().out.startswith("::error file=app/q.sql,line=1,col=15,")
    assert main(["check", "--no-cache", "--format", "sarif", "q.sql"]) == 1
    run = json.loads(capsys.readouterr().out)["runs"][0]
    location = run["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app/q.sql"
    monkeypatch.delenv("GITHUB_WORKSPACE")
    assert main(["check", "--no-cache", "--format", "github", "q.sql"]) == 1
    assert capsys.readouterr().out.startswith("::error file=q.sql,")


def test_sarif_columns_count_characters_and_say_so(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SARIF reads columns as UTF-16 code units unless the run says otherwise: after an emoji
    (two units, one character) every column was one off."""
    (workdir / "e.sql").write_text("SELECT '\U0001f600', * FROM patients;\n")
    assert main(["check", "--no-cache", "--format", "sarif", "e.sql"]) == 1
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region["startColumn"] == len("SELECT '\U0001f600', * FROM ") + 1
