"""X's weighted text length: a port of twitter-text's ``parseTweet`` with its config v3.

X counts a post against 280 *weighted* characters, with the open-source twitter-text library
(github.com/twitter/twitter-text, ``config/v3.json``), so crosspost counts the same way to refuse
an over-long post before sending it (``twitter.text.max_graphemes``). The rules, in order, at
each position of the NFC-normalized text:

1. a URL (as twitter-text extracts them: with ``http(s)://``, or a bare domain with a known TLD)
   counts ``transformedURLLength`` = 23, whatever its length (X wraps every link in t.co);
2. an emoji, however many code points its sequence has (skin tones, ZWJ families, flags,
   keycaps), counts 2 (``emojiParsingEnabled``: ``defaultWeight``);
3. any other code point weighs 1 in the ranges U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F and
   U+2032–U+2037 (Latin, Greek, Cyrillic, Hebrew, Arabic, ... and common punctuation), else 2
   (CJK, most other scripts, astral characters).

The URL grammar below follows twitter-text's regular expressions (``extractUrl`` and its parts,
``validAsciiDomain``, the t.co and IDNA length checks) with its TLD lists, in its latest version
(config v3: bare ``it.so`` is a URL, a t.co link keeps its query). Emoji sequences are
recognised with Unicode's emoji properties (``Extended_Pictographic``, ``Emoji_Modifier``,
``Regional_Indicator``) instead of twemoji's generated list: the two agree on every sequence that
matters for the count; bare ``©``/``®`` stay text, as in twemoji.

The sandbox counts with this module too, on purpose: it is X's own counting library, and its
unit tests pin it to twitter-text's conformance cases (``tests/unit/platforms/test_twitter_text.py``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

import regex

MAX_WEIGHTED_LENGTH: Final = 280
_SCALE: Final = 100
_DEFAULT_WEIGHT: Final = 200
_URL_WEIGHT: Final = 23 * _SCALE
# (first, last, weight) code point ranges of config v3; everything else weighs _DEFAULT_WEIGHT.
_RANGES: Final = ((0x0000, 0x10FF, 100), (0x2000, 0x200D, 100), (0x2010, 0x201F, 100), (0x2032, 0x2037, 100))
_MAX_URL_LENGTH: Final = 4096
_MAX_TCO_SLUG_LENGTH: Final = 40
_MAX_DOMAIN_LABEL_LENGTH: Final = 63
# Longer texts are weighed without looking for URLs and emoji (see ``weighted_length``).
_MAX_PARSED_LENGTH: Final = 100_000
_INVALID_CHARACTERS: Final = "\ufffe\ufeff\uffff"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# twitter-text's TLD lists (IANA generic and country-code TLDs, incl. IDN ones).
_GTLDS: Final = _words(
    """
    aaa aarp abarth abb abbott abbvie abc able abogado abudhabi academy accenture accountant accountants aco active
    actor adac ads adult aeg aero aetna afamilycompany afl africa agakhan agency aig aigo airbus airforce airtel
    akdn alfaromeo alibaba alipay allfinanz allstate ally alsace alstom americanexpress americanfamily amex amfam
    amica amsterdam analytics android anquan anz aol apartments app apple aquarelle arab aramco archi army arpa art
    arte asda asia associates athleta attorney auction audi audible audio auspost author auto autos avianca aws axa
    azure baby baidu banamex bananarepublic band bank bar barcelona barclaycard barclays barefoot bargains baseball
    basketball bauhaus bayern bbc bbt bbva bcg bcn beats beauty beer bentley berlin best bestbuy bet bharti bible
    bid bike bing bingo bio biz black blackfriday blanco blockbuster blog bloomberg blue bms bmw bnl bnpparibas
    boats boehringer bofa bom bond boo book booking boots bosch bostik boston bot boutique box bradesco bridgestone
    broadway broker brother brussels budapest bugatti build builders business buy buzz bzh cab cafe cal call
    calvinklein cam camera camp cancerresearch canon capetown capital capitalone car caravan cards care career
    careers cars cartier casa case caseih cash casino cat catering catholic cba cbn cbre cbs ceb center ceo cern cfa
    cfd chanel channel charity chase chat cheap chintai chloe christmas chrome chrysler church cipriani circle cisco
    citadel citi citic city cityeats claims cleaning click clinic clinique clothing cloud club clubmed coach codes
    coffee college cologne com comcast commbank community company compare computer comsec condos construction
    consulting contact contractors cooking cookingchannel cool coop corsica country coupon coupons courses cpa
    credit creditcard creditunion cricket crown crs cruise cruises csc cuisinella cymru cyou dabur dad dance data
    date dating datsun day dclk dds deal dealer deals degree delivery dell deloitte delta democrat dental dentist
    desi design dev dhl diamonds diet digital direct directory discount discover dish diy dnp docs doctor dodge dog
    doha domains doosan dot download drive dtv dubai duck dunlop duns dupont durban dvag dvr earth eat eco edeka edu
    education email emerck energy engineer engineering enterprises epost epson equipment ericsson erni esq estate
    esurance etisalat eurovision eus events everbank exchange expert exposed express extraspace fage fail fairwinds
    faith family fan fans farm farmers fashion fast fedex feedback ferrari ferrero fiat fidelity fido film final
    finance financial fire firestone firmdale fish fishing fit fitness flickr flights flir florist flowers flsmidth
    fly foo food foodnetwork football ford forex forsale forum foundation fox free fresenius frl frogans frontdoor
    frontier ftr fujitsu fujixerox fun fund furniture futbol fyi gal gallery gallo gallup game games gap garden gay
    gbiz gdn gea gent genting george ggee gift gifts gives giving glade glass gle global globo gmail gmbh gmo gmx
    godaddy gold goldpoint golf goo goodhands goodyear goog google gop got gov grainger graphics gratis green gripe
    grocery group guardian gucci guge guide guitars guru hair hamburg hangout haus hbo hdfc hdfcbank health
    healthcare help helsinki here hermes hgtv hiphop hisamitsu hitachi hiv hkt hockey holdings holiday homedepot
    homegoods homes homesense honda honeywell horse hospital host hosting hot hoteles hotels hotmail house how hsbc
    htc hughes hyatt hyundai ibm icbc ice icu ieee ifm iinet ikano imamat imdb immo immobilien inc industries
    infiniti info ing ink institute insurance insure int intel international intuit investments ipiranga irish
    iselect ismaili ist istanbul itau itv iveco iwc jaguar java jcb jcp jeep jetzt jewelry jio jlc jll jmp jnj jobs
    joburg jot joy jpmorgan jprs juegos juniper kaufen kddi kerryhotels kerrylogistics kerryproperties kfh kia kim
    kinder kindle kitchen kiwi koeln komatsu kosher kpmg kpn krd kred kuokgroup kyoto lacaixa ladbrokes lamborghini
    lamer lancaster lancia lancome land landrover lanxess lasalle lat latino latrobe law lawyer lds lease leclerc
    lefrak legal lego lexus lgbt liaison lidl life lifeinsurance lifestyle lighting like lilly limited limo lincoln
    linde link lipsy live living lixil llc llp loan loans locker locus loft lol london lotte lotto love lpl
    lplfinancial ltd ltda lundbeck lupin luxe luxury macys madrid maif maison makeup man management mango map market
    marketing markets marriott marshalls maserati mattel mba mcd mcdonalds mckinsey med media meet melbourne meme
    memorial men menu meo merckmsd metlife miami microsoft mil mini mint mit mitsubishi mlb mls mma mobi mobile
    mobily moda moe moi mom monash money monster montblanc mopar mormon mortgage moscow moto motorcycles mov movie
    movistar msd mtn mtpc mtr museum mutual mutuelle nab nadex nagoya name nationwide natura navy nba nec net
    netbank netflix network neustar new newholland news next nextdirect nexus nfl ngo nhk nico nike nikon ninja
    nissan nissay nokia northwesternmutual norton now nowruz nowtv nra nrw ntt nyc obi observer off office okinawa
    olayan olayangroup oldnavy ollo omega one ong onion onl online onyourside ooo open oracle orange org organic
    orientexpress origins osaka otsuka ott ovh page pamperedchef panasonic panerai paris pars partners parts party
    passagens pay pccw pet pfizer pharmacy phd philips phone photo photography photos physio piaget pics pictet
    pictures pid pin ping pink pioneer pizza place play playstation plumbing plus pnc pohl poker politie porn post
    pramerica praxi press prime pro prod productions prof progressive promo properties property protection pru
    prudential pub pwc qpon quebec quest qvc racing radio raid read realestate realtor realty recipes red redstone
    redumbrella rehab reise reisen reit reliance ren rent rentals repair report republican rest restaurant review
    reviews rexroth rich richardli ricoh rightathome ril rio rip rmit rocher rocks rodeo rogers room rsvp rugby ruhr
    run rwe ryukyu saarland safe safety sakura sale salon samsclub samsung sandvik sandvikcoromant sanofi sap sapo
    sarl sas save saxo sbi sbs sca scb schaeffler schmidt scholarships school schule schwarz science scjohnson scor
    scot search seat secure security seek select sener services ses seven sew sex sexy sfr shangrila sharp shaw
    shell shia shiksha shoes shop shopping shouji show showtime shriram silk sina singles site ski skin sky skype
    sling smart smile sncf soccer social softbank software sohu solar solutions song sony soy space spiegel sport
    spot spreadbetting srl srt stada staples star starhub statebank statefarm statoil stc stcgroup stockholm storage
    store stream studio study style sucks supplies supply support surf surgery suzuki swatch swiftcover swiss sydney
    symantec systems tab taipei talk taobao target tatamotors tatar tattoo tax taxi tci tdk team tech technology tel
    telecity telefonica temasek tennis teva thd theater theatre tiaa tickets tienda tiffany tips tires tirol tjmaxx
    tjx tkmaxx tmall today tokyo tools top toray toshiba total tours town toyota toys trade trading training travel
    travelchannel travelers travelersinsurance trust trv tube tui tunes tushu tvs ubank ubs uconnect unicom
    university uno uol ups vacations vana vanguard vegas ventures verisign vermögensberater vermögensberatung
    versicherung vet viajes video vig viking villas vin vip virgin visa vision vista vistaprint viva vivo vlaanderen
    vodka volkswagen volvo vote voting voto voyage vuelos wales walmart walter wang wanggou warman watch watches
    weather weatherchannel webcam weber website wed wedding weibo weir whoswho wien wiki williamhill win windows
    wine winners wme wolterskluwer woodside work works world wow wtc wtf xbox xerox xfinity xihuan xin xperia xxx
    xyz yachts yahoo yamaxun yandex yodobashi yoga yokohama you youtube yun zappos zara zero zip zippo zone zuerich
    дети католик ком москва онлайн орг рус сайт קום ابوظبي اتصالات ارامكو العليان بازار بيتك شبكة عرب كاثوليك كوم
    موبايلي موقع همراه कॉम नेट संगठन คอม みんな クラウド グーグル コム ストア セール ファッション ポイント 世界 中信
    中文网 企业 佛山 信息 健康 八卦 公司 公益 商城 商店 商标 嘉里 嘉里大酒店 在线 大众汽车 大拿 天主教 娱乐 家電
    工行 广东 微博 慈善 我爱你 手机 手表 招聘 政务 政府 新闻 时尚 書籍 机构 淡马锡 游戏 点看 珠宝 移动 组织机构 网址
    网店 网站 网络 联通 诺基亚 谷歌 购物 通販 集团 電訊盈科 飞利浦 食品 餐厅 香格里拉 닷넷 닷컴 삼성
