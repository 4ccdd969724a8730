"""zoomsim/faults.py: parsing a fault, and what a plan of faults does to each request."""

from __future__ import annotations

import random

import pytest

from zoomsim.faults import Fault, FaultPlan, Outcome, parse_fault


def plan_of(*faults: Fault, seed: int = 0) -> FaultPlan:
    plan = FaultPlan(random.Random(seed))
    for fault in faults:
        plan.add(fault)
    return plan


# --- parse_fault ---------------------------------------------------------------------------


def test_parse_fault_defaults():
    fault = parse_fault({"kind": "status"})
    assert fault == Fault(kind="status", status=503, latency=0.0, count=None, share=None, path=None, method=None)


def test_parse_fault_reads_every_field():
    fault = parse_fault(
        {"kind": "latency", "latency": "1.5", "count": "2", "share": "0.25", "path": "^/v2/users", "method": "GET"}
    )
    assert fault == Fault(kind="latency", latency=1.5, count=2, share=0.25, path="^/v2/users", method="GET")


@pytest.mark.parametrize("spec", [{}, {"kind": "explode"}, {"kind": "STATUS"}, {"kind": None}])
def test_parse_fault_refuses_unknown_kinds(spec):
    with pytest.raises(ValueError, match="kind must be one of status, latency, drop"):
        parse_fault(spec)


@pytest.mark.parametrize("status", [200, 204, 302, 399, 600, 0])
def test_parse_fault_refuses_statuses_that_are_not_errors(status):
    with pytest.raises(ValueError, match="status must be an HTTP error status"):
        parse_fault({"kind": "status", "status": status})


@pytest.mark.parametrize("status", [400, 429, 500, 599])
def test_parse_fault_accepts_error_statuses(status):
    assert parse_fault({"kind": "status", "status": status}).status == status


@pytest.mark.parametrize("share", [-0.01, 1.01, 2])
def test_parse_fault_refuses_shares_outside_zero_to_one(share):
    with pytest.raises(ValueError, match="share must be between 0 and 1"):
        parse_fault({"kind": "drop", "share": share})


@pytest.mark.parametrize("share", [0, 0.0, 0.5, 1])
def test_parse_fault_accepts_shares_from_zero_to_one(share):
    assert parse_fault({"kind": "drop", "share": share}).share == float(share)


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "status", "status": "teapot"},
        {"kind": "latency", "latency": "slow"},
        {"kind": "status", "count": "many"},
        {"kind": "status", "share": "half"},
    ],
)
def test_parse_fault_refuses_non_numbers_with_value_error(spec):
    with pytest.raises(ValueError):
        parse_fault(spec)


def test_parse_fault_refuses_a_bad_path_regex_with_value_error():
    # The docstring promises ValueError for a bad fault; callers catch ValueError to answer 400.
    with pytest.raises(ValueError):
        parse_fault({"kind": "status", "path": "/meetings/("})


def test_describe_leaves_out_unset_fields():
    assert parse_fault({"kind": "status", "count": 1}).describe() == {
        "kind": "status",
        "status": 503,
        "latency": 0.0,
        "count": 1,
    }


# --- Outcome ------------------------------------------------------------------------------


def test_outcome_any():
    assert not Outcome().any
    assert Outcome(latency=0.1).any
    assert Outcome(status=500).any
    assert Outcome(drop=True).any


# --- FaultPlan.outcome: how long a fault lasts ----------------------------------------------


def test_empty_plan_does_nothing():
    assert FaultPlan().outcome("GET", "/v2/users/me") == Outcome()


def test_fault_without_count_or_share_applies_to_every_request():
    plan = plan_of(Fault(kind="status", status=500))
    assert [plan.outcome("GET", f"/v2/meetings/{n}").status for n in range(20)] == [500] * 20
    assert len(plan.describe()) == 1


def test_count_is_spent_then_the_fault_is_gone():
    plan = plan_of(Fault(kind="status", status=502, count=2))
    assert plan.outcome("GET", "/v2/users/me").status == 502
    assert plan.describe()[0]["count"] == 1
    assert plan.outcome("GET", "/v2/users/me").status == 502
    assert plan.describe() == []
    assert plan.outcome("GET", "/v2/users/me") == Outcome()


