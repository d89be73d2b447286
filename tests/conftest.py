"""Test-wide settings.

Under CI (the `CI` environment variable set, as `.ci/run` is run) Hypothesis draws the same
examples on every run, so a submission passes or fails on its code, not on the draw; a local
run keeps exploring new examples.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
