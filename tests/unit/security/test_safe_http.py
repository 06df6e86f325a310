"""SSRF: the guarded transport and fetcher, against a stub resolver and a fake network.

No socket is opened: ``FakeNetwork`` stands in for httpcore's network backend (it records where
a connection goes, which hostname TLS verifies, and the bytes sent) and ``StubResolver`` plays
DNS, including a name that answers differently on each lookup (DNS rebinding).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx
import pytest

from crosspost.errors import ForbiddenUrlError
from crosspost.platforms import safe_http
from crosspost.platforms.safe_http import FetchError, SafeFetcher, SafeTransport, UnsafeUrlError, safe_client

PUBLIC = "93.184.216.34"
PUBLIC_2 = "2606:2800:220:1:248:1893:25c8:1946"


def ok(body: bytes = b"ok", headers: str = "") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s" % (
        len(body),
        headers.encode(),
        body,
    )


def redirect(location: str, status: int = 302) -> bytes:
    return f"HTTP/1.1 {status} Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()


@dataclass
class Connection:
    address: str
    port: int
    sni: str | None = None
    sent: bytes = b""


@dataclass
class FakeNetwork(httpcore.AsyncNetworkBackend):
    """Answers by (Host header, path); ``slow`` paths never finish their body."""

    routes: dict[tuple[str, str], bytes] = field(default_factory=dict)
    slow: set[str] = field(default_factory=set)
    connections: list[Connection] = field(default_factory=list)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        connection = Connection(host, port)
        self.connections.append(connection)
        return FakeStream(self, connection)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise AssertionError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeStream(httpcore.AsyncNetworkStream):
    def __init__(self, network: FakeNetwork, connection: Connection) -> None:
        self.network = network
        self.connection = connection
        self.pending: bytes | None = None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self.connection.sent += buffer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        if self.pending is None:
            head = self.connection.sent.split(b"\r\n\r\n")[0].decode()
            path = head.split(" ")[1]
            host = next(
                line.split(":", 1)[1].strip() for line in head.split("\r\n") if line.lower().startswith("host:")
            )
            if path in self.network.slow:
                self.pending = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nab"
            else:
                self.pending = self.network.routes.get(
                    (host, path), b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                )
        if not self.pending:
            await asyncio.sleep(30)  # a slow server: the caller's timeout must end this
            return b""
        chunk, self.pending = self.pending[:max_bytes], self.pending[max_bytes:]
        return chunk

    async def aclose(self) -> None:
        pass

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        self.connection.sni = server_hostname
        return self

    def get_extra_info(self, info: str) -> Any:
        return None


class StubResolver:
    """DNS: a name → a list of answers, one per lookup (the last one repeats)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise OSError("Name or service not known")
        return queue.pop(0) if len(queue) > 1 else queue[0]


def client(network: FakeNetwork, resolver: StubResolver, allowed: tuple[str, ...] = ()) -> httpx.AsyncClient:
    return safe_client(5, allowed_origins=allowed, resolver=resolver, network_backend=network)


def get(http: httpx.AsyncClient, url: str) -> httpx.Response:
    async def run() -> httpx.Response:
        async with http:
            return await http.get(url)

    return asyncio.run(run())


# ---- connecting ----------------------------------------------------------------------------------


def test_given_a_public_host_then_it_connects_to_the_checked_address_with_sni_and_host_kept() -> None:
    network = FakeNetwork(routes={("pds.example.com", "/xrpc/ping"): ok()})
    resolver = StubResolver({"pds.example.com": [[PUBLIC]]})

    response = get(client(network, resolver), "https://pds.example.com/xrpc/ping")

    assert response.status_code == 200
    [connection] = network.connections
    assert (connection.address, connection.port) == (PUBLIC, 443)  # an IP: the inner backend looks nothing up
    assert connection.sni == "pds.example.com"  # TLS verifies the hostname, not the IP
    assert b"\r\nHost: pds.example.com\r\n" in connection.sent
    assert resolver.lookups == ["pds.example.com"]


def test_given_dns_rebinding_then_each_connection_uses_the_answer_it_checked() -> None:
    """First lookup public, second private: the check and the connect share one lookup, so the
    second connection is refused instead of reaching 10.0.0.7."""
    network = FakeNetwork(routes={("rebind.example.com", "/a"): ok(), ("rebind.example.com", "/b"): ok()})
    resolver = StubResolver({"rebind.example.com": [[PUBLIC], ["10.0.0.7"]]})
    http = client(network, resolver)

    async def run() -> tuple[int, BaseException | None]:
        async with http:
            first = await http.get("https://rebind.example.com/a")  # Connection: close → a new one next
            try:
                await http.get("https://rebind.example.com/b")
            except UnsafeUrlError as exc:
                return first.status_code, exc
            return first.status_code, None

    status, refused = asyncio.run(run())
    assert status == 200
    assert isinstance(refused, UnsafeUrlError)
    assert [c.address for c in network.connections] == [PUBLIC]
    assert resolver.lookups == ["rebind.example.com", "rebind.example.com"]
    assert "10.0.0.7" not in str(refused)  # the refusal does not reveal internal addresses


