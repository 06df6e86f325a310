"""What the REST platforms (Pinterest, X, LinkedIn) do alike on the wire: one request with its
transport failure sorted by whether it was sent, the OAuth token grant with Basic client auth,
the token answer's common fields, ``Retry-After``, and what a 5xx means for a call that creates.

Each platform's own error shapes, header names, rules and messages stay in its ``*_api`` module
and come in as class data (``RestApi``) or arguments.
"""

from __future__ import annotations

import base64
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final

from crosspost.clock import now
from crosspost.errors import AuthExpiredError, OutcomeUnknownError, PlatformError, PlatformUnavailableError
from crosspost.lazy_imports import lazy_module
from crosspost.platforms.http import json_object

if TYPE_CHECKING:
    import httpx

    from crosspost.platforms import safe_http
    from crosspost.platforms.base import PlatformConfig, TokenSet
else:  # loaded on first use: preflight reads the platform modules without any HTTP (cold start)
    httpx = lazy_module("httpx")
    safe_http = lazy_module("crosspost.platforms.safe_http")

# A token endpoint refusing the grant itself (RFC 6749 §5.2 says 400; platforms also answer 401
# and 403): the code or the refresh token is no good, and only the user can get a new one.
GRANT_REFUSED: Final = frozenset({400, 401, 403})


def retry_after(response: httpx.Response, *, current: float | None = None) -> float | None:
    """``Retry-After`` in seconds, or as an HTTP date less ``current`` (unix seconds; default
    now), never below 0; None when absent or unreadable."""
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, moment - (time.time() if current is None else current))


def server_failure(
    status: int, *, platform: str, label: str, creates: bool, platform_response: dict[str, Any], made: str = "post"
) -> PlatformError | None:
    """What a 5xx or a 408 means; None for any other status. A 503 is the platform refusing before
    it did anything: nothing was made, whatever the call. Any other 5xx, and a 408, may come after
    the work was done: on a call that creates ``made`` (e.g. "pin") the outcome is unknown,
    otherwise it is "try again"."""
    if status < 500 and status != 408:
        return None
    common: dict[str, Any] = {"platform": platform, "platform_response": platform_response}
    if creates and status != 503:
        return OutcomeUnknownError(
            f"{label} failed while creating the {made} (HTTP {status}); it may or may not be live.",
            rule=f"{platform}.outcome_unknown",
            **common,
        )
    return PlatformUnavailableError(
        f"{label} is unavailable (HTTP {status}); crosspost tries again later.",
        rule=f"{platform}.unavailable",
        **common,
    )


# ---- token answers -----------------------------------------------------------------------------


def seconds(value: Any) -> float | None:
    """A token answer's duration or timestamp field: a number ≥ 0, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


@dataclass(frozen=True)
class TokenAnswer:
    """The fields every OAuth token answer has (RFC 6749 §5.1); what a platform adds (refresh
    token lifetimes, scopes) its ``token_set`` reads from the answer itself."""

    access_token: str
    access_expires_at: datetime | None
    refresh_token: str | None  # None when this answer carries none (a refresh may keep the old one)

    def refresh_after(self, issued_at: datetime, ahead: timedelta) -> datetime | None:
        """When the refresher should renew a refreshable token: ``ahead`` of its expiry, or half
        its lifetime before when that is shorter (tests, odd apps)."""
        if self.access_expires_at is None:
            return None
        return self.access_expires_at - min(ahead, (self.access_expires_at - issued_at) / 2)


def token_answer(data: dict[str, Any], *, issued_at: datetime, platform: str, label: str) -> TokenAnswer:
    """The common fields of a token answer; one without an access token is the platform's fault."""
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise PlatformUnavailableError(
            f"{label} answered the token request without an access token.",
            platform=platform,
            rule=f"{platform}.unavailable",
        )
    expires_in = seconds(data.get("expires_in"))
    refresh = data.get("refresh_token")
    return TokenAnswer(
        access_token=access,
        access_expires_at=issued_at + timedelta(seconds=expires_in) if expires_in is not None else None,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
    )


# ---- transport ---------------------------------------------------------------------------------


class RestApi:
    """One REST platform's client, subclassed per platform with its names as class data: one
    request with its transport failure sorted, and the JSON object of an answer."""

    platform: ClassVar[str]  # the rules' prefix, e.g. "pinterest"
    label: ClassVar[str]  # the messages' name, e.g. "Pinterest"
    api_host: ClassVar[str]  # the real API's origin; ``PlatformConfig.host`` replaces it in the local stack
    api_root: ClassVar[str] = ""  # the API's path prefix, e.g. "/v5"
    # What to say when a call that creates something went out and no answer came back.
    unanswered_create: ClassVar[str]

    def __init__(self, http: httpx.AsyncClient, config: PlatformConfig) -> None:
        self.http = http
        self.config = config
        self.base = config.host(self.api_host) + self.api_root

    async def send(self, method: str, url: str, *, creates: bool, **kwargs: Any) -> httpx.Response:
        """One request, whatever its status; a transport failure raised as a ``PlatformError`` by
        whether the request went out. Not sent (no connection, no pool slot, or the SSRF guard's
        ``safe_http.UnsafeUrlError`` for the configured host): unavailable. Sent, no answer (a read
        timeout, a dropped connection): outcome unknown when the call ``creates``, else unavailable."""
        try:
            return await self.http.request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, safe_http.UnsafeUrlError) as exc:
            raise PlatformUnavailableError(
                f"{self.label} could not be reached; crosspost tries again later.",
                platform=self.platform,
                rule=f"{self.platform}.unreachable",
            ) from exc
        except httpx.TransportError as exc:
            if creates:
                raise OutcomeUnknownError(
                    self.unanswered_create, platform=self.platform, rule=f"{self.platform}.timeout"
                ) from exc
            raise PlatformUnavailableError(
                f"{self.label} did not answer in time; crosspost tries again later.",
                platform=self.platform,
                rule=f"{self.platform}.timeout",
            ) from exc

    def json(self, response: httpx.Response, *, creates: bool) -> dict[str, Any]:
        return json_object(response, platform=self.platform, label=self.label, creates=creates)


