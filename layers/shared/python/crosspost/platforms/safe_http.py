"""HTTP that cannot be pointed at the inside (SSRF): every URL the server calls goes through here.

Users choose some of the URLs crosspost calls (a Bluesky ``service``, the PDS its DID document
names, media URLs), and a hostname can resolve to anything, differently from one lookup to the
next. Checking a URL and then letting the HTTP client resolve it again would leave a gap (DNS
rebinding). So the check happens where the connection is made:

- ``SafeTransport`` (an httpx transport) refuses any request that is not https, unless its origin
  (scheme, host, port) is on the local-only allow-list (the local stack's sandbox; always empty
  in AWS), and refuses credentials in the URL;
- its connection pool connects through ``GuardedNetworkBackend``, which resolves the host ONCE,
  refuses it unless every address is public (``url_guard.is_public_address``: no loopback,
  private, link-local/metadata, CGNAT, multicast, reserved, nor IPv6 forms of them), then
  connects to one of exactly those checked addresses. TLS still verifies the certificate for the
  hostname (SNI) and the Host header is the hostname: only the address lookup is pinned;
- redirects are never followed by the client. ``SafeFetcher`` follows them itself, re-checking
  each hop (every hop is a new request through the same transport), and caps the body while
  streaming (decoded bytes, so a compressed bomb counts at its real size) and the total time.

No proxy from the environment is used (``trust_env=False``): a proxy would do its own resolution.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Final

import httpcore
import httpx

from crosspost.services.url_guard import is_public_address

Resolver = Callable[[str, int], Awaitable[list[str]]]

DEFAULT_MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
DEFAULT_LIMITS: Final = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class UnsafeUrlError(httpx.TransportError):
    """crosspost refused to call a URL: not https, credentials in it, or a host that is (or
    resolves to) an address that is not public. A ``TransportError``: nothing was sent, so code
    that only knows httpx treats it as "could not reach" and never as a success.

    The message names neither the resolved address nor anything from the URL beyond its host."""


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _origin(scheme: str, host: str, port: int | None) -> tuple[str, str, int]:
    scheme = scheme.lower()
    return scheme, host.lower().strip("[]"), port or _DEFAULT_PORTS.get(scheme, 0)


def parse_origins(origins: Iterable[str]) -> frozenset[tuple[str, str, int]]:
    """``scheme://host[:port]`` strings → (scheme, host, port) with the default port filled in."""
    parsed = set()
    for origin in origins:
        url = httpx.URL(origin)
        if url.host:
            parsed.add(_origin(url.scheme, url.host, url.port))
    return frozenset(parsed)


def check_url(url: httpx.URL, allowed_origins: frozenset[tuple[str, str, int]]) -> None:
    """The shape rules every request obeys (the address rules are applied at connect)."""
    if not url.host:
        raise UnsafeUrlError("The URL has no host.")
    if url.userinfo:
        raise UnsafeUrlError("The URL carries credentials.")
    if _origin(url.scheme, url.host, url.port) in allowed_origins:
        return
    if url.scheme != "https":
        raise UnsafeUrlError(f"Only https URLs are allowed ({url.host}).")


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every address, connects to a checked one (see the module doc)."""

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        allowed_host_ports: frozenset[tuple[str, int]] = frozenset(),
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._resolver = resolver
        self._allowed = allowed_host_ports
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if (host.lower().strip("[]"), port) in self._allowed:  # the local stack's sandbox only
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            resolve = self._resolver or system_resolver  # looked up at call time (tests stub it)
            addresses = await asyncio.wait_for(resolve(host, port), timeout)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host} does not resolve") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} does not resolve")
        if not all(is_public_address(address) for address in addresses):
            raise UnsafeUrlError(f"{host} is not a public address.")
        failure: Exception | None = None
        for address in addresses:  # exactly the addresses just checked: no second lookup
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeUrlError("Unix sockets are not allowed.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class SafeTransport(httpx.AsyncHTTPTransport):
    """An httpx transport that only reaches public https origins (plus ``allowed_origins``)."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        allowed_origins: Iterable[str] = (),
        resolver: Resolver | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        context = ssl_context or httpx.create_ssl_context()
        super().__init__(verify=context, trust_env=False, limits=limits)
        self.allowed_origins = parse_origins(allowed_origins)
        self.backend = GuardedNetworkBackend(
            resolver=resolver,
            allowed_host_ports=frozenset((host, port) for _, host, port in self.allowed_origins),
            inner=network_backend,
        )
        # httpx builds its pool with the default network backend; this one connects through the
        # guard. (httpx is pinned; tests/unit/security/test_safe_http.py checks this still holds.)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=self.backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        check_url(request.url, self.allowed_origins)
        return await super().handle_async_request(request)


