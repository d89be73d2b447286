import tomllib
from pathlib import Path

from switchboard.dataplane.wiring import read_gateway_wiring
from switchboard.resources import build_all
from tests.factory import contact_center, example
from tests.unit.resources.helpers import env, find, main_container, of_kind, pod_spec

# The release, where it is written down: the images' default tag must follow it.
PYPROJECT = Path(__file__).parents[3] / "pyproject.toml"
RELEASE = tomllib.loads(PYPROJECT.read_text())["project"]["version"]


def test_every_channel_gets_a_gateway_deployment_and_service() -> None:
    cc = example("omnichannel")
    objects = build_all(cc)
    for channel in cc.spec.channels:
        name = f"omnichannel-{channel.name}"
        deployment = find(objects, "Deployment", name)
        service = find(objects, "Service", name)
        assert deployment["spec"]["replicas"] == channel.replicas
        assert service["spec"]["type"] == channel.service_type
        assert env(deployment)["SWITCHBOARD_CHANNEL_TYPE"] == channel.type


def test_by_default_every_gateway_runs_switchboards_image_at_this_release_as_a_gateway() -> None:
    cc = contact_center({"spec.channels": [{"name": "phone", "type": "voice"}]})
    container = main_container(find(build_all(cc), "Deployment", "acme-phone"))
    assert container["image"] == f"ghcr.io/switchboard-io/switchboard:{RELEASE}"
    assert container["args"] == ["gateway"]


def test_a_channel_image_overrides_the_default() -> None:
    cc = contact_center({"spec.channels.0.image": "registry.example.com/web:2"})
    assert main_container(find(build_all(cc), "Deployment", "acme-web"))["image"] == (
        "registry.example.com/web:2"
    )


def test_provider_credentials_become_environment() -> None:
    cc = contact_center({"spec.channels.0.credentials": {"secretRef": {"name": "twilio"}}})
    env_from = main_container(find(build_all(cc), "Deployment", "acme-web"))["envFrom"]
    assert {"secretRef": {"name": "twilio"}} in env_from


def test_a_provider_channel_reads_its_signing_token_and_where_replies_go() -> None:
    cc = contact_center(
        {
            "spec.channels": [
                {"name": "texts", "type": "sms", "provider": {"url": "https://sms.example/out"}},
                {"name": "wa", "type": "whatsapp"},
            ]
        }
    )
    objects = build_all(cc)
    texts = env(find(objects, "Deployment", "acme-texts"))
    assert texts["SWITCHBOARD_API_TOKEN"]["secretKeyRef"] == {
        "name": "acme-texts-token",
        "key": "token",
    }
    assert texts["SWITCHBOARD_PROVIDER_URL"] == "https://sms.example/out"
    assert "SWITCHBOARD_PROVIDER_URL" not in env(find(objects, "Deployment", "acme-wa"))


MAIL = {
    "name": "mail",
    "type": "email",
    "email": {
        "address": "help@shop.example",
        "smtp": {"host": "relay.example", "startTLS": False, "credentialsRef": {"name": "relay"}},
    },
}


def test_an_email_gateway_serves_smtp_on_a_named_port_of_its_pod_and_service() -> None:
    objects = build_all(
        contact_center({"spec.channels": [MAIL, {"name": "web", "type": "webchat"}]})
    )
    mail = find(objects, "Deployment", "acme-mail")
    ports = {port["name"]: port["containerPort"] for port in main_container(mail)["ports"]}
    assert str(ports["smtp"]) == env(mail)["SWITCHBOARD_SMTP_PORT"]
    service = find(objects, "Service", "acme-mail")
    assert {"name": "smtp", "port": ports["smtp"], "targetPort": "smtp", "protocol": "TCP"} in (
        service["spec"]["ports"]
    )
    web = find(objects, "Deployment", "acme-web")
    assert "smtp" not in {port["name"] for port in main_container(web)["ports"]}
    assert "SWITCHBOARD_SMTP_PORT" not in env(web)


def test_an_email_gateway_reads_the_address_and_relay_it_is_rendered() -> None:
    rendered = env(
        find(build_all(contact_center({"spec.channels": [MAIL]})), "Deployment", "acme-mail")
    )
    assert rendered["SWITCHBOARD_SMTP_RELAY_PASSWORD"]["secretKeyRef"] == {
        "name": "relay",
        "key": "password",
    }
    # The kubelet resolves the Secret's keys; the gateway reads what it gets.
    secret = {"username": "bot@shop.example", "password": "pw"}
    environment = {
        name: value if isinstance(value, str) else secret[value["secretKeyRef"]["key"]]
        for name, value in rendered.items()
        if isinstance(value, str) or value.get("secretKeyRef", {}).get("name") == "relay"
    }
    email = read_gateway_wiring(environment).email
    assert email is not None
    assert (email.address, email.relay_host, email.relay_port, email.relay_start_tls) == (
        "help@shop.example",
        "relay.example",
        587,
        False,
    )
    assert (email.relay_username, email.relay_password) == ("bot@shop.example", "pw")


def test_gateways_mount_the_routing_file_the_others_do_not() -> None:
    objects = build_all(contact_center())
    gateway = find(objects, "Deployment", "acme-web")
    volumes = {v["name"]: v for v in pod_spec(gateway)["volumes"]}
    assert volumes["routing"]["configMap"]["name"] == "acme-routing"
    mounts = {m["name"]: m for m in main_container(gateway)["volumeMounts"]}
    assert mounts["routing"]["readOnly"] is True
    for other in ("acme-bot", "acme-agents"):
        names = {v["name"] for v in pod_spec(find(objects, "Deployment", other))["volumes"]}
        assert "routing" not in names


def test_no_gateway_for_a_channel_that_is_not_there() -> None:
    cc = contact_center()
    deployments = {d["metadata"]["name"] for d in of_kind(build_all(cc), "Deployment")}
    assert deployments == {"acme-web", "acme-bot", "acme-agents"}


def test_the_gateways_alone_read_the_first_contact_resolution_window_in_seconds() -> None:
    assert env(find(build_all(contact_center()), "Deployment", "acme-web"))[
        "SWITCHBOARD_QUALITY_REPEAT_WINDOW_SECONDS"
    ] == str(24 * 3600)
    cc = contact_center({"spec.quality": {"firstContactResolutionWindow": "72h"}})
    objects = build_all(cc)
    assert env(find(objects, "Deployment", "acme-web"))[
        "SWITCHBOARD_QUALITY_REPEAT_WINDOW_SECONDS"
    ] == str(72 * 3600)
    # Only the gateways count repeat contacts: a change restarts nothing else.
    others = [d for d in of_kind(objects, "Deployment") if d["metadata"]["name"] != "acme-web"]
    assert others and all("SWITCHBOARD_QUALITY_REPEAT_WINDOW_SECONDS" not in env(d) for d in others)