"""
)
_CCTLDS: Final = _words(
    """
    ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs bt bv bw
    by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg eh er es et eu fi fj
    fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir
    is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml
    mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr
    ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th
    tj tk tl tm tn to tp tr tt tv tw tz ua ug uk um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw ελ ευ бг бел
    ею мкд мон рф срб укр қаз հայ الاردن البحرين الجزائر السعودية المغرب امارات ایران بارت بھارت تونس سودان سورية
    عراق عمان فلسطين قطر مصر مليسيا موريتانيا پاکستان ڀارت भारत भारतम् भारोत বাংলা ভারত ভাৰত ਭਾਰਤ ભારત ଭାରତ இந்தியா
    இலங்கை சிங்கப்பூர் భారత్ ಭಾರತ ഭാരതം ලංකා ไทย ລາວ გე 中国 中國 台湾 台灣 新加坡 澳門 香港 한국
"""
)


# ---- the URL grammar (twitter-text's regexp/*.js) ----------------------------------------------
#
# twitter-text finds URLs with one large regular expression. Its domain part
# (``validSubdomain* validDomainName (validGTLD|validCCTLD|validPunycode)``) backtracks over every
# dotted label from every start position: quadratic in the text, with a 1,500-word alternation
# at each step (a 500-character "a.a.a…" took seconds). The same grammar is matched here in one
# pass: each run of domain characters is measured once, the TLD after each dot is looked up once,
# and the longest domain from a label is memoized, so a long text costs linear time. The parts
# after the domain (port, path, query) keep twitter-text's expressions.


_PUNCTUATION: Final = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
# Characters that cannot be part of a domain (twitter-text ``invalidDomainChars``).
_NOT_DOMAIN: Final = frozenset(
    _PUNCTUATION
    + _INVALID_CHARACTERS
    + "".join(chr(c) for c in range(0x09, 0x0E))
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\x20\x85\xa0\u1680\u180e\u2028\u2029\u202f\u205f\u3000"
    + "\u202a\u202b\u202c\u202d\u202e\u061c\u200e\u200f\u2066\u2067\u2068\u2069"  # directional marks
)
_TLD_BOUNDARY: Final = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ@+-")
_TLDS: Final = _GTLDS | _CCTLDS
_TLD_LENGTHS: Final = sorted({len(tld) for tld in _TLDS}, reverse=True)
_ASCII_LABEL_CHARS: Final = frozenset(
    "-abcdefghijklmnopqrstuvwxyz0123456789"
    + "".join(chr(c) for c in (*range(0xC0, 0xD7), *range(0xD8, 0xF7), *range(0xF8, 0x250), *range(0x300, 0x370)))
    + "".join(chr(c) for c in (*range(0x1E00, 0x1F00), 0x253, 0x254, 0x256, 0x257, 0x259, 0x25B, 0x263, 0x268))
    + "".join(chr(c) for c in (0x26F, 0x272, 0x289, 0x28B, 0x2BB))
)
_CYRILLIC: Final = "\u0400-\u04ff"
_LATIN_ACCENTS: Final = (
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263\u0268"
    "\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_PATH_CHAR: Final = f"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{_LATIN_ACCENTS}]"
# Up to two levels of balanced parentheses: /wiki/Primer_(film), /track/We_Up_(Album_(Edited))/
_PARENS: Final = f"\\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\\({_PATH_CHAR}+\\){_PATH_CHAR}*))\\)"
_PATH_END: Final = f"(?:[+\\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|(?:{_PARENS}))"
# "@" only inside a path: http://example.com/@user/
_PATH: Final = f"(?:(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY_CHAR: Final = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_QUERY_END: Final = r"[a-z0-9\-_&=#/]"
# After the domain: port, path, query (``extractUrl`` groups 6-8).
_AFTER_DOMAIN: Final = re.compile(f"(?::[0-9]+)?(?P<path>/{_PATH}*)?(?:\\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE)
_PROTOCOL: Final = re.compile(r"https?://", re.IGNORECASE)
_TCO_URL: Final = re.compile(f"https?://t\\.co/([a-z0-9]+)(?:\\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE)
# Not a URL start after these (``validUrlPrecedingChars``): "a@b.com", "$x.com", "#y.com".
_NOT_BEFORE_URL: Final = frozenset("@＠$#＃" + _INVALID_CHARACTERS)


def _tld_length(text: str, start: int) -> int:
    """Length of the TLD at ``start`` (``validGTLD|validCCTLD|validPunycode``), else 0. A listed
    TLD must not run on into a letter, digit, "@", "+" or "-"; the longest one wins."""
    for length in _TLD_LENGTHS:
        end = start + length
        if (
            end <= len(text)
            and text[start:end].lower() in _TLDS
            and (end == len(text) or text[end] not in _TLD_BOUNDARY)
        ):
            return length
    if text[start : start + 4].lower() == "xn--":
        end = start + 4
        while end < len(text) and (text[end] == "-" or (text[end].isascii() and text[end].isalnum())):
            end += 1
        return end - start if end > start + 4 else 0
    return 0


class _DomainScanner:
    """Where a domain starting at a position ends, for every position of one text, in linear
    time overall: ``label.`` × k followed by a TLD, the furthest TLD winning (the regexes are
    greedy). Two grammars use it:

    - ``validDomain`` (``strict``): a label is a run of domain characters, "_" and "-" that starts
      and ends with a domain character, and the label right before the TLD has no "_";
    - ``validAsciiDomain``: a label is a run of ASCII letters, digits, "-" and Latin accents."""

    def __init__(self, text: str, *, strict: bool) -> None:
        self.text = text
        self.strict = strict
        self._run_end: dict[int, int] = {}
        self._tld: dict[int, int] = {}
        self._furthest: dict[int, int | None] = {}

    def _in_label(self, char: str) -> bool:
        if self.strict:
            return char in "_-" or char not in _NOT_DOMAIN
        return char.lower() in _ASCII_LABEL_CHARS

    def _end_of_run(self, start: int) -> int:
        """End of the run of label characters that ``start`` is in (cached for the whole run, so
        a run is walked once however many starts fall inside it)."""
        found = self._run_end.get(start)
        if found is not None:
            return found
        end = start
        while end < len(self.text) and self._in_label(self.text[end]):
            end += 1
        for index in range(start, end + 1):
            self._run_end[index] = end
        return end

    def _label(self, start: int) -> int | None:
        """Where the label starting at ``start`` ends (its dot), if there is one."""
        end = self._end_of_run(start)
        text = self.text
        if end == start or end >= len(text) or text[end] != ".":
            return None
        if self.strict and (text[start] in _NOT_DOMAIN or text[end - 1] in _NOT_DOMAIN):
            return None
        return end

    def _tld_at(self, start: int) -> int:
        found = self._tld.get(start)
        if found is None:
            found = self._tld[start] = _tld_length(self.text, start)
        return found

    def domain_end(self, start: int) -> int | None:
        """End of the longest domain starting at ``start``, or None."""
        chain: list[tuple[int, int]] = []  # (label start, its dot), up to a known or missing label
        position = start
        while position not in self._furthest:
            dot = self._label(position)
            if dot is None:
                self._furthest[position] = None
                break
            chain.append((position, dot))
            position = dot + 1
        for label_start, dot in reversed(chain):  # from the far end back to ``start``
            further = self._furthest.get(dot + 1)
            last_label_ok = not (self.strict and "_" in self.text[label_start:dot])
            if further is None and last_label_ok and self._tld_at(dot + 1):
                further = dot + 1 + self._tld_at(dot + 1)
            self._furthest[label_start] = further
        return self._furthest.get(start)

    def domains(self) -> list[tuple[int, int]]:
        """Every domain, leftmost first, as a global regex search finds them."""
        found = []
        position = 0
        while position < len(self.text):
            end = self.domain_end(position)
            if end is None:
                position += 1
                continue
            found.append((position, end))
            position = end
        return found


def _domain_is_valid(domain: str) -> bool:
    """twitter-text's ``idna.toAscii``: every label is 1..63 characters once punycode-encoded."""
    if domain.lower().startswith("xn--") and not _DomainScanner(domain, strict=False).domains():
        return False
    return all(1 <= len(_ascii_label(label)) <= _MAX_DOMAIN_LABEL_LENGTH for label in domain.split("."))


