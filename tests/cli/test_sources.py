"""The example instances cite sources that exist in the repository (docs/sources.md).

Comments cite ``dd X.Y`` (= ``docs/sources.md#dd-X-Y``) and ``art NNN`` (=
``docs/sources.md#art-NNN``); no comment points outside the repository; every cited anchor
exists and is listed in the instance's ``sources`` field (which ``dcplan convert`` keeps)
with the "cite as" line of docs/sources.md.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

import optimizer

SOURCES = (ROOT / "docs" / "sources.md").read_text(encoding="utf-8")
INSTANCES = sorted((ROOT / "instances").glob("*.yaml"))
ANCHORS = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', SOURCES))


def _comments(path) -> str:
    return "\n".join(line[line.index("#"):] for line in path.read_text(encoding="utf-8").splitlines() if "#" in line)


def _cited(text: str) -> set[str]:
    ids = {f"dd-{p.replace('.', '-')}" for m in re.finditer(r"\bdd (\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)*)", text)
           for p in m.group(1).split("/")}
    ids |= {f"art-{p}" for m in re.finditer(r"\bart (\d{3}(?:/\d{3})*)", text) for p in m.group(1).split("/")}
    ids |= {"dd-conventions"} if "dd conventions" in text else set()
    ids |= set(re.findall(r"docs/sources\.md#([A-Za-z0-9-]+)", text)) - {"dd-X-Y", "art-NNN"}
    return ids


def _cite_as(anchor: str) -> str:
    m = re.search(rf'<a id="{anchor}"></a>\n#+ [^\n]*\n\n(Cite as: .*?)(?:\n\n|\Z)', SOURCES, re.S)
    assert m, f"docs/sources.md#{anchor} has no 'Cite as:' line"
    return " ".join(m.group(1)[len("Cite as: "):].split())


@pytest.mark.parametrize("path", INSTANCES, ids=[p.stem for p in INSTANCES])
def test_comments_cite_only_sources_in_the_repository(path):
    comments = _comments(path)
    for outside in ("/work/", "../shared", "shared/reference", "DOMAIN.md", "domain_data.md"):
        assert outside not in comments, f"{path.name} cites {outside}"
    assert re.search(r"docs/sources\.md#", comments), f"{path.name} does not say where its citations point"
    cited = _cited(comments)
    assert cited, path.name
    assert cited <= ANCHORS, f"{path.name} cites anchors docs/sources.md lacks: {sorted(cited - ANCHORS)}"


@pytest.mark.parametrize("path", INSTANCES, ids=[p.stem for p in INSTANCES])
def test_sources_field_lists_every_cited_anchor(path):
    inst = optimizer.load_instance(path)
    listed = {s.id: s.text for s in inst.sources}
    assert set(listed) == _cited(_comments(path)) and len(listed) == len(inst.sources)
    for anchor, text in listed.items():
        assert text == f"{_cite_as(anchor)} (docs/sources.md#{anchor})"
