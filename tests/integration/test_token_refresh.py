"""Token refresh on moto (DESIGN.md "Token refresh"): the per-account lease makes concurrent
refreshes of one account call the platform once; a refresh the platform refuses records the
account's lastError; the refresher Lambda renews what is due and nothing else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from crosspost.clock import now
from crosspost.composition import dependencies
from crosspost.errors import AuthExpiredError, PlatformUnavailableError
from crosspost.models.domain import Account, LastError
from crosspost.platforms.registry import adapter_for
from crosspost.resources import Env
from crosspost.services.token_refresh import DueTokenRefresh, TokenRefresher
from local.functions import load_handler
from local.lambda_events import LambdaContext
from local.provision import seed_platform_apps
from tests.integration.fake_oauth import FakeWorld, fake_platform
from tests.integration.harness import ApiClient


@pytest.fixture
def world(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> type[FakeWorld]:
    seed_platform_apps(aws, {"twitter": {"clientId": "c", "clientSecret": "s-secret-value"}})
    return fake_platform(monkeypatch, "twitter")


def connect(api: ApiClient, user: str = "u1") -> dict[str, Any]:
    state = api.post("/v1/accounts/connect/twitter", {}).json["state"]
    response = api.post("/v1/accounts/connect/twitter/complete", {"code": f"user:{user}", "state": state})
    assert response.status in (200, 201), response.text
    return dict(response.json)


def account_row(account_id: str) -> Account:
    found = dependencies().accounts.get(account_id)
    assert found is not None
    return found


def refresher(*, wait_seconds: float = 5.0) -> TokenRefresher:
    deps = dependencies()
    return TokenRefresher(deps.accounts, deps.vault, lease_seconds=30, wait_seconds=wait_seconds, poll_seconds=0.05)


def raw_item(aws: dict[str, str], account_id: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb").get_item(
        TableName=aws[Env.ACCOUNTS_TABLE], Key={"id": {"S": account_id}}
    )["Item"]
    return item


async def _with_adapter(work: Any) -> Any:
    import httpx

    async with httpx.AsyncClient() as http:
        return await work(adapter_for("twitter", http))


def test_given_two_concurrent_refreshes_of_one_account_then_the_platform_is_called_once(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    account = account_row(connect(api)["id"])
    current = dependencies().vault.get(account.secret_name, fresh=True)
    world.refresh_delay = 0.3
    token_refresher = refresher()

    async def both(adapter: Any) -> Any:
        return await asyncio.gather(
            token_refresher.refresh(adapter, account, current), token_refresher.refresh(adapter, account, current)
        )

    first, second = asyncio.run(_with_adapter(both))

    assert world.refreshes == 1
    assert first.version == second.version != current.version
    assert first.tokens.access_token == second.tokens.access_token != current.tokens.access_token
    stored = dependencies().vault.get(account.secret_name, fresh=True)
    assert stored.version == first.version
    item = raw_item(aws, account.id)
    assert "refreshLeaseToken" not in item and "refreshLeaseUntil" not in item
    assert item["refreshDueAt"]["S"] > current.tokens.refresh_after.isoformat()[:19]  # type: ignore[union-attr]


def test_given_a_token_refreshed_since_the_caller_read_it_then_that_one_is_used(
    api: ApiClient, world: type[FakeWorld]
) -> None:
    account = account_row(connect(api)["id"])
    vault = dependencies().vault
    stale = vault.get(account.secret_name, fresh=True)
    newer = vault.put(account.secret_name, FakeWorld.tokens("u1"), expected_version=stale.version)

    got = asyncio.run(_with_adapter(lambda adapter: refresher().refresh(adapter, account, stale)))

    assert (got.version, world.refreshes) == (newer.version, 0)


def test_given_the_lease_held_elsewhere_and_no_new_token_then_a_retryable_error(
    api: ApiClient, world: type[FakeWorld]
) -> None:
    account = account_row(connect(api)["id"])
    current = dependencies().vault.get(account.secret_name, fresh=True)
    at = now()
    held, _ = dependencies().accounts.take_refresh_lease(
        account.id, token="other", until=at + timedelta(minutes=1), at=at
    )
    assert held is not None

    with pytest.raises(PlatformUnavailableError) as refused:
        asyncio.run(_with_adapter(lambda adapter: refresher(wait_seconds=0.3).refresh(adapter, account, current)))

    assert refused.value.rule == "token.refresh_in_progress" and refused.value.retryable
    assert world.refreshes == 0


def test_given_a_disconnected_account_then_refresh_fails_at_once_without_a_platform_call(
    api: ApiClient, world: type[FakeWorld]
) -> None:
    account = account_row(connect(api)["id"])
    current = dependencies().vault.get(account.secret_name, fresh=True)
    assert api.delete(f"/v1/accounts/{account.id}").status == 204

    with pytest.raises(AuthExpiredError) as refused:
        asyncio.run(_with_adapter(lambda adapter: refresher(wait_seconds=30).refresh(adapter, account, current)))

    assert refused.value.rule == "account.disconnected" and world.refreshes == 0


def test_given_an_expired_lease_then_it_is_taken_over(api: ApiClient, world: type[FakeWorld]) -> None:
    account = account_row(connect(api)["id"])
    current = dependencies().vault.get(account.secret_name, fresh=True)
    at = now()
    dependencies().accounts.take_refresh_lease(account.id, token="crashed", until=at - timedelta(seconds=1), at=at)

    got = asyncio.run(_with_adapter(lambda adapter: refresher().refresh(adapter, account, current)))

    assert got.version != current.version and world.refreshes == 1


def test_given_a_refused_refresh_then_last_error_and_out_of_the_refresh_index(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    world.connection_ttl = timedelta(days=2)
    account = account_row(connect(api)["id"])
    current = dependencies().vault.get(account.secret_name, fresh=True)
    world.refuse_refresh = True

    with pytest.raises(AuthExpiredError):
        asyncio.run(_with_adapter(lambda adapter: refresher().refresh(adapter, account, current)))

    shown = api.get(f"/v1/accounts/{account.id}").json
    assert shown["lastError"]["message"].startswith("Refreshing the token failed")
    assert shown["tokenStatus"] == "expiring_soon"
    item = raw_item(aws, account.id)
    assert item["lastError"]["M"]["source"]["S"] == "refresh" and item["lastError"]["M"]["rule"]["S"]
    assert not {"refreshDueAt", "refreshShard", "refreshLeaseToken"} & set(item)
    assert dependencies().accounts.refresh_due_before(now() + timedelta(days=400), limit=10) == []


def test_given_a_later_success_then_a_refresh_error_is_cleared_but_a_publish_error_is_kept(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    accounts = dependencies().accounts
    for source, cleared in (("refresh", True), ("publish", False)):
        account = account_row(connect(api, user=source)["id"])
        accounts.record_error(account.id, LastError(message="earlier", occurred_at=now(), source=source))
        current = dependencies().vault.get(account.secret_name, fresh=True)
        asyncio.run(_with_adapter(lambda adapter, a=account, c=current: refresher().refresh(adapter, a, c)))
        assert (api.get(f"/v1/accounts/{account.id}").json["lastError"] is None) is cleared, source


def test_given_a_publish_with_an_expired_access_token_then_it_refreshes_through_the_lease(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    account = account_row(connect(api)["id"])
    vault = dependencies().vault
    current = vault.get(account.secret_name, fresh=True)
    expired = current.tokens
    expired.access_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    vault.put(account.secret_name, expired, expected_version=current.version)

    response = api.post("/v1/posts", {"account": {"platform": "twitter", "id": account.id}, "text": "hello"})

    assert response.status == 201, response.text
    assert world.refreshes == 1
    assert vault.get(account.secret_name, fresh=True).tokens.access_token != expired.access_token


# ---- the refresher Lambda ----------------------------------------------------------------------


def test_given_accounts_due_and_not_due_then_the_run_refreshes_only_the_due_ones(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    world.refresh_after = timedelta(minutes=5)  # inside the 30-minute window
    due = connect(api, user="due")["id"]
    world.refresh_after = timedelta(days=50)
    later = connect(api, user="later")["id"]
    world.refresh_after = None  # renewed on demand only: not in the index at all
    connect(api, user="on-demand")
    world.refresh_after = timedelta(days=50)  # what the refresh hands back

    report = load_handler("refresher")({}, LambdaContext(function_name="refresher", timeout_seconds=300))

    assert report == {"due": 1, "refreshed": 1, "not_due": 0, "busy": 0, "auth_lost": 0, "failed": 0}
    assert world.refreshes == 1
    assert account_row(due).refresh_due_at > now() + timedelta(days=49)  # type: ignore[operator]
    assert account_row(later).refresh_due_at < now() + timedelta(days=51)  # type: ignore[operator]
    again = load_handler("refresher")({}, LambdaContext(function_name="refresher", timeout_seconds=300))
    assert again["due"] == 0


def test_given_a_run_then_busy_refused_and_raced_accounts_are_counted_apart(
    api: ApiClient, world: type[FakeWorld], aws: dict[str, str]
) -> None:
    world.refresh_after = timedelta(minutes=-1)
    busy, refused = (connect(api, user=u)["id"] for u in ("busy", "refused"))
    accounts = dependencies().accounts
    at = now()
    accounts.take_refresh_lease(busy, token="other", until=at + timedelta(minutes=1), at=at)
    world.refuse_refresh = True
    deps = dependencies()

    async def run(adapter: Any) -> Any:
        sweep = DueTokenRefresh(deps.settings, deps.accounts, refresher(), lambda platform: adapter)
        return await sweep.run()

    report = asyncio.run(_with_adapter(run))

    assert report.as_dict() == {"due": 2, "refreshed": 0, "not_due": 0, "busy": 1, "auth_lost": 1, "failed": 0}
    assert account_row(refused).last_error is not None
    # one that another process renewed after the index was read: the lease's fresh row says so
    stale_view = account_row(busy)
    accounts.release_refresh_lease(busy, "other")
    world.refuse_refresh = False
    outcome = asyncio.run(
        _with_adapter(lambda adapter: refresher().refresh_if_due(adapter, stale_view, now() - timedelta(minutes=5)))
    )
    assert outcome.value == "not_due" and world.refreshes == 1  # only the refused call reached the platform
