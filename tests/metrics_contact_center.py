"""The ContactCenter the metrics tests ask Prometheus about, unit and integration alike."""

from __future__ import annotations

from typing import Any

from switchboard.api.contactcenter import ContactCenter


def contact_center(name: str = "acme", namespace: str = "support", **queries: str) -> ContactCenter:
    """A minimal ContactCenter; `queries` become its `spec.metrics.queries` overrides."""
    spec: dict[str, Any] = {
        "channels": [{"name": "web", "type": "webchat"}],
        "bot": {"model": {"name": "router", "version": "1.0.0", "uri": "s3://models/router"}},
    }
    if queries:
        spec["metrics"] = {"queries": queries}
    return ContactCenter.model_validate(
        {"metadata": {"name": name, "namespace": namespace}, "spec": spec}
    )
