"""The wiring a role reads: what the operator renders, and a one-line error for what is missing."""

import pytest

from switchboard.dataplane.wiring import (
    WiringError,
    read_agents_wiring,
    read_bot_wiring,
    read_wiring,
)

COMMON = {
    "SWITCHBOARD_CONTACT_CENTER": "acme",
    "SWITCHBOARD_NAMESPACE": "support",
    "SWITCHBOARD_HTTP_PORT": "8080",
    "SWITCHBOARD_METRICS_PORT": "9090",
    "SWITCHBOARD_QUEUE_URI": "amqp://u:p@queue:5672/",
    "SWITCHBOARD_DATABASE_URI": "postgresql://u:p@db:5432/switchboard",
    "SWITCHBOARD_SLA_TARGET": "0.8",
    "SWITCHBOARD_SLA_ANSWER_WITHIN_SECONDS": "20",
    "SWITCHBOARD_SLA_MAX_ABANDON_RATE": "0.05",
    "SWITCHBOARD_POD_NAME": "acme-web-5d8f-abcde",
}


def test_the_rendered_wiring_is_read_whole() -> None:
    wiring = read_wiring(COMMON)
    assert (wiring.http_port, wiring.metrics_port) == (8080, 9090)
    assert wiring.service_level.answer_within_seconds == 20.0
    assert wiring.prefix == "support.acme"
    assert wiring.replica == "acme-web-5d8f-abcde"
    assert wiring.routing_file is None


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("SWITCHBOARD_QUEUE_URI", "", "SWITCHBOARD_QUEUE_URI is not set"),
        ("SWITCHBOARD_HTTP_PORT", "http", "SWITCHBOARD_HTTP_PORT='http' is not a port"),
        ("SWITCHBOARD_HTTP_PORT", "70000", "is not a port"),
        ("SWITCHBOARD_SLA_TARGET", "most", "SWITCHBOARD_SLA_TARGET='most' is not a number"),
    ],
)
def test_a_missing_or_malformed_variable_is_named(name: str, value: str, complaint: str) -> None:
    with pytest.raises(WiringError, match=complaint):
        read_wiring({**COMMON, name: value})


def test_a_replica_without_a_pod_name_still_has_a_name_of_its_own() -> None:
    env = {key: value for key, value in COMMON.items() if key != "SWITCHBOARD_POD_NAME"}
    assert read_wiring(env).replica


def test_bot_concurrency_must_be_a_positive_whole_number() -> None:
    bot = {
        "SWITCHBOARD_MODEL_NAME": "support",
        "SWITCHBOARD_MODEL_VERSION": "1.0.0",
        "SWITCHBOARD_MODEL_URI": "file:///models/support.yaml",
        "SWITCHBOARD_BOT_TRACK": "stable",
    }
    assert read_bot_wiring({**bot, "SWITCHBOARD_BOT_CONCURRENCY": "50"}).concurrency == 50
    for bad in ("0", "-3", "2.5"):
        with pytest.raises(WiringError, match="positive whole number"):
            read_bot_wiring({**bot, "SWITCHBOARD_BOT_CONCURRENCY": bad})


def test_an_offer_timeout_must_leave_time_to_accept() -> None:
    agents = {"SWITCHBOARD_SEATS_PER_REPLICA": "25", "SWITCHBOARD_AGENTS_TOKEN": "sesame"}
    read = read_agents_wiring({**agents, "SWITCHBOARD_AGENTS_OFFER_TIMEOUT_SECONDS": "30"})
    assert read.offer_timeout_seconds == 30.0
    for bad in ("0", "-5", "inf", "nan"):
        with pytest.raises(
            WiringError, match=r"OFFER_TIMEOUT_SECONDS=.* is not a number of seconds"
        ):
            read_agents_wiring({**agents, "SWITCHBOARD_AGENTS_OFFER_TIMEOUT_SECONDS": bad})


def test_a_remote_models_endpoint_token_is_optional() -> None:
    bot = {
        "SWITCHBOARD_MODEL_NAME": "support",
        "SWITCHBOARD_MODEL_VERSION": "1.0.0",
        "SWITCHBOARD_MODEL_URI": "https://models.example/support.yaml",
        "SWITCHBOARD_BOT_TRACK": "stable",
        "SWITCHBOARD_BOT_CONCURRENCY": "50",
    }
    assert read_bot_wiring(bot).endpoint_token is None
    token = read_bot_wiring({**bot, "SWITCHBOARD_MODEL_ENDPOINT_TOKEN": "s3cret"}).endpoint_token
    assert token == "s3cret"
