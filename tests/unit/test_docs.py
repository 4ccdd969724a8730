"""The documents hold together: links resolve, the settings table is config/settings.py's, nothing got lost.

Pure: reads files of the repository, nothing else. Checked:

1. every relative link of README.md, docs/*.md and zoomsim/README.md names a file
   that exists, and a `#fragment` names a heading of the target (GitHub's anchors);
2. docs/configuration.md's "Settings" table has one row for each variable
   config/settings.py reads, and no other; its other tables name variables that
   something in the repository still reads;
3. the README is a first screen: `make run` and `make test` near the top, short;
4. every section of the README before it was split has a home, linked from the README.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"
SETTINGS = ROOT / "config" / "settings.py"


def documents() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "zoomsim" / "README.md"]


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# --- Markdown, as much of it as the checks need --------------------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
INLINE_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:...


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def headings(path: Path) -> list[tuple[int, str]]:
    """(level, text) of every ATX heading, inline markup removed as GitHub renders it."""
    found = []
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match:
            found.append((len(match.group(1)), plain(match.group(2))))
    return found


def plain(text: str) -> str:
    """Heading text as rendered: code spans' content, link text, no emphasis markers."""
    text = CODE_SPAN.sub(lambda m: m.group(2).strip(), text)
    text = INLINE_LINK.sub(lambda m: m.group(1), text)
    return re.sub(r"(\*+|(?<!\w)_+|_+(?!\w))", "", text).strip()


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lowercase, punctuation but - and _ dropped, each space a -."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of the file, with GitHub's -1, -2... for repeated headings."""
    seen: dict[str, int] = {}
    result = set()
    for _, text in headings(path):
        slug = anchor(text)
        if slug in seen:
            seen[slug] += 1
            result.add(f"{slug}-{seen[slug]}")
        else:
            seen[slug] = 0
            result.add(slug)
    return result


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every inline link and reference definition outside code."""
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        outside_code = CODE_SPAN.sub(lambda m: "x" * len(m.group(0)), line)
        definition = REFERENCE_DEFINITION.match(outside_code)
        if definition:
            found.append((number, definition.group(1)))
            continue
        # The link text may hold a code span: match on the code-free line, read the target from it.
        found.extend((number, match.group(2)) for match in INLINE_LINK.finditer(outside_code))
    return found


def link_problem(source: Path, target: str) -> str | None:
    """Why a relative link does not resolve, or None."""
    if EXTERNAL.match(target):
        return None
    path_part, _, fragment = target.partition("#")
    destination = (source.parent / unquote(path_part)).resolve() if path_part else source
    if not destination.exists():
        return f"{path_part} does not exist (relative to {rel(source.parent) or '.'}/)"
    if fragment and destination.suffix == ".md":
        if unquote(fragment) not in anchors(destination):
            known = ", ".join(sorted(anchors(destination)))
            return f"{rel(destination)} has no heading with the anchor #{fragment} (its anchors: {known})"
    return None


# --- 1. links ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("document", documents(), ids=rel)
def test_every_relative_link_resolves(document):
    problems = [
        f"{rel(document)}:{number}: ({target}) {problem}"
        for number, target in links(document)
        if (problem := link_problem(document, target))
    ]
    assert not problems, "fix these links, or the heading or file they name:\n" + "\n".join(problems)


def test_the_anchor_rule_is_githubs():
    assert anchor("After the meeting: Zoom's participant report") == "after-the-meeting-zooms-participant-report"
    assert anchor(plain("`TOKEN_ENCRYPTION_KEY`")) == "token_encryption_key"
    assert anchor("6. Rotating secrets") == "6-rotating-secrets"
    assert anchor("Deployment: the Procfile") == "deployment-the-procfile"


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "a.md").write_text(
        "# A\n\n## Real heading\n\n[x](b.md) [y](#real-heading) [z](#gone) `[q](nowhere.md)`\n"
    )
    problems = [link_problem(tmp_path / "a.md", target) for _, target in links(tmp_path / "a.md")]
    assert problems[0] and "b.md does not exist" in problems[0]
    assert problems[1] is None
    assert problems[2] and "#gone" in problems[2]
    assert len(problems) == 3  # a link inside a code span is no link


# --- 2. docs/configuration.md against config/settings.py ----------------------------------------------------

SETTINGS_SECTION = "Settings"
# Sections naming variables read elsewhere than config/settings.py: each must still be read somewhere.
ELSEWHERE_SECTIONS = ("Read by the Procfile", "The tests, the demo and the tools")
VARIABLE_ROW = re.compile(r"^\|\s*(`[^|]*`)\s*\|")
NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _load_settings(tree: ast.Module) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "load_settings":
            return node
    raise AssertionError("config/settings.py has no load_settings(): update tests/unit/test_docs.py")


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def env_reads(source: str) -> set[str]:
    """The variables load_settings reads: env.get("X"), env["X"], "X" in env, and helper(env, "X", ...)."""
    function = _load_settings(ast.parse(source))
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env":
                if node.args and (name := _string(node.args[0])):
                    names.add(name)
            for first, second in zip(node.args, node.args[1:], strict=False):
                if isinstance(first, ast.Name) and first.id == "env" and (name := _string(second)):
                    names.add(name)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "env":
            if name := _string(node.slice):
                names.add(name)
        elif isinstance(node, ast.Compare) and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            if any(isinstance(c, ast.Name) and c.id == "env" for c in node.comparators) and (
                name := _string(node.left)
            ):
                names.add(name)
    return names


def capitalised_strings(source: str) -> set[str]:
    """Every string in load_settings that looks like a variable's name: what env_reads() must all see."""
    function = _load_settings(ast.parse(source))
    return {value for node in ast.walk(function) if (value := _string(node)) is not None and NAME.match(value)}


