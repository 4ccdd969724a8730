"""tools/audit_dependencies.py: which pip-audit reports fail CI, which only warn, and which mean "not audited".

The reports are written here in pip-audit's JSON shape (2.10); no network.
"""

from __future__ import annotations

import json

from tools.audit_dependencies import BROKEN, CLEAN, FIXABLE, UNREACHABLE, decide, evaluate, main, pip_audit_command


def dep(name: str, version: str, *vulns: dict) -> dict:
    return {"name": name, "version": version, "vulns": list(vulns)}


def vuln(vuln_id: str, *fixes: str, aliases: tuple[str, ...] = ()) -> dict:
    return {"id": vuln_id, "fix_versions": list(fixes), "aliases": list(aliases)}


def skipped(name: str, version: str) -> dict:
    return {"name": name, "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} ({version})"}


def report(*deps: dict) -> dict:
    return {"dependencies": list(deps), "fixes": []}


def test_no_vulnerability_passes_and_says_how_many_were_audited():
    verdict = decide(report(dep("flask", "3.1.3"), dep("rq", "3.0.0")))
    assert verdict.code == CLEAN
    assert verdict.lines == ["audited 2 of 2 pinned packages: 0 known vulnerabilities with a fix, 0 without one"]


def test_a_vulnerability_with_a_fix_fails_naming_package_version_ids_and_fix():
    verdict = decide(
        report(dep("flask", "3.1.3"), dep("jinja2", "3.1.4", vuln("GHSA-q2x7-8rv6-6q7h", "3.1.5", aliases=("CVE-1",))))
    )
    assert verdict.code == FIXABLE
    assert "VULNERABLE jinja2==3.1.4: GHSA-q2x7-8rv6-6q7h, CVE-1; fixed in 3.1.5" in verdict.lines


def test_a_vulnerability_without_a_fix_is_a_warning_only():
    verdict = decide(report(dep("six", "1.17.0", vuln("PYSEC-2099-1"))))
    assert verdict.code == CLEAN
    assert verdict.lines[0] == "WARNING six==1.17.0: PYSEC-2099-1; no fix version yet"


def test_every_finding_is_printed_when_one_fails():
    verdict = decide(
        report(dep("six", "1.17.0", vuln("PYSEC-2099-1")), dep("idna", "3.6", vuln("PYSEC-2024-60", "3.7")))
    )
    assert verdict.code == FIXABLE
    assert [line.split(":")[0] for line in verdict.lines[:2]] == ["WARNING six==1.17.0", "VULNERABLE idna==3.6"]


def test_nothing_audited_because_pypi_knows_no_release_is_unreachable_not_clean():
    """What this machine's PyPI does: pip-audit itself exits 0 and says "No known vulnerabilities found"."""
    verdict = decide(report(skipped("flask", "3.1.3"), skipped("rq", "3.0.0")))
    assert verdict.code == UNREACHABLE
    assert "404 for all 2 pinned releases" in verdict.reason
    assert "PyPI's JSON API does not know these releases: flask, rq" in verdict.lines[0]


def test_a_partial_audit_is_not_clean_but_a_fixable_finding_still_fails():
    partial = decide(report(dep("flask", "3.1.3"), {"name": "private-pkg", "skip_reason": "editable"}))
    assert partial.code == UNREACHABLE
    assert partial.reason == "1 of 2 pinned packages could not be audited (first: private-pkg: editable)"
    assert "WARNING not audited: private-pkg: editable" in partial.lines
    found = decide(report(skipped("flask", "3.1.3"), dep("idna", "3.6", vuln("PYSEC-2024-60", "3.7"))))
    assert found.code == FIXABLE


def test_an_empty_report_is_broken():
    assert decide(report()).code == BROKEN


def test_a_json_report_is_decided_whatever_pip_audit_exited_with():
    """pip-audit exits 1 when it finds anything, fixable or not; the decision is ours."""
    stdout = json.dumps(report(dep("six", "1.17.0", vuln("PYSEC-2099-1"))))
    assert evaluate(1, stdout, "Found 1 known vulnerability in 1 package").code == CLEAN


def test_a_network_failure_is_unreachable_with_the_error_as_reason():
    stderr = (
        "Traceback (most recent call last):\n  File ...\n"
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded\n"
    )
    verdict = evaluate(1, "", stderr)
    assert verdict.code == UNREACHABLE
    assert verdict.reason.endswith(
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='pypi.org', port=443): Max retries exceeded"
    )


def test_pip_audits_own_connection_message_is_unreachable():
    stderr = (
        "ERROR:pip_audit._cli:Could not connect to PyPI's vulnerability feed\n"
        "ERROR:pip_audit._cli:Tip: your network may be blocking this service. Try another service with `-s SERVICE`\n"
    )
    assert evaluate(1, "", stderr).code == UNREACHABLE


def test_a_bad_requirements_file_is_broken_not_skipped():
    stderr = (
        "ERROR:pip_audit._cli:requirement file r.txt contains invalid specifier at line 1: Invalid requirement\n"
        "    flask==\n         ^\n"
    )
    verdict = evaluate(1, "", stderr)
    assert verdict.code == BROKEN
    assert "invalid specifier at line 1" in verdict.reason


def test_the_command_audits_the_files_as_pinned_without_pip(tmp_path):
    command = pip_audit_command([tmp_path / "a.txt", tmp_path / "b.txt"])
    assert {"--no-deps", "--disable-pip"} <= set(command) and command[command.index("-f") + 1] == "json"
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "-r"] == [
        str(tmp_path / "a.txt"),
        str(tmp_path / "b.txt"),
    ]


def test_main_exit_codes_and_output(capsys):
    fixable = json.dumps(report(dep("idna", "3.6", vuln("PYSEC-2024-60", "3.7"))))
    assert main([], run=lambda command: (1, fixable, "")) == FIXABLE
    out, err = capsys.readouterr()
    assert "audit: VULNERABLE idna==3.6: PYSEC-2024-60; fixed in 3.7" in out and "FAILED" in err
    nothing = json.dumps(report(skipped("flask", "3.1.3")))
    assert main([], run=lambda command: (0, nothing, "")) == UNREACHABLE
    assert "NOT DONE" in capsys.readouterr().err


def test_skipped_file_turns_unreachable_into_a_pass_with_the_reason_and_never_a_finding(tmp_path):
    reason_file = tmp_path / "logs" / "skipped.txt"
    nothing = json.dumps(report(skipped("flask", "3.1.3")))
    assert main(["--skipped-file", str(reason_file)], run=lambda command: (0, nothing, "")) == CLEAN
    assert "404 for all 1 pinned releases" in reason_file.read_text()

    fixable = json.dumps(report(dep("idna", "3.6", vuln("PYSEC-2024-60", "3.7"))))
    assert main(["--skipped-file", str(reason_file)], run=lambda command: (1, fixable, "")) == FIXABLE
    assert not reason_file.exists(), "a reason left from an earlier run would make CI print a skip"
    assert main(["--skipped-file", str(reason_file)], run=lambda command: (1, "", "Traceback\nKeyError: x")) == BROKEN
