"""Hypothesis strategies for hostile webhook input, and the oracle the properties judge answers by.

The oracle restates the endpoint's documented contract (docs/architecture.md, "Webhook answers";
service/envelope.py) from the bytes alone: a signed body is an event when it is
strict UTF-8 JSON, an object, with a non-empty string `event`, an object
`payload`, and nested no deeper than MAX_NESTING; every such body is kept (a url_validation
answered instead), every other one is a 400.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from service.envelope import MAX_NESTING
from tests.helpers import FIXTURES, SECRET, fixture

FIXTURE_NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))
EVENT_NAMES = sorted({fixture(name)["event"] for name in FIXTURE_NAMES})
FIXTURE_BODIES = [json.dumps(fixture(name)).encode() for name in FIXTURE_NAMES]


def _keys(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        found.update(value)
        for child in value.values():
            _keys(child, found)
    elif isinstance(value, list):
        for child in value:
            _keys(child, found)
    return found


# Keys the fixtures use: a mutated dict with these reaches the handlers' code paths, random keys do not.
KNOWN_KEYS = sorted(set().union(*(_keys(fixture(name), set()) for name in FIXTURE_NAMES)))

# --- JSON values of every kind -------------------------------------------------------------------

characters = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),  # lone surrogates: valid as JSON escapes, not encodable as UTF-8
    st.sampled_from("\x00\ufeff\u202e\u0301"),
)
# st.text over a mixed alphabet rarely draws from the odd branches; joining drawn characters does.
short_text = st.one_of(st.text(max_size=30), st.lists(characters, max_size=30).map("".join))
# Past every column's width: 64, 128, 255, 320.
long_text = st.builds(lambda char, n: char * n, characters, st.integers(60, 400))
# Values chosen to break something specific: the edges of datetime, of the integer columns (32 and
# 64 bits), of the text columns (64, 128, 255, 320), of the time zone database, and of UTF-8.
# ("America" is a directory of the zone database, "A" * 300 a file name too long for it.)
EDGE_TIMES = [
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "1970-01-01T00:00:00Z",
    "2026-02-30T09:00:00Z",
    "2026-12-01T09:00:00",
    "2026-12-01T09:00:00+14:00",
    "",
    "yesterday",
]
EDGE_NUMBERS = [
    0,
    -1,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    10**30,
    1.5,
    float("nan"),
    float("inf"),
    True,
    "85212345678",
    "9" * 25,
    " 7 ",
]
EDGE_TEXT = [
    "",
    "\x00",
    "\ud800",
    "a\udfffb",
    "x" * 129,
    "x" * 321,
    "x" * 5000,
    "America",
    "A" * 300,
    "../../etc/passwd",
    "Über 🚀",
    "\u202e<b>",
]
EDGE_STRUCTURES = [None, [], {}, [1]]
DELETE = object()  # a variant that removes the node instead
TIME_KEYS = {"start_time", "end_time", "join_time", "leave_time", "date_time", "deauthorization_time"}
NUMBER_KEYS = {"id", "type", "duration", "event_ts", "time_stamp"}


def edge_values(key: Any) -> list[Any]:
    """The edge values worth trying in place of the value at `key`: its own kind's first."""
    return EDGE_TIMES if key in TIME_KEYS else EDGE_NUMBERS if key in NUMBER_KEYS else EDGE_TEXT


zoom_times = st.one_of(
    st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.sampled_from(EDGE_TIMES),
)
zoomish_text = st.one_of(
    zoom_times,
    st.integers(0, 10**20).map(str),  # meeting numbers, and numbers too big for one
    st.sampled_from(EDGE_TEXT),
    st.sampled_from(EVENT_NAMES),
)
integers = st.one_of(st.integers(), st.sampled_from(EDGE_NUMBERS), st.integers(0, 2**63))
scalars = st.one_of(st.none(), st.booleans(), integers, st.floats(), short_text, long_text, zoomish_text)
keys = st.one_of(st.sampled_from(KNOWN_KEYS), short_text)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=12,
)

