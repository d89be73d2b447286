"""A webhook's answer decides: acknowledged, tried again later, or dropped; and it is signed."""

import pytest

from switchboard.dataplane.gateway.signature import signature
from switchboard.dataplane.gateway.webhook import Verdict, retry_delay, verdict


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_a_2xx_answer_is_a_delivery(status: int) -> None:
    assert verdict(status) is Verdict.DELIVERED


@pytest.mark.parametrize("status", [None, 500, 502, 503, 504, 408, 425, 429])
def test_no_answer_a_server_error_or_a_request_to_slow_down_is_tried_again(
    status: int | None,
) -> None:
    assert verdict(status) is Verdict.RETRY


@pytest.mark.parametrize("status", [301, 302, 400, 401, 403, 404, 410, 422])
def test_any_other_answer_is_permanent(status: int) -> None:
    assert verdict(status) is Verdict.DROP


def test_retries_back_off_by_doubling_up_to_a_ceiling() -> None:
    assert [retry_delay(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert retry_delay(10_000) == 30


def test_the_signature_is_the_hmac_sha256_of_the_body_under_the_token() -> None:
    # RFC 4231, test case 2.
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert signature("Jefe", b"what do ya want for nothing?") == f"sha256={expected}"
