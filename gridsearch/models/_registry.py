"""The built-in baselines by name.  Each architecture module registers its own where it defines
them, ``NAME = register(Baseline("name", build, "description"))``, as timm's
``@register_model`` does; the lookup (``_lookup``) imports those modules before it answers."""

from __future__ import annotations

from gridsearch.models._base import Baseline

REGISTRY: dict[str, Baseline] = {}


def register(baseline: Baseline) -> Baseline:
    """Add ``baseline`` under its name and return it.

    A name given twice, or one the lookup would read as ``timm:NAME`` or ``module:function``
    (a colon), is a mistake in gridsearch's own code: a ``ValueError`` at import.
    """
    if ":" in baseline.name:
        raise ValueError(f"baseline {baseline.name!r}: a registered name has no ':' "
                         "(that is how timm:NAME and module:function refs are told apart)")
    if baseline.name in REGISTRY:
        raise ValueError(f"baseline {baseline.name!r} is registered twice")
    REGISTRY[baseline.name] = baseline
    return baseline
