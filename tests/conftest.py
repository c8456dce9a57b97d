"""Test-wide settings.

Property tests explore new random examples on every local run; under CI (the `CI` environment
variable is set) they run a fixed, derandomised set so that a landing never depends on luck.
A failure found locally is a real bug: add it as a regular test (see test_solve.py for one).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
