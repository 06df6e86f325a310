"""X's weighted length (twitter-text config v3), checked against twitter-text's own conformance
cases (conformance/validate.yml ``WeightedTweetsWithDiscountedEmojiCounterTest`` and
extract.yml ``urls`` / ``urls_with_indices``), plus the inputs that made the reference regex
quadratic."""

from __future__ import annotations

import time

import pytest

from crosspost.platforms.twitter_text import MAX_WEIGHTED_LENGTH, has_invalid_characters, url_spans, weighted_length

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # man, woman, girl, boy joined by ZWJ
CHUNK = "xxxxxxxxxx-"


def urls(text: str) -> list[str]:
    return [text[start:end] for start, end in url_spans(text)]


# ---- weighted length -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am a Tweet", 12),
        ("Hi http://test.co", 26),
        ("http://test.co", 23),
        ("285 chars-" + CHUNK * 25, 285),
        ("285 chars- http://www.twitter.com/jack " + CHUNK * 24, 299),
        (CHUNK * 24 + " http://www.twitter.com/jack ", 289),
        ("https://www.twitter.com/aloha " * 10, 240),
        # CJK counts 2 per character; emoji 2 per emoji, however many code points
        ("故人西辞黄鹤楼，烟花三月下扬州。" * 10, 320),
        ("😷" * 160, 320),
        ("the" + "故人西辞黄鹤楼，烟花三月下扬州。" * 10, 323),
        ("H🐱☺" + FAMILY, 7),
        ("😷👾😡🔥💩", 10),
        ("🙋🏽👨\u200d🎤", 4),  # skin tone, ZWJ profession
        # NFC first: A + combining acute is one character
        ("A\u0301B", 2),
        ("Aשּׁ", 4),
        # general punctuation in the 1-weight ranges, U+200B included
        (
            "This is a tweet with general punctuation characters: \u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
            "\u2008\u2009\u200a\u200b ‐ ‑ ‒ – — ― ‖  ‗ ‘ ’ ‚ ‛ “ ” „ ‟ ′ ″ ‴ ‵ ‶ ‷",
            110,
        ),
        # a 64-character label is not a domain (IDNA): 68 plain characters
        ("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com", 68),
        # an internationalized host counts as a URL only if its punycode labels fit in 63
        ("あいうえおかきくけこ" * 12 + " http://" + "あいうえおかきくけこ" * 5 + "あいう.com", 358),
        ("あいうえおかきくけこ" * 12 + " http://" + "あいうえおかきくけこ" * 5 + "あい.com", 264),
    ],
)
def test_weighted_length_matches_twitter_text(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("é", 1),  # Latin-1 and extended Latin weigh 1 (U+0000–U+10FF)
        ("Ωжשע", 4),
        ("한", 2),
        ("\u2030", 2),  # ‰ sits between the 1-weight punctuation ranges
        ("\u2032\u2037", 2),
        ("©", 1),  # text-style symbols stay text
        ("©\ufe0f", 2),
        ("1\ufe0f\u20e3", 2),  # keycap
        ("🇺🇸", 2),  # a flag is two regional indicators
        ("🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", 2),  # England (tag sequence)
        ("☺\ufe0e", 4),  # text presentation: two characters
        ("🏳️\u200d🌈", 2),
        ("\U00020000", 2),  # astral CJK
        ("example.com", 23),
        ("see example.com.", 28),
        ("file.py", 23),  # .py is Paraguay: a URL to X as well
        ("readme.txt", 10),
        ("$tsla.com", 9),  # a cashtag is no URL
        ("http://" + "a" * 5000 + ".com", 5011),  # longer than 4,096: plain text
    ],
)
def test_weighted_length_rules(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_the_limit_is_280_weighted() -> None:
    assert MAX_WEIGHTED_LENGTH == 280
    assert weighted_length("a" * 257 + " https://example.com/" + "p" * 500) == 281
    assert weighted_length("故" * 140) == 280


# ---- URL extraction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Test a ton of periods http://example.com/path" + "." * 40, ["http://example.com/path"]),
        ("Test a ton of commas http://example.com/" + "," * 40, ["http://example.com/"]),
        ("Test a ton of bangs http://example.com/path/" + "!" * 40, ["http://example.com/path/"]),
        ("#test.com @test.com #http://test.com @http://test.com #t.co/abcde @t.co/abcde", []),
        ("I really like http://t.co/pbY2NfTZ's website", ["http://t.co/pbY2NfTZ"]),
        ("Check this site out http://t.co/FNkPfmii- it's great", ["http://t.co/FNkPfmii"]),
        ("I really like http://t.co/" + "a" * 40, ["http://t.co/" + "a" * 40]),
        ("I really like http://t.co/" + "a" * 41, []),  # a t.co slug over 40 characters
        ("text https://t.co/UqIyJAJTfo?amp=1", ["https://t.co/UqIyJAJTfo?amp=1"]),
        ("example.comてすとですtwitter.みんなです", ["example.com", "twitter.みんな"]),
        (
            "http://twitter.com\nhttp://example.com\nhttp://example.com/path\nexample.com/path\nit.so\nit.so/abcde",
            [
                "http://twitter.com",
                "http://example.com",
                "http://example.com/path",
                "example.com/path",
                "it.so",
                "it.so/abcde",
            ],
        ),
        ("$http://twitter.com $twitter.com $http://t.co/abcde $t.co/abcde $t.co $TVI.CA $RBS.CA", []),
        ("long.test.tar.bz2 test.tar.bz2 tar.bz2", []),
        ("john.doe.gov@mail.com", []),
        ("john.doe.jp@mail.com", []),
        ("t.co/abcde bit.ly/abcde", ["t.co/abcde", "bit.ly/abcde"]),
        (
            "twitter.comこれは日本語です。example.com中国語t.co/abcde한국twitter.com "
            "example2.comテストtwitter.com/abcde",
            ["twitter.com", "example.com", "t.co/abcde", "twitter.com", "example2.com", "twitter.com/abcde"],
        ),
        (
            "http://www.foo.com?referer=https://t.co/abcde http://t.co/xyzzy",
            ["http://www.foo.com?referer=https://t.co/abcde", "http://t.co/xyzzy"],
        ),
        ("http://t.co http://t.co", ["http://t.co", "http://t.co"]),
        ("test http://xn--ls8h.XN--ls8h.la/", ["http://xn--ls8h.XN--ls8h.la/"]),
        (
            "test http://foobar.みんな/ http://foobar.中国/ http://foobar.پاکستان/ ",
            ["http://foobar.みんな/", "http://foobar.中国/", "http://foobar.پاکستان/"],
        ),
        ("\u2066\u202atest abcdef.com پاکستان http://twitter.com/\u202c\u2069", ["abcdef.com", "http://twitter.com/"]),
        (
            "http://en.wikipedia.org/wiki/Primer_(film) and http://example.com/@user/ ok",
            ["http://en.wikipedia.org/wiki/Primer_(film)", "http://example.com/@user/"],
        ),
        ("HTTPS://www.ExaMPLE.COM/index.html", ["HTTPS://www.ExaMPLE.COM/index.html"]),
        ("http://user:PASSW0RD@example.com:8080/login.php", []),  # userinfo is not extracted
        ("no dots here", []),
    ],
)
def test_url_extraction_matches_twitter_text(text: str, expected: list[str]) -> None:
    assert urls(text) == expected


def test_url_indices_follow_the_text() -> None:
    text = "皆さん見てください！ http://google.com"
    assert url_spans(text) == [(11, 28)]


@pytest.mark.parametrize(
    "text",
    [
        "a." * 50_000,  # took seconds at 500 characters with the reference regex
        "a-" * 50_000 + ".com",
        "a_" * 50_000 + "b.com",
        "a.é." * 25_000 + "com",
        "http://a.com/" + "(a" * 40_000 + ")",
        "x.com/" + "@a" * 40_000,
        "a.co" * 25_000,
    ],
)
def test_hostile_inputs_cost_linear_time(text: str) -> None:
    started = time.monotonic()
    weighted_length(text)
    assert time.monotonic() - started < 2.0


def test_a_huge_text_is_weighed_without_parsing() -> None:
    # Beyond 100,000 characters every code point weighs on its own (an upper bound, far over 280).
    assert weighted_length("a" * 200_000 + "故") == 200_002


def test_invalid_characters() -> None:
    assert has_invalid_characters("bad \ufffe")
    assert has_invalid_characters("bom \ufeff")
    assert not has_invalid_characters("fine ✓")