def test_given_one_private_address_among_public_ones_then_nothing_is_connected() -> None:
    network = FakeNetwork(routes={("mixed.example.com", "/"): ok()})
    resolver = StubResolver({"mixed.example.com": [[PUBLIC, PUBLIC_2, "127.0.0.1"]]})
    with pytest.raises(UnsafeUrlError):
        get(client(network, resolver), "https://mixed.example.com/")
    assert network.connections == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",  # EC2/ECS metadata
        "169.254.170.2",  # ECS task credentials
        "100.64.0.1",  # CGNAT
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "::1",
        "::",
        "fe80::1%eth0",
        "fd00:ec2::254",  # EC2 metadata over IPv6
        "fc00::1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "::127.0.0.1",  # IPv4-compatible
        "ff02::1",
    ],
)
def test_given_a_host_resolving_to_a_non_public_address_then_it_is_refused(address: str) -> None:
    network = FakeNetwork()
    with pytest.raises(UnsafeUrlError):
        get(client(network, StubResolver({"evil.example.com": [[address]]})), "https://evil.example.com/")
    assert network.connections == []


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://2130706433/",  # 127.0.0.1 as one decimal number
        "https://0x7f000001/",
        "https://017700000001/",  # octal
        "https://127.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:a9fe:a9fe]/",
        "https://localhost/",
    ],
)
def test_given_a_literal_or_local_name_then_the_real_resolver_refuses_it(url: str) -> None:
    """The system resolver (no DNS query for these) decides what the numeric forms mean."""
    network = FakeNetwork()
    with pytest.raises(UnsafeUrlError):
        get(safe_client(5, network_backend=network), url)
    assert network.connections == []


@pytest.mark.parametrize(
    "url",
    ["http://pds.example.com/", "ftp://pds.example.com/", "https://user:pw@pds.example.com/"],
)
def test_given_plain_http_or_credentials_then_nothing_is_resolved(url: str) -> None:
    network, resolver = FakeNetwork(), StubResolver({"pds.example.com": [[PUBLIC]]})
    with pytest.raises(UnsafeUrlError):
        get(client(network, resolver), url)
    assert resolver.lookups == [] and network.connections == []


def test_given_the_local_allow_list_then_only_that_exact_origin_reaches_loopback() -> None:
    network = FakeNetwork(routes={("127.0.0.1:4567", "/bluesky/x"): ok()})
    resolver = StubResolver({"127.0.0.1": [["127.0.0.1"]]})
    allowed = ("http://127.0.0.1:4567",)

    assert get(client(network, resolver, allowed), "http://127.0.0.1:4567/bluesky/x").status_code == 200
    assert resolver.lookups == []  # the allow-listed origin is connected as given
    for other in ("http://127.0.0.1:4568/", "https://127.0.0.1:4568/", "http://localhost:4567/"):
        with pytest.raises(UnsafeUrlError):
            get(client(network, resolver, allowed), other)
    assert len(network.connections) == 1


def test_given_no_allow_list_in_aws_then_the_sandbox_origin_is_refused_too() -> None:
    network = FakeNetwork(routes={("127.0.0.1:4567", "/"): ok()})
    with pytest.raises(UnsafeUrlError):
        get(client(network, StubResolver({})), "http://127.0.0.1:4567/")


def test_the_pool_connects_through_the_guard() -> None:
    """httpx is pinned; SafeTransport swaps the pool's network backend. If an httpx upgrade
    changes how its transport holds the pool, this fails before the guard silently stops."""
    transport = SafeTransport()
    assert transport._pool._network_backend is transport.backend  # type: ignore[attr-defined]


def test_platform_clients_are_guarded_with_the_settings_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from crosspost.platforms.http import new_client

    http = new_client(5, allowed_origins=("http://127.0.0.1:9",))
    transport = http._transport
    assert isinstance(transport, SafeTransport)
    assert transport.allowed_origins == frozenset({("http", "127.0.0.1", 9)})
    assert http.follow_redirects is False


# ---- fetching user-given URLs (media) ------------------------------------------------------------


def fetch(network: FakeNetwork, resolver: StubResolver, url: str, **kw: Any) -> Any:
    async def run() -> Any:
        async with client(network, resolver) as http:
            fetcher = SafeFetcher(
                http,
                max_bytes=kw.pop("max_bytes", 1000),
                timeout_seconds=kw.pop("timeout_seconds", 2.0),
                **kw,
            )
            return await fetcher.fetch(url)

    return asyncio.run(run())