def section_rows(text: str, title: str) -> list[tuple[int, str]]:
    """(line number, first cell) of each table row naming variables in the section with that heading."""
    rows, inside, level = [], False, 0
    for number, line in prose_lines(text):
        heading = HEADING.match(line)
        if heading:
            if inside and len(heading.group(1)) <= level:
                break
            if plain(heading.group(2)) == title:
                inside, level = True, len(heading.group(1))
            continue
        if inside and (row := VARIABLE_ROW.match(line)):
            rows.append((number, row.group(1)))
    return rows


def documented(text: str, title: str) -> dict[str, int]:
    """Variable -> line number, for one section; fails on a row naming none, several, or one twice."""
    names: dict[str, int] = {}
    for number, cell in section_rows(text, title):
        in_cell = re.findall(r"`([^`]+)`", cell)
        assert len(in_cell) == 1 and NAME.match(in_cell[0]), (
            f"docs/configuration.md:{number}: a row of '{title}' must name one variable, as | `NAME` |, not {cell}"
        )
        assert in_cell[0] not in names, (
            f"docs/configuration.md:{number}: {in_cell[0]} has a row already (line {names.get(in_cell[0])})"
        )
        names[in_cell[0]] = number
    return names


def test_the_settings_parser_sees_every_variable_name_in_load_settings():
    source = SETTINGS.read_text(encoding="utf-8")
    unseen = capitalised_strings(source) - env_reads(source)
    assert not unseen, (
        f"load_settings holds {sorted(unseen)} but env_reads() does not see it read from the environment: "
        "teach env_reads() in tests/unit/test_docs.py the new way settings.py reads it"
    )
    assert len(env_reads(source)) >= 30, "env_reads() found almost nothing: has load_settings changed shape?"


def test_every_setting_is_documented_and_every_documented_setting_is_read():
    read = env_reads(SETTINGS.read_text(encoding="utf-8"))
    text = CONFIGURATION.read_text(encoding="utf-8")
    rows = documented(text, SETTINGS_SECTION)
    assert rows, f"docs/configuration.md has no '## {SETTINGS_SECTION}' table of | `NAME` | default | meaning | rows"
    undocumented = sorted(read - rows.keys())
    unread = sorted(rows.keys() - read)
    assert not undocumented, (
        f"config/settings.py reads {undocumented}: add a row for each to the '{SETTINGS_SECTION}' table "
        "of docs/configuration.md (| `NAME` | default | meaning |)"
    )
    assert not unread, (
        f"docs/configuration.md documents {[f'{n} (line {rows[n]})' for n in unread]} under '{SETTINGS_SECTION}', "
        "but config/settings.py does not read them: remove the rows, or move them to a section for variables "
        "read elsewhere"
    )


def repository_sources() -> str:
    """Every .py file of the repository (not the virtualenv, not this test) and the Procfile, as one text."""
    skip = {".venv", ".git", "artifacts", "instance", "node_modules", "__pycache__"}
    texts = [(ROOT / "Procfile").read_text(encoding="utf-8")]
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [d for d in subdirectories if d not in skip and not d.startswith(".")]
        for file in files:
            path = Path(directory) / file
            if file.endswith(".py") and path != Path(__file__).resolve():
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def test_variables_documented_as_read_elsewhere_are_still_read_there():
    text = CONFIGURATION.read_text(encoding="utf-8")
    settings_read = env_reads(SETTINGS.read_text(encoding="utf-8"))
    sources = repository_sources()
    problems = []
    for title in ELSEWHERE_SECTIONS:
        rows = documented(text, title)
        assert rows, f"docs/configuration.md has no '{title}' section with | `NAME` | rows: rename it in the test"
        for name, number in rows.items():
            if name in settings_read:
                problems.append(f"line {number}: {name} is read by config/settings.py: its row belongs under Settings")
            elif not re.search(rf"(?<![A-Z0-9_]){name}(?![A-Z0-9_])", sources):
                problems.append(f"line {number}: {name} is read by no .py file and not by the Procfile: remove the row")
    assert not problems, "docs/configuration.md:\n" + "\n".join(problems)