# --- mutated Zoom events -------------------------------------------------------------------------


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every node below the root: leaves and subtrees alike."""
    found = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def parent(body: Any, path: tuple) -> Any:
    for key in path[:-1]:
        body = body[key]
    return body


# Later than any LMS edit a test makes: a Zoom update with this stamp is applied, not lost to a newer edit.
FUTURE_MS = 4_102_444_800_000  # 2100-01-01


def newest(body: dict[str, Any], offset: int = 0) -> dict[str, Any]:
    """The fixture with its update stamped in the future, so its fields reach the training."""
    payload = body.get("payload")
    if isinstance(payload, dict) and "time_stamp" in payload:
        payload["time_stamp"] = FUTURE_MS + offset
    return body


@st.composite
def mutated_events(draw) -> dict[str, Any]:
    """One of the project's fixtures with 1-4 nodes replaced, deleted or added; sometimes renamed.

    Replacements are edge values of the key's kind as often as random JSON, so that the fields the
    handlers read meet the values that break them within a CI budget of examples.
    """
    body = newest(copy.deepcopy(fixture(draw(st.sampled_from(FIXTURE_NAMES)))), draw(st.integers(0, 10**6)))
    for _ in range(draw(st.integers(1, 4))):
        nodes = paths(body)
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "rename"]))
        if action == "rename":
            body["event"] = draw(st.one_of(st.sampled_from(EVENT_NAMES), short_text))
            continue
        if not nodes:
            break
        path = draw(st.sampled_from(nodes))
        holder = parent(body, path)
        if action == "replace":
            # A copy: the edge lists' [] and {} must not grow with later "add" actions.
            holder[path[-1]] = copy.deepcopy(
                draw(st.one_of(st.sampled_from(edge_values(path[-1]) + EDGE_STRUCTURES), json_values))
            )
        elif action == "delete":
            del holder[path[-1]]
        elif isinstance(holder, dict):
            holder[draw(keys)] = draw(json_values)
        else:
            holder.append(draw(json_values))
    return body


def serialise(body: Any, how: str = "ascii") -> bytes:
    """JSON as a sender might write it: ASCII escapes (surrogates as \\udXXX), or raw UTF-8 (surrogates
    then become bytes no strict UTF-8 decoder takes)."""
    if how == "ascii":
        return json.dumps(body).encode()
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


def nested(depth: int, kind: str) -> str:
    """JSON text `depth` containers deep, written as text: json.dumps would hit the recursion limit."""
    opening, closing = ("[", "]") if kind == "list" else ('{"a":', "}")
    return opening * depth + "1" + closing * depth


# --- signatures and headers ----------------------------------------------------------------------


def hmac_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Zoom's v0 signature, computed here rather than by the module under test."""
    message = b"v0:" + timestamp.encode("utf-8") + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60)
TOKEN_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
header_names = st.text(TOKEN_CHARACTERS, min_size=1, max_size=20).filter(
    lambda name: (
        name.lower() not in ("content-length", "content-type", "transfer-encoding", "host")
        and not name.lower().startswith("x-zm-")
    )
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=utf-16",
            "application/json; charset=latin-1",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=zz",
            "text/plain; charset=utf-32",
            "",
        ]
    ),
    header_values,
)


def _never_in_window(max_age: int, max_future: int) -> st.SearchStrategy[str]:
    """Timestamps the endpoint must refuse whatever the signature: absent spellings, stale, future, not a number."""
    now = int(time.time())
    return st.one_of(
        st.builds(lambda k: str(now - max_age - k), st.integers(60, 10**9)),  # stale by at least a minute
        st.builds(lambda k: str(now + max_future + k), st.integers(60, 10**9)),  # future by at least a minute
        st.sampled_from(["-5", "9" * 30, "1e9", "0x10", "12.5", "１２３", "", " "]),
        st.builds(lambda pad: "0" * pad + str(now), st.integers(3, 20)),  # more than 12 digits
        header_values.filter(lambda text: not (text.isascii() and text.isdigit())),
    )


@st.composite
def unverifiable_headers(draw, body: bytes, max_age: int, max_future: int) -> list[tuple[str, str]]:
    """Header sets that can never verify `body`: by construction, a fresh timestamp never meets a correct HMAC."""
    now = str(int(time.time()))
    fresh = draw(st.booleans())
    timestamp = now if fresh else draw(st.one_of(st.none(), _never_in_window(max_age, max_future)))
    ts = timestamp or now
    correct = hmac_signature(SECRET, ts, body)
    wrong = [
        st.none(),
        header_values,
        st.text("0123456789abcdef", min_size=64, max_size=64)
        .map(lambda digits: "v0=" + digits)
        .filter(lambda sig: sig != correct),
        st.just(correct.upper()).filter(lambda sig: sig != correct),
        st.just(correct[:-1]),
        st.just(correct + "0"),
        st.just(" " + correct),
        st.text(min_size=1).filter(lambda s: s != SECRET).map(lambda other: hmac_signature(other, ts, body)),
        st.just(hmac_signature(SECRET, ts, body + b" ")),  # another body
        st.just(hmac_signature(SECRET, str(int(ts) + 1) if ts.isdigit() else ts + "1", body)),  # another time
    ]
    if not fresh:
        wrong.append(st.just(correct))  # the right HMAC, made useless by the timestamp
    signature = draw(st.one_of(*wrong))
    headers = [("content-type", draw(content_types))]
    if timestamp is not None:
        headers.append(("x-zm-request-timestamp", timestamp))
    if signature is not None:
        headers.append(("x-zm-signature", signature))
    headers += draw(st.lists(st.tuples(header_names, header_values), max_size=4))
    return headers


# --- the oracle ----------------------------------------------------------------------------------


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def as_event(raw_body: bytes) -> dict[str, Any] | None:
    """The body the endpoint must keep (or answer, for url_validation), or None when it must answer 400."""
    try:
        body = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
        return None
    if not isinstance(body.get("event"), str) or not body["event"] or _depth(body) > MAX_NESTING:
        return None
    return body


def canonical(body: Any) -> str:
    """What makes two deliveries one event (sorted keys, no spaces), spelled in ASCII."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))
