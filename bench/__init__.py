"""Benchmarks, each run as `python -m bench.<name> [--quick]`; the last line printed is JSON."""
