"""Prometheus, both ways: the operator's own metrics, and the client and queries it reads the
metrics contract with."""
