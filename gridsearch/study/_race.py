"""A race over a study's points (``[select] mode = "race"``): its plan and its decision.

Placeholder until the selection procedure lands: no race is run yet."""

from __future__ import annotations


def decision_of(study, records):
    """The decision of the race a study ran, or None."""
    return None
