from urllib.parse import urlsplit

import pytest

from switchboard.resources import build_all, build_generated_secrets, generated_secret_names
from switchboard.resources.secrets import referenced_secrets
from tests.factory import contact_center, example
from tests.unit.resources.helpers import find, of_kind

PASSWORDS = {"queue": "q/p@ss:1", "database": "d+p ss", "agents-token": "agents-sesame"}


def test_credentials_per_built_in_service_and_tokens_for_agents_api_and_provider_channels() -> None:
    assert generated_secret_names(contact_center()) == {
        "queue": "acme-queue-credentials",
        "database": "acme-database-credentials",
        "agents-token": "acme-agents-token",
    }
    external = contact_center(
        {
            "spec.queue": {"external": {"secretRef": {"name": "mq"}}},
            "spec.channels": [
                {"name": "web", "type": "webchat"},
                {"name": "partners", "type": "api"},
                {"name": "texts", "type": "sms"},
                {"name": "wa", "type": "whatsapp"},
                {"name": "dms", "type": "social"},
                {"name": "phone", "type": "voice"},
            ],
        }
    )
    assert generated_secret_names(external) == {
        "database": "acme-database-credentials",
        "agents-token": "acme-agents-token",
        "partners-token": "acme-partners-token",
        "texts-token": "acme-texts-token",
        "wa-token": "acme-wa-token",
        "dms-token": "acme-dms-token",
    }


def test_a_token_is_the_only_value_of_its_secret_and_goes_with_the_contact_center() -> None:
    cc = contact_center({"spec.channels": [{"name": "partners", "type": "api"}]})
    secrets = build_generated_secrets(cc, {**PASSWORDS, "partners-token": "api-sesame"})
    api = find(secrets, "Secret", "acme-partners-token")
    assert api["stringData"] == {"token": "api-sesame"}
    assert api["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert find(secrets, "Secret", "acme-agents-token")["stringData"] == {"token": "agents-sesame"}


def test_the_uri_carries_the_password_safely_encoded() -> None:
    secrets = build_generated_secrets(contact_center(), PASSWORDS)
    queue = find(secrets, "Secret", "acme-queue-credentials")["stringData"]
    database = find(secrets, "Secret", "acme-database-credentials")["stringData"]
    assert urlsplit(queue["uri"]).hostname == "acme-queue.support.svc"
    assert urlsplit(queue["uri"]).port == 5672
    assert urlsplit(database["uri"]).hostname == "acme-database.support.svc"
    assert urlsplit(database["uri"]).path == "/switchboard"
    assert "q%2Fp%40ss%3A1" in queue["uri"]
    assert queue["password"] == "q/p@ss:1"
    assert database["username"] == "switchboard"


def test_retained_database_credentials_outlive_the_contact_center() -> None:
    secrets = build_generated_secrets(contact_center(), PASSWORDS)
    assert "ownerReferences" not in find(secrets, "Secret", "acme-database-credentials")["metadata"]
    assert "ownerReferences" in find(secrets, "Secret", "acme-queue-credentials")["metadata"]
    deleted = contact_center({"spec.database": {"deletionPolicy": "Delete"}})
    secret = find(
        build_generated_secrets(deleted, PASSWORDS), "Secret", "acme-database-credentials"
    )
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_a_missing_password_is_refused_without_showing_the_others() -> None:
    with pytest.raises(ValueError, match="no generated value for agents-token, database") as error:
        build_generated_secrets(contact_center(), {"queue": "secret-value"})
    assert "secret-value" not in str(error.value)


def test_the_workload_builders_need_no_secret_values() -> None:
    assert of_kind(build_all(contact_center()), "Secret") == []


def test_the_secrets_the_spec_refers_to_come_with_the_key_they_need() -> None:
    assert referenced_secrets(contact_center()) == []
    assert referenced_secrets(example("external-services")) == [
        ("contact-queue", "uri"),  # the key's default
        ("contact-database", "connection"),
    ]
    verified = {"secretRef": {"name": "pg"}, "caRef": {"name": "pg-ca"}}
    assert referenced_secrets(contact_center({"spec.database": {"external": verified}})) == [
        ("pg", "uri"),
        ("pg-ca", "ca.crt"),
    ]
    sms = {"name": "text", "type": "sms", "credentials": {"secretRef": {"name": "sms-api"}}}
    # Every key of a channel's Secret becomes the gateway's environment: none in particular.
    assert referenced_secrets(contact_center({"spec.channels": [sms]})) == [("sms-api", None)]
    mail = {
        "name": "mail",
        "type": "email",
        "email": {"address": "a@b.c", "smtp": {"host": "relay", "credentialsRef": {"name": "r"}}},
    }
    # The relay's login: the gateway reads these two keys.
    assert referenced_secrets(contact_center({"spec.channels": [mail]})) == [
        ("r", "username"),
        ("r", "password"),
    ]