def safe_client(
    timeout_seconds: float,
    *,
    allowed_origins: Iterable[str] = (),
    ssl_context: ssl.SSLContext | None = None,
    resolver: Resolver | None = None,
    headers: dict[str, str] | None = None,
    network_backend: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """An ``AsyncClient`` over ``SafeTransport`` that never follows redirects by itself."""
    return httpx.AsyncClient(
        transport=SafeTransport(
            ssl_context=ssl_context,
            allowed_origins=allowed_origins,
            resolver=resolver,
            network_backend=network_backend,
        ),
        timeout=httpx.Timeout(timeout_seconds, connect=min(5.0, timeout_seconds)),
        follow_redirects=False,
        trust_env=False,
        headers=headers,
    )


# ---- fetching a URL someone gave us (media URLs) -----------------------------------------------


class FetchError(Exception):
    """Fetching a user-given URL failed. ``reason``: forbidden (not public / not https),
    too_large, timeout, unreachable, status (a non-2xx answer), redirects (too many)."""

    def __init__(self, reason: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    content_type: str | None
    content: bytes


class SafeFetcher:
    """GETs a user-given URL: each redirect hop re-checked, the body capped while it streams and
    the whole fetch (every hop, every byte) bounded in time."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_bytes: int,
        timeout_seconds: float,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
    ) -> None:
        transport = getattr(client, "_transport", None)
        if not isinstance(transport, SafeTransport):
            raise TypeError("SafeFetcher needs a client built by safe_client()")
        self.client = client
        self.transport = transport
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds
        self.max_redirects = max_redirects

    async def fetch(self, url: str) -> Fetched:
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._follow(url)
        except TimeoutError:
            raise FetchError("timeout", f"The URL did not answer within {self.timeout_seconds:g} s.") from None
        except UnsafeUrlError as exc:
            raise FetchError("forbidden", f"The URL is not a public https URL: {exc}") from None
        except httpx.TimeoutException:
            raise FetchError("timeout", "The URL did not answer in time.") from None
        except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise FetchError("unreachable", f"The URL could not be fetched ({type(exc).__name__}).") from None

    async def _follow(self, url: str) -> Fetched:
        current = httpx.URL(url)
        for _ in range(self.max_redirects + 1):
            check_url(current, self.transport.allowed_origins)
            response = await self.client.send(self.client.build_request("GET", current), stream=True)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = current.join(response.headers["location"])
                    continue
                if not response.is_success:
                    status = response.status_code
                    raise FetchError("status", f"The URL answered HTTP {status}.", status=status)
                return Fetched(
                    url=str(current),
                    status=response.status_code,
                    content_type=response.headers.get("content-type"),
                    content=await self._read_capped(response),
                )
            finally:
                await response.aclose()
        raise FetchError("redirects", f"The URL redirects more than {self.max_redirects} times.")

    async def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError("too_large", f"The file is larger than {self.max_bytes:,} bytes.")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self.max_bytes:
                raise FetchError("too_large", f"The file is larger than {self.max_bytes:,} bytes.")
        return bytes(body)
