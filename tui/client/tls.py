"""One TLS trust store for REST and the event socket, so a server is trusted by both or by neither.

The store is the system's (OpenSSL's default paths, which honour `SSL_CERT_FILE` and `SSL_CERT_DIR`) plus
certifi's bundle (so a machine with an empty system store still reaches public servers). httpx would otherwise
use certifi alone and websockets the system store alone: a CA added system-wide worked for one and not the other.
"""

from __future__ import annotations

import functools
import os
import ssl

__all__ = ["trust_context"]


@functools.lru_cache(maxsize=4)
def _context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context()  # system store; OpenSSL reads SSL_CERT_FILE / SSL_CERT_DIR itself
    try:
        import certifi

        context.load_verify_locations(cafile=certifi.where())
    except (ImportError, OSError, ssl.SSLError):
        pass
    return context


def trust_context() -> ssl.SSLContext:
    """The client TLS context (cached per `SSL_CERT_FILE`/`SSL_CERT_DIR`, so changing them takes effect)."""
    return _context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
