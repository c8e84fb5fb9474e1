"""Shared pytest options: ``--soak-long`` turns the chaos soak into its long version."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--soak-long",
        action="store_true",
        default=False,
        help="run the long soak tests (make soak): 100,000 events through 2,000+ faults",
    )


@pytest.fixture
def soak_long(request: pytest.FixtureRequest) -> bool:
    """Whether ``--soak-long`` was given."""
    return bool(request.config.getoption("--soak-long"))
