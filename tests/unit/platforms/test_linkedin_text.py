"""LinkedIn commentary escaping and post URNs. The escaped text is read back with the sandbox's
"little text" parser, which cuts the text at an unescaped reserved character as LinkedIn does:
whatever crosspost sends must come out exactly as the user wrote it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crosspost.platforms.linkedin_api import RESERVED, escape_commentary, post_url, urn_time
from local.sandbox.linkedin import parse_little

CASES: list[tuple[str, str]] = [
    ("Hello world", "Hello world"),
    ("Launch (beta) [1] {x} <b> a_b *c* ~d~ e|f", r"Launch \(beta\) \[1\] \{x\} \<b\> a\_b \*c\* \~d\~ e\|f"),
    ("back\\slash", r"back\\slash"),
    ("#crosspost rocks", "#crosspost rocks"),
    ("we #ship, #daily!", "we #ship, #daily!"),
    ("(#tag)", r"\(#tag\)"),
    ("ask @alice", r"ask \@alice"),
    ("@[Eve](urn:li:person:123)", r"\@\[Eve\]\(urn:li:person:123\)"),
    ("a#b", r"a\#b"),
    ("https://x.test/#frag and https://x.test/page#sec", r"https://x.test/\#frag and https://x.test/page\#sec"),
    ("# alone", r"\# alone"),
    ("#my_tag", r"#my\_tag"),
    ("#日本語 ok", "#日本語 ok"),
    ("emoji 👋🏽 ok", "emoji 👋🏽 ok"),
]


@pytest.mark.parametrize(("text", "escaped"), CASES)
def test_escape_commentary(text: str, escaped: str) -> None:
    assert escape_commentary(text) == escaped


@pytest.mark.parametrize("text", [t for t, _ in CASES] + ["".join(sorted(RESERVED)) * 3, "x\\", "\\#tag"])
def test_escaped_text_reads_back_unchanged_and_uncut(text: str) -> None:
    parsed = parse_little(escape_commentary(text))
    assert parsed.text == text and not parsed.truncated


def test_hashtags_stay_hashtags_and_at_signs_never_mention() -> None:
    parsed = parse_little(escape_commentary("Ship it #crosspost (#beta) @[Eve](urn:li:person:1) a#b"))
    assert parsed.hashtags == ("crosspost", "beta") and parsed.mentions == ()


def test_unescaped_text_is_cut_by_linkedin() -> None:
    # What the escaping prevents: LinkedIn drops everything from the first reserved character.
    parsed = parse_little("Launch (beta) today")
    assert parsed.text == "Launch " and parsed.truncated


def test_urn_time_reads_the_creation_time_of_a_post_urn() -> None:
    # Real URNs from public issue reports, created on the dates the reports were filed.
    assert urn_time("urn:li:share:7141138937766391808") == datetime(2023, 12, 14, 18, 56, 38, 709000, tzinfo=UTC)
    created = urn_time("urn:li:share:7431329065766260736")
    assert created is not None and created.date().isoformat() == "2026-02-22"
    assert urn_time("urn:li:ugcPost:7141138937766391808") is not None
    assert urn_time("urn:li:image:C4E10AQ") is None
    assert urn_time("urn:li:share:12") is None  # not a plausible time


def test_post_url() -> None:
    assert post_url("urn:li:share:1") == "https://www.linkedin.com/feed/update/urn:li:share:1"
