"""HTTP adapters: open a request, hand back status, headers and byte chunks.

Transports know HTTP and nothing of SSE. They follow no redirects (the
processing model does that, to control credentials) and translate their
library's exceptions into :class:`~eventsource.TransportError` once.
"""

from ._base import Request as Request
from ._base import Response as Response
from ._base import Transport as Transport

__all__ = ["Request", "Response", "Transport"]
