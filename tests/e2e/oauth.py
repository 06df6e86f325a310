"""OAuth connect flows over HTTP against the running local stack, shared by every OAuth platform's
end-to-end tests.

The sandbox's authorize page consents at once: it answers 302 to the ``redirect_uri`` with
``code`` and ``state`` (API.md "The local stack"), so a test plays the browser by reading that
Location instead of following it.

    response = connect(api, "twitter")                       # start, authorize, complete → 201
    response = connect(api, "twitter", via="callback")       # ... or the browser callback → 200 HTML
    code, state = authorize(sandbox, start["authorizationUrl"], user="bob")
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx


def authorization_location(http: httpx.Client, authorization_url: str, *, user: str | None = None) -> str:
    """Where the sandbox's consent page sends the browser (the redirect_uri with code and state).
    ``user`` picks the sandbox fixture user who consents (``sandbox_user``)."""
    url = authorization_url
    if user is not None:
        url += ("&" if urlsplit(url).query else "?") + urlencode({"sandbox_user": user})
    response = http.get(url, follow_redirects=False)
    assert response.status_code in (302, 303), f"authorize answered {response.status_code}: {response.text[:300]}"
    return str(response.headers["location"])


def authorize(http: httpx.Client, authorization_url: str, *, user: str | None = None) -> tuple[str, str]:
    """Consent on the sandbox; ``(code, state)`` from the redirect."""
    query = _query(authorization_location(http, authorization_url, user=user))
    assert "error" not in query, f"the sandbox refused to authorize: {query}"
    return query["code"], query["state"]


def start(
    api: httpx.Client,
    platform: str,
    *,
    profile_id: str | None = None,
    redirect_uri: str | None = None,
    extended_scopes: bool = False,
) -> httpx.Response:
    """``POST /v1/accounts/connect/{platform}``."""
    body: dict[str, Any] = {}
    if profile_id is not None:
        body["profileId"] = profile_id
    if redirect_uri is not None:
        body["redirectUri"] = redirect_uri
    if extended_scopes:
        body["extendedScopes"] = True
    return api.post(f"/v1/accounts/connect/{platform}", json=body)


def connect(
    api: httpx.Client,
    platform: str,
    *,
    profile_id: str | None = None,
    user: str | None = None,
    redirect_uri: str | None = None,
    via: Literal["complete", "callback"] = "complete",
    extended_scopes: bool = False,
) -> httpx.Response:
    """A whole connect flow: start, consent on the sandbox, then finish with the complete call
    (``via="complete"``: the Account response) or with the browser callback (``via="callback"``:
    the callback's HTML page, or its 302 to ``redirect_uri`` with ``accountId``; the callback is
    called without an API key, as a browser would). A start that does not answer 200 is returned
    as it is."""
    started = start(api, platform, profile_id=profile_id, redirect_uri=redirect_uri, extended_scopes=extended_scopes)
    if started.status_code != 200:
        return started
    with httpx.Client(timeout=30, trust_env=False) as browser:
        location = authorization_location(browser, started.json()["authorizationUrl"], user=user)
        query = _query(location)
        if via == "callback":
            # Without redirectUri the Location is the API's own callback already; with one it is
            # the app's page, which hands the same query to the callback.
            callback = f"{api.base_url}".rstrip("/") + f"/v1/oauth/{platform}/callback?{urlencode(query)}"
            return browser.get(callback, follow_redirects=False)
    assert "error" not in query, f"the sandbox refused to authorize: {query}"
    body: dict[str, Any] = {"code": query["code"], "state": query["state"]}
    if profile_id is not None:
        body["profileId"] = profile_id
    return api.post(f"/v1/accounts/connect/{platform}/complete", json=body)


def redirect_query(response: httpx.Response) -> dict[str, str]:
    """The query of a 302's Location (the callback's redirect to the app: accountId, error, ...)."""
    assert response.status_code == 302, f"expected a redirect, got {response.status_code}: {response.text[:300]}"
    return _query(str(response.headers["location"]))


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items() if values}
