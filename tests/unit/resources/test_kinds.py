from switchboard.resources import (
    Decisions,
    build_all,
    build_generated_secrets,
    generated_secret_names,
)
from switchboard.resources.kinds import CHILD_KINDS
from tests.factory import contact_center, example

EXAMPLES = ("quickstart", "omnichannel", "external-services", "sla-autoscaling")


def test_every_kind_the_builders_make_is_watched_listed_and_pruned() -> None:
    """A kind missing from the table would be applied once and then never corrected when
    someone edits it, nor deleted when the spec drops it."""
    table = {child.kind: child.api_version for child in CHILD_KINDS}
    # Where the cluster serves every optional API too.
    everything = Decisions(http_route=True, pod_monitor=True, certificate=True)
    issued = contact_center({"spec.tls": {"issuerRef": {"name": "letsencrypt"}}})
    contact_centers = [*(example(name) for name in EXAMPLES), issued]
    built = [manifest for cc in contact_centers for manifest in build_all(cc, everything)]
    assert {manifest["kind"] for manifest in built} == set(table)  # the examples build each kind
    for manifest in built:
        assert table.get(manifest["kind"]) == manifest["apiVersion"], manifest["kind"]


def test_the_generated_secrets_stay_out_of_the_table() -> None:
    """build_all does not return them (they are created once), so pruning the kinds of the
    table would delete them, and with them the passwords that open the data."""
    cc = contact_center()
    secrets = build_generated_secrets(cc, dict.fromkeys(generated_secret_names(cc), "value"))
    assert not {manifest["kind"] for manifest in secrets} & {child.kind for child in CHILD_KINDS}


def test_kopf_selects_core_kinds_by_version_and_others_by_group_too() -> None:
    resources = {child.kind: child.resource for child in CHILD_KINDS}
    assert resources["ConfigMap"] == ("v1", "configmaps")
    assert resources["PodDisruptionBudget"] == ("policy", "v1", "poddisruptionbudgets")
