"""The layout of docs/architecture.md, enforced: which package may import which.

A new arrow is a design decision: add it here and to docs/architecture.md together, or
move the code to where it belongs. Imports inside functions count the same as top-level ones.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# package -> the project packages it may import. Records and pure writers import nothing of ours.
ALLOWED = {
    "evidence": set(),                       # records and files: no stage, no engine, no screen
    "rubrics": set(),                        # the indicator system as data
    "reports": set(),                        # DOCX/XLSX writers over plain report models
    "zhtext": set(),                         # Chinese text: folding, segmenting, passages
    "tagging": {"rubrics", "zhtext"},
    "review": {"evidence", "rubrics"},
    "rounds": {"evidence", "rubrics", "review", "reports"},
    "casebook": {"evidence", "rubrics", "review", "reports"},
    "index": {"evidence", "review", "casebook", "zhtext"},   # the records only through index/feed.py
    "ingest": {"evidence", "rubrics", "tagging", "zhtext", "index"},
    "review_ui": {"evidence", "rubrics", "reports", "zhtext", "tagging", "review", "rounds", "casebook",
                  "index", "ingest"},
}
# Inside index/, only the feed reads records; the engine itself knows no database.
INDEX_FEED = {"index/feed.py"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(ALLOWED)


def _modules():
    for package in ALLOWED:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts and package == "evidence" and path.name == "env.py":
                continue  # Alembic's env imports the models it migrates, inside evidence/
            yield package, path


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_the_map_allows(package):
    wrong = []
    for owner, path in _modules():
        if owner != package:
            continue
        for target in _imports(path) - {package}:
            if target not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(REPO)} imports {target}")
    assert not wrong, "不允许的依赖（见 docs/architecture.md）：\n" + "\n".join(wrong)


def test_only_the_feed_of_the_index_reads_records():
    readers = {str(path.relative_to(REPO)) for owner, path in _modules()
               if owner == "index" and _imports(path) & {"evidence", "review", "casebook"}}
    assert readers <= INDEX_FEED, readers


def test_no_package_outside_the_web_layer_knows_the_web_framework():
    web = {"fastapi", "starlette"}
    wrong = []
    for owner, path in _modules():
        if owner == "review_ui":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            wrong += [f"{path.relative_to(REPO)} imports {n}" for n in names if n.split(".")[0] in web]
    assert not wrong, wrong


def test_the_map_lists_every_package():
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(ALLOWED), packages ^ set(ALLOWED)
