"""ContactCenters of a namespace being deleted wait instead of failing one by one."""

from __future__ import annotations

from switchboard.controllers.reconcile import (
    TERMINATING_NAMESPACE_SECONDS,
    TerminatingNamespaces,
)


def test_a_namespace_seen_being_deleted_holds_its_contact_centers_back_for_a_while() -> None:
    namespaces = TerminatingNamespaces()
    namespaces.saw("fleet-1", now=100.0)
    assert namespaces.wait("fleet-1", now=110.0) == TERMINATING_NAMESPACE_SECONDS - 10
    assert namespaces.wait("fleet-2", now=110.0) is None  # another namespace: at once


def test_after_the_wait_a_namespace_is_tried_again_as_if_new() -> None:
    # A namespace deleted and created again under its name must be served.
    namespaces = TerminatingNamespaces()
    namespaces.saw("fleet-1", now=100.0)
    assert namespaces.wait("fleet-1", now=100.0 + TERMINATING_NAMESPACE_SECONDS) is None
    assert namespaces.wait("fleet-1", now=100.0 + 1) is None  # forgotten once it was let go
