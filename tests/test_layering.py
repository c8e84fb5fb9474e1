"""The sans-IO layers import no async or HTTP library (STYLE.md, "Shape").

Each check runs in a fresh interpreter. The modules are loaded by file path
under a stub ``eventsource`` package, so the package ``__init__`` (which pulls
in the transports and aiohttp) never runs: only the module under test and what
it imports itself end up in ``sys.modules``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import eventsource

PACKAGE_DIR = Path(eventsource.__file__).parent
SANS_IO_MODULES = [
    "_errors",
    "_event",
    "_parser_fast_path",
    "_parser_lines",
    "_parser",
    "_retry",
    "_policy",
    "_sendable",
    "_sendable_url",
    "_request",
    "_backoff",
    "_verdicts",
    "_connection_attempts",
    "_connection_report",
    "_connection_predicates",
    "_connection",
    "_attributes",
    "_listeners",
    "_options",
    "_commits",
    "_transport._sync_base",
    "sentinels",
]
FORBIDDEN = ["anyio", "aiohttp", "httpx", "asyncio", "trio", "sniffio"]

# Runs in the child: an empty package module whose __path__ is the real package
# directory, so `from ._errors import ...` inside a module resolves to the real
# files without executing eventsource/__init__.py.
LOADER = textwrap.dedent(
    """
    import importlib, json, sys, types
    package_dir, module, forbidden = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    stub = types.ModuleType("eventsource")
    stub.__path__ = [package_dir]
    sys.modules["eventsource"] = stub
    importlib.import_module("eventsource." + module)
    print(json.dumps(sorted(name for name in forbidden if name in sys.modules)))
    """
)


def imported_forbidden(module: str, package_dir: Path = PACKAGE_DIR) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", LOADER, str(package_dir), module, json.dumps(FORBIDDEN)],
        capture_output=True,
        text=True,
        check=True,
    )
    found: list[str] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize("module", SANS_IO_MODULES)
def test_sans_io_module_imports_no_async_or_http_library(module: str) -> None:
    if importlib.util.find_spec(f"eventsource.{module}") is None:
        pytest.skip(f"eventsource.{module} does not exist yet")
    assert imported_forbidden(module) == []


def test_the_check_detects_a_module_that_imports_asyncio(tmp_path: Path) -> None:
    # The same loader on a copy of the sans-IO modules whose parser imports asyncio
    # must report it; otherwise the test above could pass for the wrong reason.
    future = "from __future__ import annotations\n"
    modules = ["_errors", "_event", "_parser", "_parser_fast_path", "_parser_lines", "_sendable"]
    for name in modules:
        source = (PACKAGE_DIR / f"{name}.py").read_text(encoding="utf-8")
        if name == "_parser":
            assert future in source
            source = source.replace(future, future + "import asyncio\n", 1)
        (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    assert imported_forbidden("_parser", tmp_path) == ["asyncio"]