class OAuthJsonApi(RestApi, ABC):
    """A JSON API behind OAuth 2 (Pinterest, X): Bearer calls that answer JSON objects, and a token
    endpoint that takes the app's id and secret as Basic auth (RFC 6749 §2.3.1). How the
    platform's errors and token answers read comes in through ``classify``, ``error_body`` and
    ``token_set``."""

    grant_path: ClassVar[str]  # the token endpoint (where grants go), under ``base``
    client_id_in_form: ClassVar[bool] = False  # X wants ``client_id`` in the form too
    empty_answers: ClassVar[bool] = False  # a 2xx may come without a body (``call`` then returns {})

    @abstractmethod
    def classify(self, response: httpx.Response, *, creates: bool, not_found_rule: str | None = None) -> PlatformError:
        """The platform's taxonomy for a non-2xx answer (``not_found_rule``: see ``call``)."""

    @abstractmethod
    def error_body(self, response: httpx.Response) -> dict[str, Any]:
        """The fields of the platform's error body that say what went wrong (never a request echo)."""

    @abstractmethod
    def token_set(self, data: dict[str, Any], *, issued_at: datetime, previous: TokenSet | None) -> TokenSet:
        """The ``TokenSet`` of a token answer (``previous``: the tokens a refresh renews)."""

    def grant_error_text(self, body: dict[str, Any]) -> str | None:
        """What a token endpoint's refusal says: OAuth's ``error_description`` or ``error``
        (RFC 6749 §5.2), unless the platform answers in its own shape."""
        said = body.get("error_description") or body.get("error")
        return said if isinstance(said, str) else None

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        creates: bool = False,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        not_found_rule: str | None = None,
    ) -> dict[str, Any]:
        """``{base}{path}`` with a Bearer token: the JSON object of a 2xx answer, else the
        platform's ``classify``. ``not_found_rule``: what a 404 means for this call, where the
        platform's 404 names the thing the call refers to (Pinterest's board, its media)."""
        response = await self.send(
            method,
            self.base + path,
            creates=creates,
            json=body,
            params=params,
            data=data,
            files=files,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        if not response.is_success:
            raise self.classify(response, creates=creates, not_found_rule=not_found_rule)
        if self.empty_answers and not response.content:
            return {}
        return self.json(response, creates=creates)

    async def exchange_code(
        self, code: str, redirect_uri: str, *, rule: str, remediation: str, **extra: str
    ) -> TokenSet:
        """The tokens for an authorization code (RFC 6749 §4.1.3); ``extra``: the platform's own
        form fields (a PKCE verifier, Pinterest's ``continuous_refresh``)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, **extra}
        return await self.grant(form, previous=None, rule=rule, remediation=remediation)

    async def refresh(self, tokens: TokenSet, *, missing: str, rule: str, remediation: str) -> TokenSet:
        """``tokens`` renewed with their refresh token (RFC 6749 §6). Without one (``missing``
        says so) or when the platform refuses it: ``AuthExpiredError`` with ``rule``, the user
        has to connect again."""
        if not tokens.refresh_token:
            raise AuthExpiredError(missing, platform=self.platform, rule=rule, remediation=remediation)
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        return await self.grant(form, previous=tokens, rule=rule, remediation=remediation)

    async def grant(self, form: dict[str, str], *, previous: TokenSet | None, rule: str, remediation: str) -> TokenSet:
        """POST the token endpoint as a confidential client. A refused grant (400/401/403) is
        ``AuthExpiredError`` with ``rule`` (401 at connect); any other failure is classified like
        every call. Only the platform's parsed error fields reach the error: never the secret, the
        code or a token."""
        app = self.config.app()
        if self.client_id_in_form:
            form = {**form, "client_id": app.client_id}
        basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        issued_at = now()
        response = await self.send("POST", self.base + self.grant_path, creates=False, data=form, headers=headers)
        if response.status_code in GRANT_REFUSED:
            body = self.error_body(response)
            said = self.grant_error_text(body) or f"HTTP {response.status_code}"
            raise AuthExpiredError(
                f"{self.label} refused the grant ({said}).",
                platform=self.platform,
                rule=rule,
                remediation=remediation,
                platform_response=body,
                http_status=401,
            )
        if not response.is_success:
            raise self.classify(response, creates=False)
        return self.token_set(self.json(response, creates=False), issued_at=issued_at, previous=previous)