def _ascii_label(label: str) -> str:
    if label.isascii():
        return label
    try:
        return "xn--" + label.encode("punycode").decode("ascii")
    except UnicodeError:
        return ""


def _url_is_valid(url: str, protocol: str, domain: str) -> bool:
    """``isValidUrl``: a valid domain, and at most 4,096 characters with the domain in punycode."""
    if not _domain_is_valid(domain):
        return False
    ascii_domain = ".".join(_ascii_label(label) for label in domain.split("."))
    return len(protocol) + len(url) + len(ascii_domain) - len(domain) <= _MAX_URL_LENGTH


@dataclass(frozen=True)
class _UrlMatch:
    start: int
    end: int
    protocol: str
    domain_end: int
    path: bool


def _match_url(scanner: _DomainScanner, start: int) -> _UrlMatch | None:
    """``(https?://)?validDomain(:port)?(/path)?(?query)?`` at ``start``."""
    text = scanner.text
    protocol = _PROTOCOL.match(text, start)
    for offset in ([protocol.end() - start] if protocol else []) + [0]:
        domain_end = scanner.domain_end(start + offset)
        if domain_end is None:
            continue
        rest = _AFTER_DOMAIN.match(text, domain_end)
        end = rest.end() if rest else domain_end
        path = bool(rest and rest.group("path"))
        return _UrlMatch(start, end, text[start : start + offset], domain_end, path)
    return None


