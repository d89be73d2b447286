"""Switchboard: a Kubernetes operator for contact centers."""

from importlib.metadata import version

# pyproject.toml's: one release ships the package, its images and its chart.
__version__ = version("switchboard")

GROUP = "switchboard.io"
VERSION = "v1alpha1"
PLURAL = "contactcenters"
FIELD_MANAGER = "switchboard"
