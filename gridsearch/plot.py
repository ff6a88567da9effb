"""A family figure: measured FLOPs, params and activations against φ, with the target^φ line."""

from __future__ import annotations

from pathlib import Path

from .family import Family


def plot_family(family: Family, path: str | Path) -> Path:
    """Write a PNG (or any format matplotlib knows from the suffix) of ``family``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ms = sorted(family.members, key=lambda m: m.phi)
    phis = [m.phi for m in ms]
    b = family.baseline
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    # Left: multipliers of the baseline (log 2), where target^φ is a straight line.
    t = family.target_multiplier
    left.plot(phis, [t ** p for p in phis], "k--", lw=1, label=f"target {t:g}^φ")
    left.plot(phis, [m.flops / b["flops"] for m in ms], "o-", label="FLOPs")
    left.plot(phis, [m.params / b["params"] for m in ms], "s-", label="params")
    left.plot(phis, [m.activations / b["activations"] for m in ms], "^-", label="activations")
    left.set_yscale("log", base=2)
    left.set_xlabel("φ")
    left.set_ylabel("× baseline (measured)")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    for m in ms:
        left.annotate(f"{m.resolution}px", (m.phi, m.flops / b["flops"]), fontsize=7,
                      textcoords="offset points", xytext=(3, -10))
    # Right: absolute counts.
    right.plot(phis, [m.flops / 1e9 for m in ms], "o-", label="FLOPs (G, multiply-adds)")
    right.plot(phis, [m.params / 1e6 for m in ms], "s-", label="params (M)")
    right.plot(phis, [m.activations / 1e6 for m in ms], "^-", label="activations (M)")
    right.set_yscale("log")
    right.set_xlabel("φ")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8)
    how = "resolution repaired" if family.repair else "nominal resolution"
    fig.suptitle(f"{family.model}: α={family.alpha:g} β={family.beta:g} γ={family.gamma:g} ({how})")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
