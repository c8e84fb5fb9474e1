"""``eventsource URL`` and ``python -m eventsource URL``: tail a Server-Sent Events stream.

Run ``eventsource --help`` for the options; the implementation is in ``_cli``.
"""

from __future__ import annotations

import sys

from ._cli import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess
    sys.exit(main())
