"""Simulated Bluesky PDS at ``/bluesky/xrpc/<nsid>`` (PLATFORMS.md §1 and §8).

Statuses, error names and messages are the ones the real PDS answers (observed against
``@atproto/pds`` where PLATFORMS.md §1.7 says so). What is simplified, on purpose:

- record CIDs hash the record's canonical JSON (sorted keys) instead of its DAG-CBOR; they are
  real CIDv1 strings (``bafyrei…``; blobs ``bafkrei…``), deterministic per content;
- no MST, no firehose, no rate limiter (429 comes from faults), no AppView (like a bare PDS);
- only ``app.bsky.feed.post`` and ``app.bsky.actor.profile`` are validated, like known
  lexicons; other collections behave as unknown lexicons;
- access JWTs carry a ``jti`` so that ``revoke-sessions`` can kill them (the real ones are
  stateless until they expire).

Seeded account (see README.md): ``SEED_HANDLE`` / ``SEED_APP_PASSWORD`` / ``SEED_DID``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from local.sandbox.bluesky_lexicon import (
    POST,
    PROFILE,
    blobs_in,
    validate_post,
    validate_profile,
)
from local.sandbox.core import Fault, SandboxPlatform, SandboxRequest, SandboxResponse

SEED_HANDLE: Final = "alice.sandbox.test"
SEED_APP_PASSWORD: Final = "sand-box1-pass-word"  # noqa: S105 (a published test fixture)
SEED_DID: Final = "did:plc:sandboxalice234567abcdef"
SEED_EMAIL: Final = "alice@sandbox.test"
SEED_DISPLAY_NAME: Final = "Alice (sandbox)"
# What the local stack writes to sandboxAccounts.bluesky in .crosspost/local.json.
SEED_ACCOUNT: Final = {"handle": SEED_HANDLE, "appPassword": SEED_APP_PASSWORD}

ACCESS_TTL_SECONDS: Final = 2 * 3600  # 120 min, as the PDS
REFRESH_TTL_SECONDS: Final = 90 * 24 * 3600
REFRESH_GRACE_SECONDS: Final = 2 * 3600  # a rotated refresh token still works this long
BLOB_UPLOAD_LIMIT: Final = 5 * 1024 * 1024  # PDS_BLOB_UPLOAD_LIMIT default
APPLY_WRITES_MAX: Final = 200

PUBLISHING_CALLS: Final = frozenset(
    {
        "com.atproto.repo.createRecord",
        "com.atproto.repo.putRecord",
        "com.atproto.repo.applyWrites",
        "com.atproto.repo.uploadBlob",
    }
)

_TID_CHARS: Final = "234567abcdefghijklmnopqrstuvwxyz"
_TID: Final = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_RKEY: Final = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
_NSID: Final = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,62})?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})?)+\.[a-zA-Z]{1,63}$")
_HANDLE: Final = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)


class XrpcError(Exception):
    def __init__(self, status: int, error: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers or {}

    def response(self) -> SandboxResponse:
        return SandboxResponse.json(self.status, {"error": self.error, "message": self.message}, self.headers)


def _invalid(message: str, error: str = "InvalidRequest") -> XrpcError:
    return XrpcError(400, error, message)


# ---- encodings -----------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _cid(codec: int, data: bytes) -> str:
    """CIDv1, sha2-256, base32 multibase: dag-cbor (0x71) → "bafyrei…", raw (0x55) → "bafkrei…"."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode("ascii").lower().rstrip("=")


def record_cid(record: dict[str, Any]) -> str:
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _cid(0x71, canonical.encode("utf-8"))


def blob_cid(data: bytes) -> str:
    return _cid(0x55, data)


