"""The hooks of an async EventSource as attributes: ``prepare_request``, ``validate_response``.

:class:`Hooks` is a base of :class:`~._source.EventSource`: each hook is read
off its ``Driver`` (``_driver``), which calls it, and set there, checked to be
callable or ``None``.
"""

from __future__ import annotations

from ._driver import Driver
from ._driver_connect import PrepareRequest, ValidateResponse
from ._listeners import check_callable

__all__ = ["Hooks"]


class Hooks:
    """``prepare_request`` and ``validate_response``, over the EventSource's ``Driver``."""

    __slots__ = ()
    _driver: Driver

    @property
    def prepare_request(self) -> PrepareRequest | None:
        """Called before every connection attempt (see the constructor)."""
        return self._driver.prepare_request

    @prepare_request.setter
    def prepare_request(self, hook: PrepareRequest | None) -> None:
        self._driver.prepare_request = check_callable(hook, "prepare_request")

    @property
    def validate_response(self) -> ValidateResponse | None:
        """Called with each response before it is accepted (see the constructor)."""
        return self._driver.validate_response

    @validate_response.setter
    def validate_response(self, hook: ValidateResponse | None) -> None:
        self._driver.validate_response = check_callable(hook, "validate_response")