def url_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every URL twitter-text extracts from ``text`` (``extractUrlsWithIndices``)."""
    if "." not in text:
        return []
    scanner = _DomainScanner(text, strict=True)
    spans: list[tuple[int, int]] = []
    position = 0
    while position < len(text):
        # ``validUrlPrecedingChars``: a URL follows a character that is not an ASCII letter or
        # digit, "@", "$", "#", or starts the text.
        char = text[position]
        before, found = "", None
        if char not in _NOT_BEFORE_URL and not (char.isascii() and char.isalnum()):
            before, found = char, _match_url(scanner, position + 1)
        if found is None and position == 0:
            before, found = "", _match_url(scanner, 0)
        if found is None:
            position += 1
            continue
        position = found.end
        spans += _kept_spans(text, found, before)
    return spans


def _kept_spans(text: str, found: _UrlMatch, before: str) -> list[tuple[int, int]]:
    """The spans twitter-text keeps of one matched URL (none when it fails its checks)."""
    url = text[found.start : found.end]
    domain_start = found.start + len(found.protocol)
    domain = text[domain_start : found.domain_end]
    if not _url_is_valid(url, found.protocol or "https://", domain):
        return []
    if found.protocol:
        tco = _TCO_URL.match(url)
        if tco is None:
            return [(found.start, found.end)]
        if len(tco.group(1)) > _MAX_TCO_SLUG_LENGTH:
            return []
        return [(found.start, found.start + tco.end())]  # a t.co link ends with its slug (and query)
    # A bare domain: only its ASCII domain parts count, never right after "-", "_", "." or "/".
    if before and before in "-_./":
        return []
    spans: list[tuple[int, int]] = []
    last: tuple[int, int] | None = None
    for start, end in _DomainScanner(domain, strict=False).domains():
        last = (domain_start + start, domain_start + end)
        spans.append(last)
    if last is not None and found.path:
        spans[-1] = (last[0], found.end)  # the last domain carries the path and query
    return spans


def _char_weight(code_point: int) -> int:
    for first, last, weight in _RANGES:
        if first <= code_point <= last:
            return weight
    return _DEFAULT_WEIGHT


# An emoji as one unit: tag-sequence flags, keycaps, regional-indicator flags, and pictographs
# with their presentation selector / skin tone, joined by ZWJ; not when U+FE0E asks for text style.
_EMOJI: Final = regex.compile(
    "\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"
    "|[#*0-9]\ufe0f?\u20e3"
    "|\\p{Regional_Indicator}\\p{Regional_Indicator}"
    "|(?:[\u00a9\u00ae]\ufe0f|(?![\u00a9\u00ae])\\p{Extended_Pictographic})"
    "(?:\ufe0f|\\p{Emoji_Modifier}|(?!\ufe0e))"
    "(?:\u200d\\p{Extended_Pictographic}(?:\ufe0f|\\p{Emoji_Modifier})?)*"
)
_HEAVY: Final = regex.compile("[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")
_INVALID: Final = regex.compile(f"[{_INVALID_CHARACTERS}]")


def weighted_length(text: str) -> int:
    """The length X counts against ``MAX_WEIGHTED_LENGTH`` (twitter-text ``weightedLength``)."""
    normalized = unicodedata.normalize("NFC", text)
    if len(normalized) > _MAX_PARSED_LENGTH:
        # Far beyond any post (X's longest is 25,000): weigh code points only, at C speed, so a
        # huge body cannot keep preflight busy. Every URL and emoji then counts in full.
        return len(normalized) + len(_HEAVY.findall(normalized))
    url_ends = dict(url_spans(normalized))
    total = 0
    index = 0
    while index < len(normalized):
        url_end = url_ends.get(index)
        if url_end is not None:
            total += _URL_WEIGHT
            index = url_end
            continue
        emoji = _EMOJI.match(normalized, index)
        if emoji is not None:
            total += _DEFAULT_WEIGHT
            index = emoji.end()
            continue
        total += _char_weight(ord(normalized[index]))
        index += 1
    return total // _SCALE


def has_invalid_characters(text: str) -> bool:
    """U+FFFE, U+FEFF or U+FFFF: twitter-text (and X) refuse text that holds one."""
    return _INVALID.search(text) is not None
