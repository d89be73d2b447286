"""Volume growth: a StatefulSet's claim template cannot change, so when the spec asks for more
storage than the template holds, the existing claims are asked for it directly (never for less:
the schema forbids shrinking, and a claim cannot shrink)."""

from __future__ import annotations

from decimal import Decimal

from switchboard.api.contactcenter import ContactCenter
from switchboard.controllers.kube import Kube
from switchboard.resources import build_volume_expansions
from switchboard.resources.decisions import Decisions
from switchboard.resources.drift import quantity_amount


async def grow_volumes(kube: Kube, cc: ContactCenter, decisions: Decisions) -> list[str]:
    """Applies the spec's larger size to each existing data claim that is smaller; returns
    what grew, for an event. Reads nothing unless the spec asks for more than the claim
    templates hold."""
    templates = decisions.claim_template_storage
    if not any(
        service.external is None
        and component in templates
        and _amount(templates[component]) < _amount(service.effective_storage)
        for component, service in (("queue", cc.spec.queue), ("database", cc.spec.database))
    ):
        return []
    grown = []
    for expansion in build_volume_expansions(cc):
        want = expansion["spec"]["resources"]["requests"]["storage"]
        live = await kube.get(expansion)
        if live is None:
            continue  # the StatefulSet creates it at the template's size
        have = live.get("spec", {}).get("resources", {}).get("requests", {}).get("storage")
        if have is not None and _amount(str(have)) < _amount(want):
            await kube.apply(expansion)
            grown.append(f"PersistentVolumeClaim {expansion['metadata']['name']}: {have} -> {want}")
    return grown


def _amount(quantity: str) -> Decimal:
    return quantity_amount(quantity) or Decimal(0)
