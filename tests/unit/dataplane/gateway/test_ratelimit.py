"""A connection may send a burst, then `rate` frames a second."""

from switchboard.dataplane.gateway.ratelimit import TokenBucket


def test_a_burst_passes_and_the_frame_after_it_is_refused() -> None:
    bucket = TokenBucket(rate=5, burst=10)
    assert all(bucket.take(now=100.0) for _ in range(10))
    assert not bucket.take(now=100.0)


def test_tokens_come_back_at_the_rate_and_no_more_than_the_burst() -> None:
    bucket = TokenBucket(rate=5, burst=10)
    for _ in range(10):
        bucket.take(now=0.0)
    assert not bucket.take(now=0.1)  # half a token back
    assert bucket.take(now=0.2)  # one token back (0.2 s at 5/s)
    assert not bucket.take(now=0.2)
    # After a long pause the bucket holds the burst, not a second of tokens per second waited.
    assert sum(bucket.take(now=1000.0) for _ in range(20)) == 10


def test_sending_steadily_at_the_rate_is_never_refused() -> None:
    bucket = TokenBucket(rate=5, burst=10)
    assert all(bucket.take(now=i * 0.2) for i in range(500))


def test_sending_steadily_faster_than_the_rate_is_held_to_the_rate() -> None:
    bucket = TokenBucket(rate=5, burst=10)
    # 10 frames a second for 60 seconds: the burst, then 5 a second.
    allowed = sum(bucket.take(now=i * 0.1) for i in range(600))
    assert abs(allowed - (10 + 5 * 60)) <= 1
