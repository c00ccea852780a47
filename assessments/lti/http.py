"""The HTTP client Assay uses to call platforms (key sets, service tokens, line items, rosters).

Tests swap the transport (``use_transport``) for an in-process platform; production uses the network.
"""

from __future__ import annotations

import httpx2

TIMEOUT = httpx2.Timeout(10.0)
_transport: httpx2.BaseTransport | None = None


def use_transport(transport: httpx2.BaseTransport | None) -> None:
    global _transport  # noqa: PLW0603 - one process-wide switch, for tests
    _transport = transport


def client() -> httpx2.Client:
    return httpx2.Client(transport=_transport, timeout=TIMEOUT, follow_redirects=False)


class PlatformUnavailable(Exception):
    """A platform did not answer as the specification says (down, or an error status)."""