def _tid(micros: int, clock_id: int) -> str:
    value = (micros << 10) | clock_id
    return "".join(_TID_CHARS[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _sniff_mime(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":  # ISO media: the major brand tells QuickTime and audio apart (file-type)
        return {b"qt  ": "video/quicktime", b"M4A ": "audio/x-m4a"}.get(data[8:12], "video/mp4")
    return None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---- state ---------------------------------------------------------------------------------------


@dataclass
class Account:
    did: str
    handle: str
    app_password: str
    email: str
    display_name: str | None = None


@dataclass
class RefreshSession:
    did: str
    expires_at: float
    revoked: bool = False
    rotated_at: float | None = None


@dataclass(frozen=True)
class Blob:
    mime: str
    size: int


@dataclass(frozen=True)
class _Prepared:
    collection: str
    rkey: str
    record: dict[str, Any]
    cid: str
    validation_status: str | None


# ---- the platform --------------------------------------------------------------------------------


class BlueskySandbox(SandboxPlatform):
    name = "bluesky"

    def __init__(self, *, access_ttl_seconds: float = ACCESS_TTL_SECONDS) -> None:
        super().__init__()
        self._default_access_ttl = access_ttl_seconds
        self._secret = secrets.token_bytes(32)
        self._last_micros = 0
        self.reset()

    # ---- fixtures ------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.access_ttl = self._default_access_ttl
            self.accounts: dict[str, Account] = {}
            self.live_access: dict[str, str] = {}  # jti -> did
            self.revoked_access: set[str] = set()
            self.refresh_sessions: dict[str, RefreshSession] = {}
            self.blobs: dict[tuple[str, str], Blob] = {}
            self.permanent_blobs: set[tuple[str, str]] = set()  # referenced by a stored record
            self.revs: dict[str, str] = {}
            self.records.clear()
            seed = self._add_account(SEED_HANDLE, SEED_APP_PASSWORD, did=SEED_DID, email=SEED_EMAIL)
            self._write(
                seed,
                _Prepared(PROFILE, "self", *self._typed(PROFILE, {"displayName": SEED_DISPLAY_NAME}), "valid"),
            )

    def _typed(self, collection: str, record: dict[str, Any]) -> tuple[dict[str, Any], str]:
        typed = {"$type": collection, **record}
        return typed, record_cid(typed)

    def _add_account(
        self, handle: str, app_password: str, *, did: str | None = None, email: str | None = None
    ) -> Account:
        if did is None:
            digest = hashlib.sha256(f"{handle}:{len(self.accounts)}:{secrets.token_hex(4)}".encode()).digest()
            did = "did:plc:" + base64.b32encode(digest).decode("ascii").lower()[:24]
        account = Account(did, handle.lower(), app_password, email or f"{handle.split('.')[0]}@sandbox.test")
        self.accounts[did] = account
        return account

    def _find_account(self, identifier: str) -> Account | None:
        ident = identifier.strip().removeprefix("@").lower()
        if ident in self.accounts:
            return self.accounts[ident]
        for account in self.accounts.values():
            if ident in (account.handle, account.email.lower()):
                return account
        return None

    def _next_tid(self) -> str:
        micros = max(time.time_ns() // 1000, self._last_micros + 1)
        self._last_micros = micros
        return _tid(micros, secrets.randbelow(1024))

    # ---- dispatch ------------------------------------------------------------------------

    def is_publishing_call(self, request: SandboxRequest) -> bool:
        return request.method == "POST" and request.path.removeprefix("/xrpc/") in PUBLISHING_CALLS

    def describe_call(self, request: SandboxRequest) -> dict[str, Any]:
        """The record a faulted write was for (``putRecord`` / ``createRecord`` name it)."""
        try:
            body = request.json()
        except ValueError:
            return {}
        if not isinstance(body, dict):
            return {}
        return {k: body[k] for k in ("collection", "rkey") if isinstance(body.get(k), str)}

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if not request.path.startswith("/xrpc/"):
            return SandboxResponse.json(404, {"error": "NotFound", "message": "Not Found"})
        nsid = request.path.removeprefix("/xrpc/")
        route = _ROUTES.get(nsid)
        if route is None:
            return SandboxResponse.json(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})
        method, handler = route
        if request.method != method:
            return _invalid(f"Incorrect HTTP method ({request.method}) expected {method}").response()
        with self.lock:
            try:
                return handler(self, request)
            except XrpcError as exc:
                return exc.response()

    def fault_response(self, fault: Fault, request: SandboxRequest) -> SandboxResponse:
        retry_after = fault.retry_after
        headers: dict[str, str] = {}
        if fault.status == 400:
            if request.path.endswith("uploadBlob"):
                body = {"error": "InvalidRequest", "message": "Invalid blob (sandbox fault 400)"}
            else:
                body = {"error": "InvalidRequest", "message": f"Invalid {POST} record: refused (sandbox fault 400)"}
        elif fault.status == 401:
            # A token the PDS does not accept at all: refreshing does not make it acceptable.
            body = {"error": "AuthenticationRequired", "message": "Authentication Required"}
        elif fault.status == 429:
            wait = 30 if retry_after is None else retry_after
            body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
            headers = {
                "Retry-After": str(wait),
                "RateLimit-Limit": "5000",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(int(time.time()) + wait),
                "RateLimit-Policy": "5000;w=3600",
            }
        elif fault.status == 503:
            body = {"error": "NotEnoughResources", "message": "Not Enough Resources"}
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
        else:  # 500, and a timeout-mode fault without a status that was not dropped
            body = {"error": "InternalServerError", "message": "Internal Server Error"}
        return SandboxResponse.json(fault.status or 500, body, headers)

    # ---- control endpoints ---------------------------------------------------------------

    def control(self, action: str, request: SandboxRequest) -> SandboxResponse | None:
        try:
            spec = request.json() if request.body else {}
        except ValueError:
            return SandboxResponse.json(400, {"error": "InvalidRequest", "message": "the body must be JSON"})
        if not isinstance(spec, dict):
            return SandboxResponse.json(400, {"error": "InvalidRequest", "message": "the body must be an object"})
        if action == "accounts" and request.method == "POST":
            return self._control_new_account(spec, request)
        if action == "accounts" and request.method == "GET":
            listed = [{"did": a.did, "handle": a.handle} for a in self.accounts.values()]
            return SandboxResponse.json(200, {"accounts": listed})
        if action == "revoke-sessions" and request.method == "POST":
            return self._control_revoke(spec)
        if action == "settings" and request.method == "POST":
            ttl = spec.get("accessTokenTtlSeconds")
            if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl < 0:
                return SandboxResponse.json(
                    400, {"error": "InvalidRequest", "message": "accessTokenTtlSeconds must be a number ≥ 0"}
                )
            self.access_ttl = float(ttl)
        if action == "settings" and request.method in ("GET", "POST"):
            return SandboxResponse.json(200, {"accessTokenTtlSeconds": self.access_ttl})
        return None

    def _control_new_account(self, spec: dict[str, Any], request: SandboxRequest) -> SandboxResponse:
        handle = spec.get("handle") or f"user{len(self.accounts) + 1}-{secrets.token_hex(2)}.sandbox.test"
        password = spec.get("appPassword") or "-".join(secrets.token_hex(2) for _ in range(4))
        if not isinstance(handle, str) or not _HANDLE.match(handle) or not isinstance(password, str):
            return SandboxResponse.json(400, {"error": "InvalidHandle", "message": "Invalid handle or appPassword"})
        if self._find_account(handle) is not None:
            return SandboxResponse.json(
                409, {"error": "HandleNotAvailable", "message": f"Handle already taken: {handle}"}
            )
        account = self._add_account(handle, password)
        display_name = spec.get("displayName")
        if isinstance(display_name, str) and display_name:
            self._write(
                account, _Prepared(PROFILE, "self", *self._typed(PROFILE, {"displayName": display_name}), "valid")
            )
        return SandboxResponse.json(
            201,
            {"did": account.did, "handle": account.handle, "appPassword": password, "service": request.base_url},
        )

    def _control_revoke(self, spec: dict[str, Any]) -> SandboxResponse:
        identifier = spec.get("handle") or spec.get("did")
        account = self._find_account(identifier) if isinstance(identifier, str) else None
        if account is None:
            return SandboxResponse.json(404, {"error": "NotFound", "message": "No such account"})
        count = 0
        for jti, did in list(self.live_access.items()):
            if did == account.did:
                del self.live_access[jti]
                self.revoked_access.add(jti)
                count += 1
        for session in self.refresh_sessions.values():
            if session.did == account.did and not session.revoked:
                session.revoked = True
                count += 1
        return SandboxResponse.json(200, {"handle": account.handle, "revokedTokens": count})

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(json.dumps(item)) for item in self.records.items("post")]

    # ---- tokens --------------------------------------------------------------------------

    def _service_did(self, request: SandboxRequest) -> str:
        host = request.header("host") or "localhost"
        return "did:web:" + host.replace(":", "%3A")

    def _jwt(self, typ: str, claims: dict[str, Any]) -> str:
        header = _b64url(json.dumps({"typ": typ, "alg": "HS256"}, separators=(",", ":")).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(signature)}"

    def _decode(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        parts = token.split(".")
        if len(parts) != 3:
            raise _invalid("Malformed token", "InvalidToken")
        try:
            expected = hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64url(parts[2])):
                raise ValueError("signature")
            header, claims = json.loads(_unb64url(parts[0])), json.loads(_unb64url(parts[1]))
        except ValueError as exc:  # includes binascii.Error and JSON errors
            raise _invalid("Token could not be verified", "InvalidToken") from exc
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _invalid("Token could not be verified", "InvalidToken")
        return header, claims

    @staticmethod
    def _bearer(request: SandboxRequest) -> str:
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise XrpcError(401, "AuthMissing", "Authentication Required")
        return token.strip()

    def _viewer(self, request: SandboxRequest) -> Account:
        header, claims = self._decode(self._bearer(request))
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= time.time():
            raise _invalid("Token has expired", "ExpiredToken")
        if header.get("typ") != "at+jwt" or claims.get("scope") not in ("com.atproto.access", "com.atproto.appPass"):
            raise _invalid("Bad token scope", "InvalidToken")
        jti = claims.get("jti")
        if jti in self.revoked_access:
            raise _invalid("Token has been revoked", "ExpiredToken")
        account = self.accounts.get(str(claims.get("sub")))
        if jti not in self.live_access or account is None:
            raise _invalid("Token could not be verified", "InvalidToken")
        return account

    def _session(self, account: Account, request: SandboxRequest) -> dict[str, Any]:
        now = int(time.time())
        access_jti, refresh_jti = secrets.token_urlsafe(12), secrets.token_urlsafe(24)
        aud = self._service_did(request)
        access = self._jwt(
            "at+jwt",
            {
                "scope": "com.atproto.appPass",
                "sub": account.did,
                "aud": aud,
                "iat": now,
                "exp": int(now + self.access_ttl),
                "jti": access_jti,
            },
        )
        refresh = self._jwt(
            "refresh+jwt",
            {
                "scope": "com.atproto.refresh",
                "sub": account.did,
                "aud": aud,
                "jti": refresh_jti,
                "iat": now,
                "exp": now + REFRESH_TTL_SECONDS,
            },
        )
        self.live_access[access_jti] = account.did
        self.refresh_sessions[refresh_jti] = RefreshSession(account.did, now + REFRESH_TTL_SECONDS)
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "handle": account.handle,
            "did": account.did,
            "didDoc": self._did_doc(account, request),
            "email": account.email,
            "emailConfirmed": True,
            "active": True,
        }

    @staticmethod
    def _did_doc(account: Account, request: SandboxRequest) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": account.did,
            "alsoKnownAs": [f"at://{account.handle}"],
            "verificationMethod": [
                {
                    "id": f"{account.did}#atproto",
                    "type": "Multikey",
                    "controller": account.did,
                    "publicKeyMultibase": "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF",
                }
            ],
            "service": [
                {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": request.base_url}
            ],
        }

    # ---- com.atproto.server --------------------------------------------------------------

    @staticmethod
    def _input(request: SandboxRequest) -> dict[str, Any]:
        try:
            body = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise _invalid("Request body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise _invalid("Input must be an object")
        return body

    @staticmethod
    def _required_str(body: dict[str, Any], key: str, *, where: str = "Input") -> str:
        value = body.get(key)
        if key not in body or value is None:
            raise _invalid(f'{where} must have the property "{key}"')
        if not isinstance(value, str):
            raise _invalid(f"{where}/{key} must be a string")
        return value

    def create_session(self, request: SandboxRequest) -> SandboxResponse:
        body = self._input(request)
        identifier = self._required_str(body, "identifier")
        password = self._required_str(body, "password")
        account = self._find_account(identifier)
        if account is None or not hmac.compare_digest(password.encode(), account.app_password.encode()):
            raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
        return SandboxResponse.json(200, self._session(account, request))

    def refresh_session(self, request: SandboxRequest) -> SandboxResponse:
        header, claims = self._decode(self._bearer(request))
        if header.get("typ") != "refresh+jwt" or claims.get("scope") != "com.atproto.refresh":
            raise _invalid("Token could not be verified", "InvalidToken")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= time.time():
            raise _invalid("Token has expired", "ExpiredToken")
        session = self.refresh_sessions.get(str(claims.get("jti")))
        now = time.time()
        if (
            session is None
            or session.revoked
            or (session.rotated_at is not None and now > session.rotated_at + REFRESH_GRACE_SECONDS)
        ):
            raise _invalid("Token has been revoked", "ExpiredToken")
        account = self.accounts.get(session.did)
        if account is None:
            raise _invalid("Token could not be verified", "InvalidToken")
        session.rotated_at = session.rotated_at or now
        return SandboxResponse.json(200, self._session(account, request))

    def get_session(self, request: SandboxRequest) -> SandboxResponse:
        account = self._viewer(request)
        return SandboxResponse.json(
            200,
            {
                "handle": account.handle,
                "did": account.did,
                "email": account.email,
                "emailConfirmed": True,
                "didDoc": self._did_doc(account, request),
                "active": True,
            },
        )

    def delete_session(self, request: SandboxRequest) -> SandboxResponse:
        _, claims = self._decode(self._bearer(request))
        session = self.refresh_sessions.get(str(claims.get("jti")))
        if session is not None:
            session.revoked = True
        return SandboxResponse(200)

    def describe_server(self, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse.json(
            200,
            {"did": self._service_did(request), "availableUserDomains": [".sandbox.test"], "inviteCodeRequired": False},
        )

    # ---- com.atproto.identity ------------------------------------------------------------

    def resolve_handle(self, request: SandboxRequest) -> SandboxResponse:
        handle = request.param("handle")
        if not handle:
            raise _invalid('Params must have the property "handle"')
        if not _HANDLE.match(handle):
            raise _invalid(f"Invalid handle: {handle}")
        account = self._find_account(handle)
        if account is None or account.handle != handle.lower():
            raise _invalid("Unable to resolve handle")  # the PDS answers InvalidRequest, not HandleNotFound
        return SandboxResponse.json(200, {"did": account.did})

    # ---- com.atproto.repo: reads -----------------------------------------------------------

    def _repo(self, repo: str) -> Account:
        account = self._find_account(repo) if repo.startswith("did:") or _HANDLE.match(repo) else None
        if account is None:
            raise _invalid(f"Could not find repo: {repo}")
        return account

    def get_record(self, request: SandboxRequest) -> SandboxResponse:
        repo, collection, rkey = (request.param(k) for k in ("repo", "collection", "rkey"))
        for key, value in (("repo", repo), ("collection", collection), ("rkey", rkey)):
            if not value:
                raise _invalid(f'Params must have the property "{key}"')
        assert repo and collection and rkey
        account = self._repo(repo)
        stored = self.records.get((account.did, collection, rkey))
        if stored is None:
            raise _invalid(f"Could not locate record: at://{account.did}/{collection}/{rkey}", "RecordNotFound")
        return SandboxResponse.json(200, {"uri": stored["uri"], "cid": stored["cid"], "value": stored["record"]})

    def list_records(self, request: SandboxRequest) -> SandboxResponse:
        repo, collection = request.param("repo"), request.param("collection")
        if not repo or not collection:
            raise _invalid('Params must have the property "repo" and "collection"')
        account = self._repo(repo)
        found = [
            {"uri": r["uri"], "cid": r["cid"], "value": r["record"]}
            for r in self.records.items()
            if r["did"] == account.did and r["collection"] == collection
        ]
        found.sort(key=lambda r: str(r["uri"]), reverse=request.param("reverse") != "true")
        limit = int(request.param("limit") or 50)
        return SandboxResponse.json(200, {"records": found[: max(1, min(limit, 100))]})

    # ---- com.atproto.repo: writes ----------------------------------------------------------

    def _writer(self, request: SandboxRequest, body: dict[str, Any]) -> Account:
        account = self._viewer(request)
        repo = self._required_str(body, "repo")
        if self._find_account(repo) is not account:
            raise XrpcError(401, "AuthenticationRequired", "Authentication Required")
        return account

    @staticmethod
    def _validate_flag(body: dict[str, Any]) -> bool | None:
        value = body.get("validate")
        if value is not None and not isinstance(value, bool):
            raise _invalid("Input/validate must be a boolean")
        return value

    def _prepare(self, account: Account, collection: Any, rkey: Any, record: Any, validate: bool | None) -> _Prepared:
        if not isinstance(collection, str) or not _NSID.match(collection):
            raise _invalid(f"Invalid collection: {collection}")
        if not isinstance(record, dict):
            raise _invalid("Input/record must be an object")
        record_type = record.get("$type", collection)
        if record_type != collection:
            raise _invalid(f"Invalid $type: expected {collection}, got {record_type}")
        typed = {**record, "$type": collection}
        if not isinstance(rkey, str) or not _RKEY.match(rkey) or rkey in (".", ".."):
            raise _invalid(f"Invalid record key: {rkey}")
        status: str | None = None
        known = collection in (POST, PROFILE)
        if known and validate is not False:
            if collection == POST and not _TID.match(rkey):
                raise _invalid(f'Invalid record key for {collection}: Invalid TID string (got "{rkey}") at $')
            if collection == PROFILE and rkey != "self":
                raise _invalid(f'Invalid record key for {collection}: must be "self" (got "{rkey}") at $')
            problem = validate_post(typed) if collection == POST else validate_profile(typed)
            if problem:
                raise _invalid(f"Invalid {collection} record: {problem}")
            status = "valid"
        elif validate is True:
            raise _invalid(f"Lexicon not found: lex:{collection}")
        elif validate is None:
            status = "unknown"
        self._check_blobs(account, collection, typed)
        return _Prepared(collection, rkey, typed, record_cid(typed), status)

    def _check_blobs(self, account: Account, collection: str, record: dict[str, Any]) -> None:
        """The repo's check of each blob ref (after the lexicon's, which judged the ref's declared
        type and size): the blob must exist, and a blob not yet used by a record must match the
        ref's ``mimeType`` and ``size``. Like the PDS, a blob already in a record is not compared
        again."""
        for _, ref in blobs_in(record, "$.record"):
            link = ref.get("ref")
            cid = link.get("$link") if isinstance(link, dict) else None
            found = self.blobs.get((account.did, str(cid)))
            if found is None:
                raise _invalid(f"Could not find blob: {cid}", "BlobNotFound")
            if (account.did, str(cid)) in self.permanent_blobs:
                continue
            if ref.get("mimeType") != found.mime:
                raise _invalid(
                    "Referenced Mimetype does not match stored blob. "
                    f"Expected: {found.mime}, Got: {ref.get('mimeType')}",
                    "InvalidMimeType",
                )
            if ref.get("size") != found.size:
                raise _invalid(
                    f"Referenced Size does not match stored blob. Expected: {found.size}, Got: {ref.get('size')}",
                    "InvalidSize",
                )

    def _commit(self, account: Account) -> dict[str, str]:
        rev = self._next_tid()
        self.revs[account.did] = rev
        return {"cid": _cid(0x71, f"{account.did}:{rev}".encode()), "rev": rev}

    def _uri(self, account: Account, prepared: _Prepared) -> str:
        return f"at://{account.did}/{prepared.collection}/{prepared.rkey}"

    def _write(self, account: Account, prepared: _Prepared) -> str:
        uri = self._uri(account, prepared)
        for _, ref in blobs_in(prepared.record, "$.record"):  # a stored record makes its blobs permanent
            link = ref.get("ref")
            if isinstance(link, dict):
                self.permanent_blobs.add((account.did, str(link.get("$link"))))
        key = (account.did, prepared.collection, prepared.rkey)
        previous = self.records.get(key)
        self.records.put(
            key,
            "post" if prepared.collection == POST else "record",
            {
                "uri": uri,
                "cid": prepared.cid,
                "rkey": prepared.rkey,
                "did": account.did,
                "handle": account.handle,
                "collection": prepared.collection,
                "record": prepared.record,
                "createdAt": previous["createdAt"] if previous else _now_iso(),
            },
        )
        return uri

    def _write_output(self, account: Account, prepared: _Prepared, *, commit: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"uri": self._uri(account, prepared), "cid": prepared.cid}
        if commit:
            out["commit"] = self._commit(account)
        if prepared.validation_status:
            out["validationStatus"] = prepared.validation_status
        return out

    def create_record(self, request: SandboxRequest) -> SandboxResponse:
        body = self._input(request)
        account = self._writer(request, body)
        rkey = body.get("rkey") or self._next_tid()
        prepared = self._prepare(account, body.get("collection"), rkey, body.get("record"), self._validate_flag(body))
        if self.records.get((account.did, prepared.collection, prepared.rkey)) is not None:
            # The MST refuses a second value at a key with a plain Error: xrpc-server makes it a 500.
            raise XrpcError(500, "InternalServerError", "Internal Server Error")
        self._write(account, prepared)
        return SandboxResponse.json(200, self._write_output(account, prepared))

    def put_record(self, request: SandboxRequest) -> SandboxResponse:
        body = self._input(request)
        account = self._writer(request, body)
        if body.get("rkey") is None:
            raise _invalid('Input must have the property "rkey"')
        prepared = self._prepare(
            account, body.get("collection"), body.get("rkey"), body.get("record"), self._validate_flag(body)
        )
        existing = self.records.get((account.did, prepared.collection, prepared.rkey))
        if existing is not None and existing["cid"] == prepared.cid:
            # Identical record: nothing to commit; same uri/cid, no "commit" in the output.
            return SandboxResponse.json(200, self._write_output(account, prepared, commit=False))
        if "swapRecord" in body:
            current = existing["cid"] if existing else None
            if body["swapRecord"] != current:
                raise _invalid(f"Record was at {current or 'null'}", "InvalidSwap")
        self._write(account, prepared)
        return SandboxResponse.json(200, self._write_output(account, prepared))

    def delete_record(self, request: SandboxRequest) -> SandboxResponse:
        body = self._input(request)
        account = self._writer(request, body)
        collection, rkey = self._required_str(body, "collection"), self._required_str(body, "rkey")
        existing = self.records.get((account.did, collection, rkey))
        if "swapRecord" in body and body["swapRecord"] is not None:
            current = existing["cid"] if existing else None
            if body["swapRecord"] != current:
                raise _invalid(f"Record was at {current or 'null'}", "InvalidSwap")
        if existing is None:
            return SandboxResponse.json(200, {})
        self.records.delete((account.did, collection, rkey))
        return SandboxResponse.json(200, {"commit": self._commit(account)})

    def apply_writes(self, request: SandboxRequest) -> SandboxResponse:
        body = self._input(request)
        account = self._writer(request, body)
        writes = body.get("writes")
        if not isinstance(writes, list):
            raise _invalid('Input must have the property "writes"')
        if len(writes) > APPLY_WRITES_MAX:
            raise _invalid(f"Too many writes. Max: {APPLY_WRITES_MAX}")
        validate = self._validate_flag(body)
        planned: list[tuple[str, _Prepared | tuple[str, str]]] = []
        for write in writes:
            kind = write.get("$type", "") if isinstance(write, dict) else ""
            action = kind.rpartition("#")[2]
            if not isinstance(write, dict) or action not in ("create", "update", "delete"):
                raise _invalid(f"Invalid write: {kind}")
            if action == "delete":
                planned.append((action, (str(write.get("collection")), str(write.get("rkey")))))
                continue
            rkey = write.get("rkey") or (self._next_tid() if action == "create" else None)
            prepared = self._prepare(account, write.get("collection"), rkey, write.get("value"), validate)
            exists = self.records.get((account.did, prepared.collection, prepared.rkey)) is not None
            if exists != (action == "update"):
                raise XrpcError(500, "InternalServerError", "Internal Server Error")
            planned.append((action, prepared))
        results: list[dict[str, Any]] = []
        for action, item in planned:
            if isinstance(item, _Prepared):
                self._write(account, item)
                result = self._write_output(account, item, commit=False)
                results.append({"$type": f"com.atproto.repo.applyWrites#{action}Result", **result})
            else:
                self.records.delete((account.did, *item))
                results.append({"$type": "com.atproto.repo.applyWrites#deleteResult"})
        return SandboxResponse.json(200, {"commit": self._commit(account), "results": results})

    def upload_blob(self, request: SandboxRequest) -> SandboxResponse:
        account = self._viewer(request)
        if len(request.body) > BLOB_UPLOAD_LIMIT:
            raise XrpcError(413, "PayloadTooLarge", "request entity too large")
        declared = (request.header("content-type") or "").split(";")[0].strip()
        mime = _sniff_mime(request.body) or declared or "application/octet-stream"
        cid = blob_cid(request.body)
        self.blobs[(account.did, cid)] = Blob(mime, len(request.body))
        blob = {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(request.body)}
        return SandboxResponse.json(200, {"blob": blob})


_ROUTES: Final = {
    "com.atproto.server.createSession": ("POST", BlueskySandbox.create_session),
    "com.atproto.server.refreshSession": ("POST", BlueskySandbox.refresh_session),
    "com.atproto.server.getSession": ("GET", BlueskySandbox.get_session),
    "com.atproto.server.deleteSession": ("POST", BlueskySandbox.delete_session),
    "com.atproto.server.describeServer": ("GET", BlueskySandbox.describe_server),
    "com.atproto.identity.resolveHandle": ("GET", BlueskySandbox.resolve_handle),
    "com.atproto.repo.getRecord": ("GET", BlueskySandbox.get_record),
    "com.atproto.repo.listRecords": ("GET", BlueskySandbox.list_records),
    "com.atproto.repo.createRecord": ("POST", BlueskySandbox.create_record),
    "com.atproto.repo.putRecord": ("POST", BlueskySandbox.put_record),
    "com.atproto.repo.deleteRecord": ("POST", BlueskySandbox.delete_record),
    "com.atproto.repo.applyWrites": ("POST", BlueskySandbox.apply_writes),
    "com.atproto.repo.uploadBlob": ("POST", BlueskySandbox.upload_blob),
}
