"""The documentation's links hold: every relative link in README.md and docs/*.md names a file of the
repository (and, with a #fragment, a heading of that file), and none points outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
EXTERNAL = ("http://", "https://", "mailto:")


def _prose(text: str) -> str:
    """The text outside code blocks and code spans, where a bracket is not a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """The fragment each heading gets on GitHub: lower case, punctuation dropped, spaces to hyphens,
    a repeated heading numbered -1, -2, …"""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", text)):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
        slug = re.sub(r"[^\w\- ]", "", plain.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(doc: Path, root: Path) -> list[str]:
    """Every link of `doc` that does not resolve inside `root`, as 'doc: target (why)'."""
    problems = []
    text = doc.read_text(encoding="utf-8")
    for target in LINK.findall(_prose(text)):
        if target.startswith(EXTERNAL):
            continue
        path_part, _, fragment = target.partition("#")
        shown = f"{doc.relative_to(root)}: {target}"
        if path_part.startswith("/") or re.match(r"^[a-z][a-z0-9+.-]*:", path_part):
            problems.append(f"{shown} (not a relative link)")
            continue
        resolved = (doc.parent / path_part).resolve() if path_part else doc
        if not resolved.is_relative_to(root):
            problems.append(f"{shown} (outside the repository)")
        elif not resolved.exists():
            problems.append(f"{shown} (no such file)")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text(encoding="utf-8")):
            problems.append(f"{shown} (no heading '{fragment}')")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(doc: Path) -> None:
    assert broken_links(doc, ROOT) == []


def test_the_readme_links_the_design_document_and_the_docs_have_links_to_check() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/design.md)" in readme
    assert sum(len(LINK.findall(_prose(d.read_text(encoding="utf-8")))) for d in DOCS) > 20


def test_the_checker_finds_each_kind_of_broken_link(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text('# Other page\n\n## Free-text tasks (`kind = "free_text"`)\n', encoding="utf-8")
    doc = tmp_path / "README.md"
    doc.write_text(
        "\n".join(
            [
                "# Title",
                "[fine](docs/other.md#free-text-tasks-kind--free_text) [fine](#title) [fine](https://example.org/x)",
                "[missing file](docs/none.md) [missing heading](docs/other.md#nowhere) [own heading](#untitled)",
                "[outside](../shared/DESIGN.md) [absolute](/etc/passwd) [scheme](file:///etc/passwd)",
                "`[in code](docs/none.md)`",
                "```",
                "[in a block](docs/none.md)",
                "```",
            ]
        ),
        encoding="utf-8",
    )
    assert broken_links(doc, tmp_path) == [
        "README.md: docs/none.md (no such file)",
        "README.md: docs/other.md#nowhere (no heading 'nowhere')",
        "README.md: #untitled (no heading 'untitled')",
        "README.md: ../shared/DESIGN.md (outside the repository)",
        "README.md: /etc/passwd (not a relative link)",
        "README.md: file:///etc/passwd (not a relative link)",
    ]
