"""The wiring a role reads: what the operator renders, and a one-line error for what is missing."""

import os

import pytest

from switchboard.dataplane.service import process_environment
from switchboard.dataplane.wiring import (
    WiringError,
    read_agents_wiring,
    read_bot_wiring,
    read_gateway_wiring,
    read_handoff_wiring,
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


def test_a_replica_without_a_pod_name_is_named_after_its_host_and_process() -> None:
    env = {key: value for key, value in COMMON.items() if key != "SWITCHBOARD_POD_NAME"}
    with pytest.raises(WiringError, match="SWITCHBOARD_POD_NAME is not set"):
        read_wiring(env)
    first, second = (read_wiring(process_environment(env)).replica for _ in range(2))
    assert first == second and first.endswith(f"-{os.getpid()}")
    assert read_wiring(process_environment(COMMON)).replica == "acme-web-5d8f-abcde"


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


def test_the_workspace_reads_the_routing_policy_and_names_a_bad_one() -> None:
    agents = {
        "SWITCHBOARD_SEATS_PER_REPLICA": "25",
        "SWITCHBOARD_AGENTS_TOKEN": "sesame",
        "SWITCHBOARD_AGENTS_OFFER_TIMEOUT_SECONDS": "30",
    }
    assert read_agents_wiring(agents).routing is None
    policy = '{"queues": [{"name": "vip", "selector": "tier == \'vip\'"}]}'
    routing = read_agents_wiring({**agents, "SWITCHBOARD_AGENTS_ROUTING": policy}).routing
    assert routing is not None and routing.queues[0].selector == "tier == 'vip'"
    bad = '{"queues": [{"name": "vip", "overflow": [{"queue": "gone", "after": "5s"}]}]}'
    with pytest.raises(
        WiringError, match=r"SWITCHBOARD_AGENTS_ROUTING (?s:.*)may only name queues"
    ):
        read_agents_wiring({**agents, "SWITCHBOARD_AGENTS_ROUTING": bad})


GATEWAY = {"SWITCHBOARD_CHANNEL_NAME": "web", "SWITCHBOARD_CHANNEL_TYPE": "webchat"}


def test_a_webchat_gateway_needs_no_token_and_waits_a_minute_for_a_customer_to_return() -> None:
    gateway = read_gateway_wiring(GATEWAY)
    assert (gateway.channel, gateway.channel_type) == ("web", "webchat")
    assert gateway.api_token is None
    assert gateway.disconnect_grace_seconds == 60.0
    assert gateway.repeat_window_seconds == 86400.0  # a day, without spec.quality


def test_the_repeat_contact_window_is_read_in_seconds() -> None:
    name = "SWITCHBOARD_QUALITY_REPEAT_WINDOW_SECONDS"
    assert read_gateway_wiring({**GATEWAY, name: "3600"}).repeat_window_seconds == 3600.0
    with pytest.raises(WiringError, match=f"{name}=0 is not a number of seconds above 0"):
        read_gateway_wiring({**GATEWAY, name: "0"})


def test_an_api_gateway_cannot_start_without_its_token() -> None:
    api = {"SWITCHBOARD_CHANNEL_NAME": "partners", "SWITCHBOARD_CHANNEL_TYPE": "api"}
    with pytest.raises(WiringError, match="SWITCHBOARD_API_TOKEN is not set"):
        read_gateway_wiring(api)
    assert read_gateway_wiring({**api, "SWITCHBOARD_API_TOKEN": "s3cret"}).api_token == "s3cret"


@pytest.mark.parametrize("channel_type", ["sms", "whatsapp", "social"])
def test_a_provider_gateway_needs_its_signing_token_and_may_have_where_replies_go(
    channel_type: str,
) -> None:
    provider = {"SWITCHBOARD_CHANNEL_NAME": "texts", "SWITCHBOARD_CHANNEL_TYPE": channel_type}
    with pytest.raises(WiringError, match="SWITCHBOARD_API_TOKEN is not set"):
        read_gateway_wiring(provider)
    signed = {**provider, "SWITCHBOARD_API_TOKEN": "s3cret"}
    assert read_gateway_wiring(signed).provider_url is None
    url = "https://sms.example/out"
    wired = read_gateway_wiring({**signed, "SWITCHBOARD_PROVIDER_URL": url})
    assert (wired.api_token, wired.provider_url) == ("s3cret", url)


EMAIL = {
    "SWITCHBOARD_CHANNEL_NAME": "mail",
    "SWITCHBOARD_CHANNEL_TYPE": "email",
    "SWITCHBOARD_SMTP_PORT": "2525",
    "SWITCHBOARD_EMAIL_ADDRESS": "help@shop.example",
    "SWITCHBOARD_SMTP_RELAY_HOST": "relay.example",
    "SWITCHBOARD_SMTP_RELAY_PORT": "587",
    "SWITCHBOARD_SMTP_RELAY_STARTTLS": "true",
}


def test_an_email_gateway_needs_its_ports_address_and_relay_and_logs_in_only_with_both() -> None:
    email = read_gateway_wiring(EMAIL).email
    assert email is not None and email.smtp_port == 2525 and email.relay_start_tls
    assert (email.relay_username, email.relay_password) == (None, None)
    for name in [key for key in EMAIL if "SMTP" in key or "EMAIL" in key]:
        with pytest.raises(WiringError, match=f"{name} is not set"):
            read_gateway_wiring({key: value for key, value in EMAIL.items() if key != name})
    with pytest.raises(WiringError, match="SWITCHBOARD_SMTP_RELAY_PASSWORD is not set"):
        read_gateway_wiring({**EMAIL, "SWITCHBOARD_SMTP_RELAY_USERNAME": "bot"})
    with pytest.raises(WiringError, match="SWITCHBOARD_SMTP_RELAY_STARTTLS='yes' is neither"):
        read_gateway_wiring({**EMAIL, "SWITCHBOARD_SMTP_RELAY_STARTTLS": "yes"})
    assert read_gateway_wiring(GATEWAY).email is None


@pytest.mark.parametrize("grace", ["0", "-5", "inf", "nan", "soon"])
def test_the_disconnect_grace_is_a_positive_finite_number_of_seconds(grace: str) -> None:
    with pytest.raises(WiringError, match="SWITCHBOARD_GATEWAY_DISCONNECT_GRACE_SECONDS"):
        read_gateway_wiring({**GATEWAY, "SWITCHBOARD_GATEWAY_DISCONNECT_GRACE_SECONDS": grace})


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


HANDOFF = {
    "SWITCHBOARD_HANDOFF_CONFIDENCE_THRESHOLD": "0.6",
    "SWITCHBOARD_HANDOFF_AMBIGUITY_MARGIN": "0.1",
    "SWITCHBOARD_HANDOFF_MAX_FAILED_TURNS": "2",
    "SWITCHBOARD_HANDOFF_SENTIMENT_THRESHOLD": "-0.6",
    "SWITCHBOARD_HANDOFF_SENTIMENT_DROP": "2",
    "SWITCHBOARD_HANDOFF_CLARIFY": "false",
    "SWITCHBOARD_HANDOFF_CHANNELS": (
        '{"phone":{"ambiguityMargin":0.1,"clarify":true,"confidenceThreshold":0.7,'
        '"maxFailedTurns":2,"sentimentDrop":1.0,"sentimentThreshold":-0.6}}'
    ),
}


def test_the_handoff_policy_of_each_channel() -> None:
    handoff = read_handoff_wiring(HANDOFF)
    assert (handoff.default.sentiment_threshold, handoff.default.clarify) == (-0.6, False)
    phone = handoff.policy("phone")
    assert (phone.confidence_threshold, phone.sentiment_drop, phone.clarify) == (0.7, 1.0, True)
    assert handoff.policy("web") == handoff.default


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("SWITCHBOARD_HANDOFF_CLARIFY", "yes", "SWITCHBOARD_HANDOFF_CLARIFY='yes' is neither"),
        ("SWITCHBOARD_HANDOFF_SENTIMENT_DROP", "", "SWITCHBOARD_HANDOFF_SENTIMENT_DROP is not set"),
        ("SWITCHBOARD_HANDOFF_CHANNELS", "{phone", "SWITCHBOARD_HANDOFF_CHANNELS is not JSON"),
        ("SWITCHBOARD_HANDOFF_CHANNELS", "[]", "is not a JSON object of channel names"),
        (
            "SWITCHBOARD_HANDOFF_CHANNELS",
            '{"phone": {"sentimentThreshold": -2}}',
            "channel phone: sentimentThreshold: Input should be greater than or equal to -1",
        ),
        (
            "SWITCHBOARD_HANDOFF_CHANNELS",
            '{"phone": {"clarfy": true}}',
            "channel phone: clarfy: Extra inputs are not permitted",
        ),
    ],
)
def test_a_malformed_handoff_variable_is_named(name: str, value: str, complaint: str) -> None:
    with pytest.raises(WiringError, match=complaint):
        read_handoff_wiring({**HANDOFF, name: value})


