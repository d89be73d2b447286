"""Switchboard: a Kubernetes operator for contact centers."""

GROUP = "switchboard.io"
VERSION = "v1alpha1"
PLURAL = "contactcenters"
FIELD_MANAGER = "switchboard"