def test_no_variable_row_is_outside_a_checked_section():
    text = CONFIGURATION.read_text(encoding="utf-8")
    checked = {number for title in (SETTINGS_SECTION, *ELSEWHERE_SECTIONS) for number, _ in section_rows(text, title)}
    stray = [
        f"docs/configuration.md:{number}: {line.strip()[:60]}"
        for number, line in prose_lines(text)
        if VARIABLE_ROW.match(line) and number not in checked
    ]
    assert not stray, (
        "variable rows outside the sections tests/unit/test_docs.py checks; move them under "
        f"'{SETTINGS_SECTION}' or one of {ELSEWHERE_SECTIONS}:\n" + "\n".join(stray)
    )


def test_the_settings_check_fails_on_a_missing_or_extra_row():
    source = (
        'def load_settings(env):\n    return dict(a=env.get("A_ONE", ""), b=_int(env, "B_TWO", 1), c="C_X" in env)\n'
    )
    assert env_reads(source) == {"A_ONE", "B_TWO", "C_X"}
    text = "# C\n\n## Settings\n\n| variable | default |\n|---|---|\n| `A_ONE` | x |\n| `EXTRA` | y |\n\n## Next\n"
    assert set(documented(text, "Settings")) == {"A_ONE", "EXTRA"}
    with pytest.raises(AssertionError, match="must name one variable"):
        documented("## Settings\n\n| `A`, `B` | x |\n", "Settings")


# --- 3. the README is a first screen --------------------------------------------------------------------------

FIRST_SCREEN = 40
MOST_LINES = 120


def test_the_readme_is_a_first_screen():
    lines = README.read_text(encoding="utf-8").splitlines()
    top = "\n".join(lines[:FIRST_SCREEN])
    for command in ("make run", "make test"):
        assert command in top, f"README.md: `{command}` must appear in its first {FIRST_SCREEN} lines"
    assert len(lines) < MOST_LINES, (
        f"README.md has {len(lines)} lines: keep it under {MOST_LINES}, and move the detail to a doc under docs/ "
        "linked from its 'Where to read on' table"
    )


# --- 4. every section of the README before the split has a home -----------------------------------------------

# The README's headings before it was split (git show 4791ede:README.md), each with the document and the
# heading that hold its content now.
OLD_SECTIONS = {
    "zoomsync: keep an LMS and Zoom in sync": ("README.md", "zoomsync: keep an LMS and Zoom in sync"),
    "Quick start": ("README.md", "Quick start"),
    "How events flow": ("docs/architecture.md", "How events flow"),
    "Pushing LMS edits to Zoom": ("docs/outbound.md", "Pushing LMS edits to Zoom"),
    "After the meeting: Zoom's participant report": (
        "docs/attendance.md",
        "After the meeting: Zoom's participant report",
    ),
    "Webhook answers": ("docs/architecture.md", "Webhook answers"),
    "LMS API": ("docs/api.md", "LMS API"),
    "Rules": ("docs/rules.md", "Rules"),
    "Admin pages": ("docs/admin.md", "Admin pages"),
    "Metrics": ("docs/operations.md", "Metrics"),
    "Logs": ("docs/operations.md", "Logs"),
    "Configuration": ("docs/configuration.md", "Configuration"),
    "Deployment: the Procfile": ("docs/operations.md", "Deployment: the Procfile"),
    "Layout": ("README.md", "Layout"),
    "The Zoom simulator": ("zoomsim/README.md", "zoomsim: a stand-in for Zoom"),
    "Dependencies": ("docs/operations.md", "Dependencies"),
}


def readme_link_targets() -> set[Path]:
    targets = set()
    for _, target in links(README):
        path_part = target.partition("#")[0]
        if path_part and not EXTERNAL.match(target):
            targets.add((README.parent / unquote(path_part)).resolve())
    return targets


@pytest.mark.parametrize("old_title", OLD_SECTIONS)
def test_every_old_readme_section_has_a_home_linked_from_the_readme(old_title):
    document, heading = OLD_SECTIONS[old_title]
    path = ROOT / document
    assert path.exists(), f"the README's old section '{old_title}' should be in {document}, which does not exist"
    texts = [text for _, text in headings(path)]
    assert heading in texts, (
        f"the README's old section '{old_title}' should be under the heading '{heading}' of {document}: "
        f"restore the heading, or name its new home in OLD_SECTIONS (headings there: {texts})"
    )
    if path != README:
        assert path.resolve() in readme_link_targets(), (
            f"README.md does not link to {document}, which now holds '{old_title}': add it to 'Where to read on'"
        )
