"""Test-session set-up: Hypothesis profiles and the ``--soak-long`` option."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# `default`: meaningful but quick (the property file runs in well under 20 s on
# two cores). `fuzz`: what `make fuzz` selects with --hypothesis-profile=fuzz.
settings.register_profile(
    "default",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("default")


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
