"""The public surface: `__all__` is complete and every name resolves."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import eventsource


def test_all_lists_every_public_name_and_each_resolves() -> None:
    public = {name for name in vars(eventsource) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(eventsource, name)).__name__ == "module"}
    assert set(eventsource.__all__) - {"__version__"} == public - modules
    for name in eventsource.__all__:
        assert getattr(eventsource, name) is not None


def test_the_public_submodules_are_mcp_and_testing() -> None:
    names = [m.name for m in pkgutil.iter_modules(eventsource.__path__)]
    public = sorted(n for n in names if not n.startswith("_"))
    assert public == ["mcp", "testing"]
    importlib.import_module("eventsource.testing")
    mcp = importlib.import_module("eventsource.mcp")
    own = {
        name
        for name, value in vars(mcp).items()
        if not name.startswith("_")
        and (name.isupper() or getattr(value, "__module__", None) == mcp.__name__)
    }
    assert set(mcp.__all__) == own


def test_importing_the_package_does_not_import_httpx_or_trio() -> None:
    code = (
        "import sys, eventsource; print(sorted(m for m in ('httpx', 'trio') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_version_comes_from_the_distribution_metadata() -> None:
    from importlib.metadata import version

    assert eventsource.__version__ == version("eventsource-client")
