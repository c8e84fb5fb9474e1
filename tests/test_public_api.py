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
    assert set(eventsource.__all__) == public - modules
    assert len(eventsource.__all__) <= 20  # a small surface: the rest is in public modules
    for name in eventsource.__all__:
        assert getattr(eventsource, name) is not None


def test_the_public_submodules() -> None:
    names = [m.name for m in pkgutil.iter_modules(eventsource.__path__)]
    public = sorted(n for n in names if not n.startswith("_"))
    assert public == ["decode", "mcp", "sentinels", "stores", "sync", "testing", "transports"]
    for name in public:
        importlib.import_module(f"eventsource.{name}")
    for name in public:
        module = importlib.import_module(f"eventsource.{name}")
        for exported in getattr(module, "__all__", ()):
            assert getattr(module, exported) is not None, (name, exported)


def test_each_name_has_one_public_home() -> None:
    homes: dict[str, list[str]] = {}
    for module_name in [
        "eventsource",
        "eventsource.decode",
        "eventsource.mcp",
        "eventsource.sentinels",
        "eventsource.stores",
        "eventsource.transports",
    ]:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            homes.setdefault(name, []).append(module_name)
    assert {name: where for name, where in homes.items() if len(where) > 1} == {}


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
