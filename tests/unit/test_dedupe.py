"""service/dedupe.py: one identity per delivered event, whatever its serialisation."""

from __future__ import annotations

import hashlib
import json

import pytest

from service.dedupe import canonical_json, dedupe_key

BODY = {
    "event": "meeting.participant_joined",
    "event_ts": 1626230691572,
    "payload": {
        "account_id": "AAAAAABBBB",
        "object": {
            "id": "1234567890",
            "uuid": "4444AAAiAAAAAiAiAiiAii==",
            "topic": "Nouveau cours – Über 🚀",
            "participant": {"user_id": "16780288", "join_time": "2021-07-13T21:44:51Z", "registrant_id": None},
        },
    },
}


def key_of(raw: str | bytes) -> str:
    return dedupe_key(json.loads(raw))


def reorder(value):
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reorder(v) for v in value]
    return value


def test_key_is_sha256_hex_of_canonical_json():
    key = dedupe_key(BODY)
    assert len(key) == 64
    assert key == hashlib.sha256(canonical_json(BODY)).hexdigest()


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json({"b": 1, "a": [1, {"d": 2, "c": "é"}]}) == '{"a":[1,{"c":"é","d":2}],"b":1}'.encode()


def test_key_is_stable_across_calls():
    assert dedupe_key(BODY) == dedupe_key(json.loads(json.dumps(BODY)))


def test_key_stable_under_key_reordering():
    reordered = reorder(BODY)
    assert list(reordered) != list(BODY)
    assert json.dumps(reordered) != json.dumps(BODY)
    assert dedupe_key(reordered) == dedupe_key(BODY)


@pytest.mark.parametrize(
    "serialise",
    [
        lambda b: json.dumps(b),
        lambda b: json.dumps(b, indent=2),
        lambda b: json.dumps(b, indent="\t", separators=(" , ", " : ")),
        lambda b: json.dumps(b, separators=(",", ":")),
        lambda b: json.dumps(b, ensure_ascii=False),
        lambda b: json.dumps(b, sort_keys=True),
        lambda b: "\n  " + json.dumps(reorder(b), indent=4) + "\r\n",
    ],
    ids=["default", "indent", "odd-separators", "compact", "raw-unicode", "sorted", "reordered-padded"],
)
def test_key_stable_under_whitespace_and_escaping(serialise):
    assert key_of(serialise(BODY)) == dedupe_key(BODY)


def test_escaped_and_raw_non_ascii_give_same_key():
    escaped = '{"event":"meeting.updated","payload":{"object":{"topic":"\\u00dcber \\ud83d\\ude80"}}}'
    raw = '{"event":"meeting.updated","payload":{"object":{"topic":"Über 🚀"}}}'
    assert escaped != raw
    assert key_of(escaped) == key_of(raw.encode("utf-8"))


def test_non_ascii_values_differ_from_similar_ascii():
    assert dedupe_key({"topic": "Uber"}) != dedupe_key({"topic": "Über"})
    assert dedupe_key({"topic": "e\u0301"}) != dedupe_key({"topic": "\u00e9"})  # no silent normalisation


def test_lone_surrogate_escape_does_not_crash():
    # valid JSON that Python's parser accepts; intake computes the key after verifying the signature,
    # so a crash here is a 500 that Zoom retries and then drops
    body = json.loads('{"event":"meeting.updated","payload":{"object":{"topic":"broken \\ud800 emoji"}}}')
    key = dedupe_key(body)
    assert len(key) == 64
    assert key != dedupe_key({"event": "meeting.updated", "payload": {"object": {"topic": "broken  emoji"}}})


def mutations():
    """(id, mutate) pairs each changing exactly one value of BODY."""

    def set_path(path, value):
        def mutate(body):
            node = body
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            return body

        return mutate

    obj = ("payload", "object")
    part = (*obj, "participant")
    return [
        ("event", set_path(("event",), "meeting.participant_left")),
        ("event_ts+1", set_path(("event_ts",), 1626230691573)),
        ("account", set_path(("payload", "account_id"), "AAAAAABBBC")),
        ("id-int-vs-string", set_path((*obj, "id"), 1234567890)),
        ("uuid", set_path((*obj, "uuid"), "4444AAAiAAAAAiAiAiiAii=")),
        ("topic-case", set_path((*obj, "topic"), "nouveau cours – Über 🚀")),
        ("topic-emoji", set_path((*obj, "topic"), "Nouveau cours – Über 🚁")),
        ("join-time", set_path((*part, "join_time"), "2021-07-13T21:44:52Z")),
        ("null-vs-empty", set_path((*part, "registrant_id"), "")),
        ("user-id", set_path((*part, "user_id"), "16780289")),
        ("extra-field", set_path((*part, "email"), "")),
        ("null-vs-false", set_path((*part, "registrant_id"), False)),
    ]


@pytest.mark.parametrize("mutate", [m for _, m in mutations()], ids=[i for i, _ in mutations()])
def test_key_differs_when_any_value_differs(mutate):
    changed = mutate(json.loads(json.dumps(BODY)))
    assert changed != BODY
    assert dedupe_key(changed) != dedupe_key(BODY)


def test_list_order_matters():
    assert dedupe_key({"a": [1, 2]}) != dedupe_key({"a": [2, 1]})


def test_empty_object():
    assert dedupe_key({}) == hashlib.sha256(b"{}").hexdigest()