def test_given_redirects_to_public_hosts_then_each_hop_is_checked_and_followed() -> None:
    network = FakeNetwork(
        routes={
            ("a.example.com", "/img"): redirect("https://b.example.com/img.png"),
            ("b.example.com", "/img.png"): redirect("/final.png", 301),
            ("b.example.com", "/final.png"): ok(b"PNGDATA", "Content-Type: image/png\r\n"),
        }
    )
    resolver = StubResolver({"a.example.com": [[PUBLIC]], "b.example.com": [[PUBLIC_2]]})
    fetched = fetch(network, resolver, "https://a.example.com/img")
    assert (fetched.content, fetched.content_type, fetched.url) == (
        b"PNGDATA",
        "image/png",
        "https://b.example.com/final.png",
    )
    assert resolver.lookups == ["a.example.com", "b.example.com", "b.example.com"]


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",  # scheme downgrade to the metadata service
        "https://internal.example.com/admin",  # resolves to 10.0.0.5
        "https://127.0.0.1/",
        "https://[::1]:8443/",
        "https://user:pw@b.example.com/",
        "file:///etc/passwd",
    ],
)
def test_given_a_redirect_to_the_inside_then_the_fetch_is_refused(location: str) -> None:
    network = FakeNetwork(routes={("a.example.com", "/img"): redirect(location)})
    resolver = StubResolver(
        {
            "a.example.com": [[PUBLIC]],
            "internal.example.com": [["10.0.0.5"]],
            "127.0.0.1": [["127.0.0.1"]],  # what the system resolver answers for literals
            "::1": [["::1"]],
        }
    )
    with pytest.raises(FetchError) as caught:
        fetch(network, resolver, "https://a.example.com/img")
    assert caught.value.reason == "forbidden"
    assert [c.address for c in network.connections] == [PUBLIC]


def test_given_a_redirect_loop_then_it_stops_after_the_limit() -> None:
    network = FakeNetwork(routes={("a.example.com", "/loop"): redirect("/loop")})
    with pytest.raises(FetchError) as caught:
        fetch(network, StubResolver({"a.example.com": [[PUBLIC]]}), "https://a.example.com/loop", max_redirects=3)
    assert caught.value.reason == "redirects"
    assert len(network.connections) == 4


def test_given_a_declared_size_over_the_cap_then_nothing_is_read() -> None:
    network = FakeNetwork(routes={("a.example.com", "/big"): ok(b"x" * 2000)})
    with pytest.raises(FetchError) as caught:
        fetch(network, StubResolver({"a.example.com": [[PUBLIC]]}), "https://a.example.com/big", max_bytes=1000)
    assert caught.value.reason == "too_large"


def test_given_an_undeclared_body_over_the_cap_then_streaming_stops_at_the_cap() -> None:
    chunk = b"x" * 400
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(10)) + b"0\r\n\r\n"
    response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body
    network = FakeNetwork(routes={("a.example.com", "/stream"): response})
    with pytest.raises(FetchError) as caught:
        fetch(network, StubResolver({"a.example.com": [[PUBLIC]]}), "https://a.example.com/stream", max_bytes=1000)
    assert caught.value.reason == "too_large"


def test_given_a_server_that_trickles_then_the_total_time_is_capped() -> None:
    network = FakeNetwork(slow={"/slow"})
    with pytest.raises(FetchError) as caught:
        fetch(network, StubResolver({"a.example.com": [[PUBLIC]]}), "https://a.example.com/slow", timeout_seconds=0.3)
    assert caught.value.reason == "timeout"


def test_given_an_error_status_then_the_fetch_fails_with_it() -> None:
    network = FakeNetwork()
    with pytest.raises(FetchError) as caught:
        fetch(network, StubResolver({"a.example.com": [[PUBLIC]]}), "https://a.example.com/missing")
    assert (caught.value.reason, caught.value.status) == ("status", 404)


def test_the_fetcher_only_accepts_guarded_clients() -> None:
    with pytest.raises(TypeError):
        SafeFetcher(httpx.AsyncClient(), max_bytes=1, timeout_seconds=1)


# ---- Bluesky: the user-given service goes through the guard --------------------------------------


def test_given_a_bluesky_service_that_resolves_inside_then_login_is_refused_as_forbidden() -> None:
    from crosspost.platforms.bluesky import BlueskyAuth

    network = FakeNetwork()
    resolver = StubResolver({"pds.attacker.example": [["169.254.169.254"]]})

    async def run() -> None:
        async with client(network, resolver) as http:
            await BlueskyAuth(http).login(
                {"handle": "a.example", "appPassword": "abcd-efgh-ijkl-mnop", "service": "https://pds.attacker.example"}
            )

    with pytest.raises(ForbiddenUrlError) as caught:
        asyncio.run(run())
    assert (caught.value.code, caught.value.rule, caught.value.http_status) == (
        "validation_failed",
        "bluesky.service.forbidden",
        400,
    )
    assert network.connections == []


def test_system_resolver_is_looked_up_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    async def fake(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["10.1.1.1"]

    monkeypatch.setattr(safe_http, "system_resolver", fake)
    with pytest.raises(UnsafeUrlError):
        get(safe_client(5, network_backend=FakeNetwork()), "https://anything.example/")
    assert calls == ["anything.example"]
