"""Cancel over HTTP: a canceled post never reaches the platform, even once its time has passed.
(Its own module, so its wait overlaps the walkthrough's on another worker.)"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.e2e.helpers import iso_in, sandbox_records, unique_text

pytestmark = pytest.mark.e2e

AHEAD_SECONDS = 30


def test_a_canceled_post_never_reaches_the_platform(api: httpx.Client, account_id: str, sandbox: httpx.Client) -> None:
    # Given a post scheduled 30 s ahead
    text = unique_text("Canceled")
    scheduled_at = iso_in(AHEAD_SECONDS)
    created = api.post(
        "/v1/posts",
        json={"account": {"platform": "bluesky", "id": account_id}, "text": text, "scheduledAt": scheduled_at},
    )
    assert created.status_code == 202, created.text
    post_id = created.json()["id"]
    # When it is canceled
    canceled = api.delete(f"/v1/posts/{post_id}")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    # Then it cannot be canceled or moved again
    again = api.delete(f"/v1/posts/{post_id}")
    assert again.status_code == 409
    assert again.json()["error"]["rule"] == "post.status"
    moved = api.patch(f"/v1/posts/{post_id}", json={"scheduledAt": iso_in(60)})
    assert moved.status_code == 409
    # And after its time has passed (and any in-flight message came back), nothing was published
    due = datetime.fromisoformat(scheduled_at.replace("Z", "+00:00"))
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 3)
    assert sandbox_records(sandbox, text) == []
    assert api.get(f"/v1/posts/{post_id}").json()["status"] == "canceled"
