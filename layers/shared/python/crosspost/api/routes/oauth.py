"""GET /v1/oauth/{platform}/callback: where the platform sends the user's browser after consent.

No API key: the state names the workspace (API.md "OAuth callback for browsers"). The answer is
for a person, never JSON: a small HTML page saying what happened, or, when the flow was started
with a ``redirectUri``, a 302 back to the app with ``accountId`` (or ``error`` and ``rule``).
Every domain error becomes such a page or redirect, never a 500.
"""

from __future__ import annotations

import html
from typing import Annotated, Final
from urllib.parse import urlencode, urlsplit, urlunsplit

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from crosspost.api.services import oauth_service
from crosspost.errors import CrosspostError, NotFoundError, ValidationFailedError
from crosspost.platforms.registry import PLATFORMS
from crosspost.services.oauth import CallbackOutcome, state_invalid

router = Router()

# What the page may do: nothing but show itself. The code in the URL never leaks to a link's
# target (no-referrer), and the page is never cached (the URL holds a one-time code).
PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
# The largest state ``start`` issues is 43 characters; DynamoDB keys stop at 2 KB.
_MAX_STATE = 256
_MAX_CODE = 4096

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title>
<style>body{{font:16px system-ui,sans-serif;max-width:34em;margin:4em auto;padding:0 1em}}code{{color:#555}}</style>
</head><body><h1>{title}</h1>{body}</body></html>"""


def _page(status: int, title: str, body: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.TEXT_HTML,
        body=_PAGE.format(title=html.escape(title), body=body),
        headers=dict(PAGE_HEADERS),
    )


def _redirect(to: str, params: dict[str, str]) -> Response[str]:
    parts = urlsplit(to)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return Response(
        status_code=302,
        body="",
        headers={**PAGE_HEADERS, "Location": urlunsplit(parts._replace(query=query))},
    )


def _success(platform: str, outcome: CallbackOutcome) -> Response[str]:
    assert outcome.result is not None
    accounts = [account for account, _ in outcome.result.accounts]
    if outcome.return_uri:
        return _redirect(
            outcome.return_uri, {"accountId": accounts[0].id, "platform": platform, "state": outcome.state or ""}
        )
    items = "".join(
        f'<li>{html.escape(a.platform)}: <strong>{html.escape(a.username)}</strong> <code data-account-id="'
        f'{html.escape(a.id)}">{html.escape(a.id)}</code></li>'
        for a in accounts
    )
    skipped = len(outcome.result.skipped)
    note = f"<p>{skipped} account(s) already connected to another profile were left alone.</p>" if skipped else ""
    created = any(new for _, new in outcome.result.accounts)
    title = ("Account connected" if len(accounts) == 1 else "Accounts connected") if created else "Account reconnected"
    return _page(200, title, f"<ul>{items}</ul>{note}<p>You can close this window.</p>")


def _failure(error: CrosspostError, outcome: CallbackOutcome) -> Response[str]:
    if outcome.return_uri:
        params = {"error": error.code, "rule": error.rule or "", "state": outcome.state or ""}
        return _redirect(outcome.return_uri, {k: v for k, v in params.items() if v})
    rule = f" <code>{html.escape(error.rule)}</code>" if error.rule else ""
    remediation = f"<p>{html.escape(error.remediation)}</p>" if error.remediation else ""
    # A platform that rate-limited the exchange: to the person it is "try again later" (503); 429
    # belongs to crosspost's own per-key limit, which this keyless route never applies.
    status = 503 if error.http_status == 429 else error.http_status
    return _page(
        status,
        "Could not connect the account",
        f'<p>{html.escape(error.message)}</p><p>Error: <code id="error">{html.escape(error.code)}</code>{rule}</p>'
        f"{remediation}",
    )


@router.get(
    "/<platform>/callback",
    summary="OAuth callback for browsers (no API key)",
    description=(
        "Finishes a connect flow like the complete call; `state` identifies the workspace. Answers a "
        "small HTML page (200 connected, or the error's status with its code), or, "
        "when the flow was started with `redirectUri`, a 302 there with `accountId` (or `error` and `rule`)."
    ),
)
def oauth_callback(platform: Annotated[str, Path()]) -> Response[str]:
    # Read by hand, not validated by the resolver: whatever a browser brings (a repeated or odd
    # parameter) must end in an HTML page, never in the JSON envelope. Documented in docs.py.
    event = router.current_event
    code, state, error = (event.get_query_string_value(name) for name in ("code", "state", "error"))
    if platform not in PLATFORMS:
        unknown = NotFoundError("Unknown platform.", rule="platform.unsupported", field="platform")
        outcome = CallbackOutcome(error=unknown)
    elif state is not None and len(state) > _MAX_STATE:
        outcome = CallbackOutcome(error=state_invalid())
    elif code is not None and len(code) > _MAX_CODE:
        outcome = CallbackOutcome(error=ValidationFailedError("The code is too long.", rule="code", field="code"))
    else:
        outcome = oauth_service().callback(platform, code=code, state=state, error=error)
    if outcome.error is not None:
        return _failure(outcome.error, outcome)
    return _success(platform, outcome)