def test_count_zero_applies_to_no_request():
    # "applies to the next `count` matching requests": the next 0 requests is none of them.
    plan = plan_of(Fault(kind="status", status=500, count=0))
    assert plan.outcome("GET", "/v2/users/me").status is None


def test_count_is_spent_only_by_matching_requests():
    plan = plan_of(Fault(kind="drop", count=1, method="POST"))
    for _ in range(5):
        assert not plan.outcome("GET", "/v2/users/me").drop
    assert plan.outcome("POST", "/v2/users/me/meetings").drop
    assert not plan.outcome("POST", "/v2/users/me/meetings").drop


def test_clear_removes_every_fault():
    plan = plan_of(Fault(kind="status"), Fault(kind="latency", latency=1.0))
    plan.clear()
    assert plan.describe() == []
    assert plan.outcome("GET", "/v2/users/me") == Outcome()


# --- share -----------------------------------------------------------------------------------


def test_share_zero_never_fires_and_spends_nothing():
    plan = plan_of(Fault(kind="status", status=500, share=0.0, count=1))
    assert all(plan.outcome("GET", "/v2/users/me").status is None for _ in range(200))
    assert plan.describe() == [{"kind": "status", "status": 500, "latency": 0.0, "count": 1, "share": 0.0}]


def test_share_one_always_fires():
    plan = plan_of(Fault(kind="status", status=500, share=1.0))
    assert all(plan.outcome("GET", "/v2/users/me").status == 500 for _ in range(200))


def test_share_follows_the_seeded_random_sequence():
    plan = plan_of(Fault(kind="status", status=503, share=0.3), seed=1234)
    twin = random.Random(1234)
    expected = [twin.random() < 0.3 for _ in range(1000)]
    fired = [plan.outcome("GET", "/v2/users/me").status == 503 for _ in range(1000)]
    assert fired == expected
    assert 250 <= sum(fired) <= 350


def test_share_draws_only_for_matching_requests():
    plan = plan_of(Fault(kind="drop", share=0.5, method="DELETE"), seed=99)
    twin = random.Random(99)
    expected, fired = [], []
    for n in range(300):
        assert not plan.outcome("GET", "/v2/users/me").drop  # does not match: no draw
        fired.append(plan.outcome("DELETE", f"/v2/meetings/{n}").drop)
        expected.append(twin.random() < 0.5)
    assert fired == expected


def test_share_with_count_spends_the_count_only_when_it_fires():
    plan = plan_of(Fault(kind="status", status=500, share=0.5, count=3), seed=7)
    twin = random.Random(7)
    rolls = 0
    fired = 0
    while fired < 3:
        rolls += 1
        hit = twin.random() < 0.5
        assert (plan.outcome("GET", "/v2/users/me").status == 500) == hit
        fired += hit
    assert plan.describe() == []
    assert rolls > 3  # with this seed some rolls missed, and those did not spend the count


def test_two_shares_draw_in_plan_order():
    plan = plan_of(Fault(kind="latency", latency=1.0, share=0.5), Fault(kind="latency", latency=2.0, share=0.5), seed=3)
    twin = random.Random(3)
    for _ in range(200):
        expected = (1.0 if twin.random() < 0.5 else 0.0) + (2.0 if twin.random() < 0.5 else 0.0)
        assert plan.outcome("GET", "/v2/users/me").latency == expected


# --- several faults: latency adds, a status or a drop ends the chain ----------------------------


def test_latencies_add_up():
    plan = plan_of(Fault(kind="latency", latency=0.25), Fault(kind="latency", latency=0.5))
    assert plan.outcome("GET", "/v2/users/me") == Outcome(latency=0.75)


def test_latency_adds_to_a_status():
    plan = plan_of(Fault(kind="latency", latency=1.5), Fault(kind="status", status=504))
    assert plan.outcome("GET", "/v2/users/me") == Outcome(latency=1.5, status=504)


def test_latency_adds_to_a_drop():
    plan = plan_of(Fault(kind="latency", latency=0.5), Fault(kind="drop"))
    assert plan.outcome("GET", "/v2/users/me") == Outcome(latency=0.5, drop=True)


