"""The docs say what the code does: the error tree, the reconnection defaults, no untested sample.

The samples themselves run as tests of their own (Sybil, see tests/_docs.py).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from pathlib import Path

import eventsource
import eventsource.mcp
import eventsource.stores
from eventsource import EventSource, EventSourceError, RetryPolicy
from eventsource import _errors as errors_module

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$", re.MULTILINE)
#: Languages of fenced blocks; ``python`` blocks are run by the doc tests.
LANGUAGES = {"python", "console", "javascript", "text"}
TREE_LINE = re.compile(
    r"^(?P<indent>(?:[│ ]   )*)[├└]── (?P<name>\w+)|^(?P<root>EventSourceError)$"
)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, in order."""
    blocks: list[tuple[str, str]] = []
    opening: re.Match[str] | None = None
    for match in FENCE.finditer(text):
        if opening is None:
            opening = match
        elif match.group(1) == opening.group(1) and not match.group(2).strip():
            blocks.append((opening.group(2).strip(), text[opening.end() + 1 : match.start()]))
            opening = None
    assert opening is None, "a fence is never closed"
    return blocks


def tree_edges(tree: str) -> set[tuple[str, str]]:
    """(parent, child) pairs of a tree drawn with box characters, four columns a level."""
    edges: set[tuple[str, str]] = set()
    path: list[str] = []
    for line in tree.strip("\n").splitlines():
        match = TREE_LINE.match(line.strip("\n"))
        assert match is not None, f"not a line of the tree: {line!r}"
        if match["root"]:
            path = [match["root"]]
            continue
        depth = len(match["indent"]) // 4 + 1
        del path[depth:]
        edges.add((path[-1], match["name"]))
        path.append(match["name"])
    return edges


def class_edges(root: type[BaseException]) -> set[tuple[str, str]]:
    edges: set[tuple[str, str]] = set()
    for child in root.__subclasses__():
        if child.__module__.startswith("eventsource"):
            edges.add((root.__name__, child.__name__))
            edges |= class_edges(child)
    return edges


def test_every_fenced_block_has_a_language_so_no_python_sample_escapes_the_doc_tests() -> None:
    for page in PAGES:
        for language, body in fenced_blocks(page.read_text(encoding="utf-8")):
            assert language in LANGUAGES, f"{page.name}: ```{language}\n{body[:200]}"


def test_the_error_tree_on_the_errors_page_is_the_class_tree() -> None:
    blocks = fenced_blocks((ROOT / "docs" / "errors.md").read_text(encoding="utf-8"))
    [tree] = [body for _, body in blocks if body.startswith("EventSourceError\n")]
    documented = tree_edges(tree)
    actual = class_edges(EventSourceError)
    assert documented == actual
    assert ("EventSourceError", "ServerEventError") in documented
    assert ("TransportError", "ConnectError") in documented
    # The module's docstring draws the same tree.
    docstring = inspect.getdoc(errors_module) or ""
    start = docstring.index("\n    EventSourceError\n") + 1
    drawn = textwrap.dedent(docstring[start:].split("\n\n")[0])
    assert tree_edges(drawn) == actual


def test_every_error_class_in_the_tree_is_public_where_the_docs_say() -> None:
    for _, name in class_edges(EventSourceError):
        where = {"RequestMayHaveRunError": eventsource.mcp, "StoreError": eventsource.stores}.get(
            name, eventsource
        )
        assert name in where.__all__, name


def test_the_reconnection_page_shows_every_retry_policy_default_as_the_code_has_it() -> None:
    blocks = fenced_blocks((ROOT / "docs" / "reconnection.md").read_text(encoding="utf-8"))
    [sample] = [body for language, body in blocks if "RetryPolicy(" in body and language]
    [policy] = [
        node
        for node in ast.walk(ast.parse(sample))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "RetryPolicy"
        if node.keywords
    ]
    shown = {kw.arg: ast.literal_eval(kw.value) for kw in policy.keywords}
    defaults = {field.name: field.default for field in dataclasses.fields(RetryPolicy)}
    assert shown == defaults
    [retry] = [
        kw.value
        for node in ast.walk(ast.parse(sample))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "EventSource"
        for kw in node.keywords
        if kw.arg == "retry"
    ]
    assert ast.literal_eval(retry) == inspect.signature(EventSource).parameters["retry"].default
