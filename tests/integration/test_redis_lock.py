"""service.broker.held, the one Redis lock of the service, on fakeredis and on a real Redis.

Its users: a push and a report pull of a training (yield False: the job says why and goes), and the tokens of
a Zoom connection (service.zoom_tokens.token_lock: waits, and refuses with ZoomUnavailable).
Waits are behaviour here: the bounds hold whatever the machine's speed.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import fakeredis
import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.retry import Retry

from service import zoom_tokens
from service.broker import held
from zoomapi.errors import ZoomUnavailable

KEY = "zoomsync:test-lock"
SHORT = 0.2  # seconds: a lock's timeout that runs out within a test
# redis-py tries every 0.1 s and gives up when the next try would fall after the wait: up to 0.1 s early.
TRY_EVERY = 0.1


@pytest.fixture(params=["fakeredis", "redis"])
def redis(request):
    if request.param == "fakeredis":
        client = fakeredis.FakeRedis()
    else:
        client = redis_lib.Redis.from_url(request.getfixturevalue("real_redis_url"))
    client.flushdb()
    yield client
    client.flushdb()


class Refused(Exception):
    pass


def test_held_by_one_refused_to_a_second_until_released(redis):
    with held(redis, KEY, timeout=10) as first:
        assert first is True
        with held(redis, KEY, timeout=10) as second:
            assert second is False
        assert redis.exists(KEY)  # the second, refused, deleted nothing
    assert not redis.exists(KEY)
    with held(redis, KEY, timeout=10) as third:
        assert third is True


def test_a_lock_that_expired_goes_to_the_next(redis):
    with held(redis, KEY, timeout=SHORT) as first:
        assert first is True
        time.sleep(SHORT + 0.15)
        with held(redis, KEY, timeout=10) as second:
            assert second is True
    assert not redis.exists(KEY)  # the second released its own; the first's end was no error


def test_a_lock_expired_and_taken_by_another_is_not_released_by_the_first(redis):
    first = held(redis, KEY, timeout=SHORT)
    assert first.__enter__() is True
    first_token = redis.get(KEY)
    time.sleep(SHORT + 0.15)
    with held(redis, KEY, timeout=10) as second:
        assert second is True
        second_token = redis.get(KEY)
        assert second_token is not None and second_token != first_token  # each holder has a token of its own
        first.__exit__(None, None, None)  # the first work ends while the second holds the lock
        assert redis.get(KEY) == second_token
        assert redis.pttl(KEY) > 5000
        with held(redis, KEY, timeout=10) as third:
            assert third is False  # still the second's
    assert not redis.exists(KEY)


def test_waiting_gets_the_lock_released_in_time(redis):
    outcome = {}

    def wait_for_it() -> None:
        started = time.monotonic()
        with held(redis, KEY, timeout=10, wait=5) as got:
            outcome.update(got=got, waited=time.monotonic() - started)

    with held(redis, KEY, timeout=10) as first:
        assert first is True
        waiter = threading.Thread(target=wait_for_it)
        waiter.start()
        time.sleep(0.3)
        assert outcome == {}  # still waiting while the first holds it
    waiter.join(10)
    assert outcome["got"] is True
    assert 0.2 <= outcome["waited"] < 5


def test_waiting_gives_up_when_not_released_in_time(redis):
    with held(redis, KEY, timeout=10):
        started = time.monotonic()
        with held(redis, KEY, timeout=10, wait=0.5) as second:
            assert second is False
        assert 0.5 - TRY_EVERY - 0.05 <= time.monotonic() - started < 3


def test_a_lock_not_got_raises_what_refused_makes_and_runs_no_body(redis):
    ran, reasons = [], []

    def refused(error: RedisError | None) -> Exception:
        reasons.append(error)
        return Refused("busy")

    with held(redis, KEY, timeout=10):
        with pytest.raises(Refused, match="busy"):
            with held(redis, KEY, timeout=10, wait=0.1, refused=refused):
                ran.append(True)
    assert (ran, reasons) == ([], [None])
    with held(redis, KEY, timeout=10, refused=refused) as got:
        assert got is True  # free: the body runs


def test_the_token_lock_waits_then_refuses_with_zoom_unavailable(redis, monkeypatch):
    monkeypatch.setattr(zoom_tokens, "LOCK_WAIT", 0.5)
    svc = SimpleNamespace(redis=redis)
    with zoom_tokens.token_lock(svc, 7) as got:
        assert got is True
        assert redis.pttl("zoomsync:zoom-token:7") > (zoom_tokens.LOCK_TIMEOUT - 5) * 1000
        started = time.monotonic()
        with pytest.raises(ZoomUnavailable, match="another worker is still renewing this connection's token"):
            with zoom_tokens.token_lock(svc, 7):
                pytest.fail("ran without the lock")
        assert 0.5 - TRY_EVERY - 0.05 <= time.monotonic() - started < 3
    with zoom_tokens.token_lock(svc, 8), zoom_tokens.token_lock(svc, 7):
        pass  # a lock per connection, and the first released


# --- a Redis that cannot be asked --------------------------------------------------------------------------------


@pytest.fixture
def unreachable():
    """Nothing listens on port 1; tried once, as the service's own client is (service.broker.connect_redis)."""
    return redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))


def test_a_redis_error_propagates_without_refused(unreachable):
    with pytest.raises(RedisConnectionError):
        with held(unreachable, KEY, timeout=10):
            pytest.fail("ran without the lock")


def test_a_redis_error_raises_what_refused_makes_of_it(unreachable):
    reasons = []

    def refused(error: RedisError | None) -> Exception:
        reasons.append(error)
        return Refused(str(error))

    with pytest.raises(Refused) as caught:
        with held(unreachable, KEY, timeout=10, refused=refused):
            pytest.fail("ran without the lock")
    assert isinstance(reasons[0], RedisConnectionError) and caught.value.__cause__ is reasons[0]


def test_the_token_lock_of_an_unreachable_redis_is_zoom_unavailable(unreachable):
    with pytest.raises(ZoomUnavailable, match="cannot lock the connection's tokens"):
        with zoom_tokens.token_lock(SimpleNamespace(redis=unreachable), 7):
            pytest.fail("ran without the lock")