def test_latency_set_after_a_status_still_adds_and_is_spent():
    plan = plan_of(Fault(kind="status", status=503), Fault(kind="latency", latency=0.5, count=1))
    assert plan.outcome("GET", "/v2/users/me") == Outcome(latency=0.5, status=503)
    assert plan.outcome("GET", "/v2/users/me") == Outcome(status=503)


def test_first_status_ends_the_chain_and_later_faults_are_not_spent():
    plan = plan_of(
        Fault(kind="status", status=500),
        Fault(kind="status", status=502, count=1),
        Fault(kind="drop", count=1),
    )
    assert plan.outcome("GET", "/v2/users/me") == Outcome(status=500)
    assert [f.get("count") for f in plan.describe()] == [None, 1, 1]


def test_drop_ends_the_chain():
    plan = plan_of(Fault(kind="drop"), Fault(kind="status", status=500, count=1))
    assert plan.outcome("GET", "/v2/users/me") == Outcome(drop=True)
    assert plan.describe()[1]["count"] == 1


def test_spent_first_fault_lets_the_next_one_answer():
    plan = plan_of(Fault(kind="status", status=500, count=1), Fault(kind="status", status=502))
    assert plan.outcome("GET", "/v2/users/me").status == 500
    assert plan.outcome("GET", "/v2/users/me").status == 502


# --- which requests a fault matches ------------------------------------------------------------


def test_path_is_a_regex_searched_in_the_path():
    plan = plan_of(Fault(kind="status", status=500, path=r"/meetings/\d+$"))
    assert plan.outcome("GET", "/v2/meetings/81234567890").status == 500
    assert plan.outcome("GET", "/v2/meetings/81234567890/registrants").status is None
    assert plan.outcome("GET", "/v2/users/me/meetings").status is None


def test_path_substring_matches_anywhere():
    plan = plan_of(Fault(kind="drop", path="registrants"))
    assert plan.outcome("POST", "/v2/meetings/1/registrants").drop
    assert plan.outcome("PUT", "/v2/meetings/1/registrants/status").drop
    assert not plan.outcome("GET", "/v2/meetings/1").drop


def test_method_filter_is_case_insensitive():
    plan = plan_of(Fault(kind="status", status=500, method="post"))
    assert plan.outcome("POST", "/v2/users/me/meetings").status == 500
    assert plan.outcome("post", "/v2/users/me/meetings").status == 500
    assert plan.outcome("GET", "/v2/users/me/meetings").status is None


def test_path_and_method_must_both_match():
    plan = plan_of(Fault(kind="status", status=429, path="^/v2/report/", method="GET"))
    assert plan.outcome("GET", "/v2/report/meetings/1/participants").status == 429
    assert plan.outcome("POST", "/v2/report/meetings/1/participants").status is None
    assert plan.outcome("GET", "/v2/past_meetings/1/participants").status is None


def test_non_matching_fault_is_skipped_for_a_later_one():
    plan = plan_of(Fault(kind="status", status=500, path="webinars"), Fault(kind="status", status=502))
    assert plan.outcome("GET", "/v2/meetings/1").status == 502
    assert plan.outcome("GET", "/v2/webinars/1").status == 500


def test_parsed_fault_in_a_plan():
    plan = plan_of(parse_fault({"kind": "status", "status": 429, "count": 1, "path": "/users/", "method": "get"}))
    assert plan.outcome("GET", "/v2/users/me").status == 429
    assert plan.outcome("GET", "/v2/users/me").status is None


def test_skip_lets_that_many_matching_requests_through_first():
    plan = plan_of(parse_fault({"kind": "status", "status": 503, "count": 1, "skip": 2, "path": "report"}))
    assert plan.outcome("GET", "/v2/users/me").status is None  # does not match: not counted
    assert [plan.outcome("GET", "/v2/report/meetings/1/participants").status for _ in range(4)] == [
        None,
        None,
        503,
        None,
    ]


def test_a_negative_skip_is_refused():
    with pytest.raises(ValueError, match="skip"):
        parse_fault({"kind": "drop", "skip": -1})