def test_tls_is_off_unless_a_certificate_and_its_key_are_mounted() -> None:
    assert read_wiring(COMMON).tls is None
    files = {
        "SWITCHBOARD_TLS_CERT_FILE": "/etc/switchboard/tls/tls.crt",
        "SWITCHBOARD_TLS_KEY_FILE": "/etc/switchboard/tls/tls.key",
    }
    tls = read_wiring(COMMON | files).tls
    assert tls is not None
    assert (tls.certificate, tls.private_key) == tuple(files.values())


@pytest.mark.parametrize("given", ["SWITCHBOARD_TLS_CERT_FILE", "SWITCHBOARD_TLS_KEY_FILE"])
def test_a_certificate_without_its_key_or_a_key_without_its_certificate_is_refused(
    given: str,
) -> None:
    with pytest.raises(WiringError, match="go together"):
        read_wiring(COMMON | {given: "/etc/switchboard/tls/file"})


CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_the_queue_and_database_are_verified_against_their_ca_only_when_one_is_given() -> None:
    assert (read_wiring(COMMON).queue_ca, read_wiring(COMMON).database_ca) == (None, None)
    wiring = read_wiring(
        COMMON
        | {
            "SWITCHBOARD_QUEUE_URI": "amqps://u:p@queue:5671/",
            "SWITCHBOARD_QUEUE_CA": CA,
            "SWITCHBOARD_DATABASE_URI": "postgresql://u:p@db/switchboard?sslmode=verify-full",
            "SWITCHBOARD_DATABASE_CA": CA,
        }
    )
    assert (wiring.queue_ca, wiring.database_ca) == (CA.strip(), CA.strip())


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ({"SWITCHBOARD_QUEUE_CA": CA}, "SWITCHBOARD_QUEUE_URI is not amqps://"),
        (
            {
                "SWITCHBOARD_DATABASE_CA": CA,
                "SWITCHBOARD_DATABASE_URI": "postgresql://u:p@db/switchboard?sslmode=disable",
            },
            "sslmode=disable",
        ),
        (
            {"SWITCHBOARD_QUEUE_URI": "amqps://u:p@queue/", "SWITCHBOARD_QUEUE_CA": "ca.crt"},
            "SWITCHBOARD_QUEUE_CA holds no PEM certificate",
        ),
    ],
)
def test_a_ca_that_could_verify_nothing_is_refused(given: dict[str, str], complaint: str) -> None:
    with pytest.raises(WiringError, match=complaint):
        read_wiring(COMMON | given)


def test_the_built_in_queue_under_internal_tls_is_reached_on_its_tls_port_over_amqps() -> None:
    wiring = read_wiring(
        COMMON
        | {
            "SWITCHBOARD_QUEUE_URI": "amqp://switchboard:p%40ss@acme-queue.support.svc:5672/",
            "SWITCHBOARD_QUEUE_TLS_PORT": "5671",
            "SWITCHBOARD_QUEUE_CA": CA,
        }
    )
    assert wiring.queue_uri == "amqps://switchboard:p%40ss@acme-queue.support.svc:5671/"
    assert wiring.queue_ca == CA.strip()
    with pytest.raises(WiringError, match="SWITCHBOARD_QUEUE_URI is not amqp://"):
        read_wiring(
            COMMON
            | {"SWITCHBOARD_QUEUE_URI": "amqps://u:p@q:5671/", "SWITCHBOARD_QUEUE_TLS_PORT": "1"}
        )
