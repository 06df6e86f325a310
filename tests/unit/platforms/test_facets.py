"""Rich-text facets: what is found, and UTF-8 byte offsets that cover exactly the right text."""

from __future__ import annotations

import pytest

from crosspost.platforms.facets import DetectedFacet, detect_facets, facet_records, is_handle, mention_handles


def covered(text: str, facet: DetectedFacet) -> str:
    return text.encode("utf-8")[facet.byte_start : facet.byte_end].decode("utf-8")


def found(text: str) -> list[tuple[str, str, str]]:
    """(kind, covered text, value) of every facet."""
    return [(f.kind, covered(text, f), f.value) for f in detect_facets(text)]


def test_ascii_link_and_tag_offsets() -> None:
    text = "Launch day! https://example.com/launch #crosspost"
    facets = detect_facets(text)
    assert [(f.kind, f.byte_start, f.byte_end) for f in facets] == [("link", 12, 38), ("tag", 39, 49)]
    assert found(text) == [
        ("link", "https://example.com/launch", "https://example.com/launch"),
        ("tag", "#crosspost", "crosspost"),
    ]


def test_offsets_are_bytes_after_emoji_and_accents() -> None:
    # "👋" is 4 bytes, "é" 2: a character count would put the link 4 bytes too early
    text = "👋 héllo https://example.com @alice.sandbox.test #café"
    facets = detect_facets(text)
    assert facets[0].byte_start == len("👋 héllo ".encode()) == 12
    assert found(text) == [
        ("link", "https://example.com", "https://example.com"),
        ("mention", "@alice.sandbox.test", "alice.sandbox.test"),
        ("tag", "#café", "café"),
    ]


def test_family_emoji_before_a_link() -> None:
    family = "👨‍👩‍👧‍👦"  # one grapheme, 25 bytes
    text = f"{family}{family} https://a.example/x"
    [facet] = detect_facets(text)
    assert (facet.byte_start, facet.byte_end) == (51, 51 + len("https://a.example/x"))


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("see https://example.com.", "https://example.com"),
        ("see https://example.com/a, then", "https://example.com/a"),
        ("really? https://example.com/q?x=1!", "https://example.com/q?x=1"),
        ("(https://example.org/p)", "https://example.org/p"),
        ("https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)"),
        ("HTTPS://EXAMPLE.COM/Path", "HTTPS://EXAMPLE.COM/Path"),
    ],
)
def test_trailing_punctuation_is_not_part_of_a_link(text: str, link: str) -> None:
    [(kind, shown, uri)] = found(text)
    assert kind == "link" and shown == link and uri == link


def test_only_http_links_and_not_inside_words() -> None:
    assert found("ftp://example.com example.com mailto:a@b.c xhttps://example.com") == []


def test_non_ascii_links_become_valid_uris() -> None:
    [(kind, shown, uri)] = found("voir https://exämple.com/ü?q=é")
    assert kind == "link" and shown == "https://exämple.com/ü?q=é"
    assert uri == "https://xn--exmple-cua.com/%C3%BC?q=%C3%A9" and uri.isascii()


def test_mentions() -> None:
    text = "hi @Alice.Sandbox.Test, and (@bob.example.com) @alice.test. bob@example.com @bad @-x.com"
    assert found(text) == [
        ("mention", "@Alice.Sandbox.Test", "alice.sandbox.test"),
        ("mention", "@bob.example.com", "bob.example.com"),
        ("mention", "@alice.test", "alice.test"),
    ]
    assert mention_handles(detect_facets(text + " @alice.sandbox.test")) == [
        "alice.sandbox.test",
        "bob.example.com",
        "alice.test",
    ]


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("#python rocks", ["python"]),
        ("end #tag!", ["tag"]),
        ("#123 is a number, #1a is not", ["1a"]),
        ("a#tag no", []),
        ("#日本語 and ＃full", ["日本語", "full"]),
        ("#️⃣ keycap", []),
        ("two #a #b", ["a", "b"]),
        ("#" + "x" * 64, ["x" * 64]),
        ("#" + "x" * 65, []),
        ("# alone", []),
    ],
)
def test_hashtags(text: str, tags: list[str]) -> None:
    facets = [f for f in detect_facets(text) if f.kind == "tag"]
    assert [f.value for f in facets] == tags
    for facet in facets:
        assert covered(text, facet)[1:] == facet.value


def test_full_width_hash_is_three_bytes() -> None:
    [facet] = detect_facets("＃full")
    assert (facet.byte_start, facet.byte_end) == (0, 7)


def test_overlapping_facets_keep_the_first() -> None:
    text = "https://example.com/(@alice.test)"
    assert [f.kind for f in detect_facets(text)] == ["link"]


def test_records_leave_out_unresolved_mentions() -> None:
    text = "@alice.sandbox.test @nobody.sandbox.test https://x.example #t"
    records = facet_records(detect_facets(text), {"alice.sandbox.test": "did:plc:abc"})
    assert [r["features"][0]["$type"] for r in records] == [
        "app.bsky.richtext.facet#mention",
        "app.bsky.richtext.facet#link",
        "app.bsky.richtext.facet#tag",
    ]
    assert records[0] == {
        "index": {"byteStart": 0, "byteEnd": 19},
        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:abc"}],
    }
    assert records[2]["features"][0] == {"$type": "app.bsky.richtext.facet#tag", "tag": "t"}


def test_handle_syntax() -> None:
    assert is_handle("alice.bsky.social") and is_handle("a.test")
    assert not is_handle("alice") and not is_handle("-a.com") and not is_handle("a.1com")
    assert not is_handle("a" * 64 + ".com")
