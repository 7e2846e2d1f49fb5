"""Suite-wide settings."""

from __future__ import annotations

from hypothesis import settings

# No per-example deadline: an example that takes 300 ms on a loaded machine is not a failure, and the
# suite must pass whatever else the machine is doing (scripts/test-under-load.sh shows it).
settings.register_profile("assistantd", deadline=None)
settings.load_profile("assistantd")
