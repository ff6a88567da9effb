"""What a study's data was: a JSON-able record of everything :func:`load` read, and its summary.

Stored with a study (a user attribute) and printed by ``plan``/``run`` in a few lines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SHOWN = 5   # unreadable files named in the summary


@dataclass
class Manifest:
    source: str
    root: str = ""                    # resolved path ("" for generated data)
    layout: str = ""                  # classes | splits | generated | the standard files read
    splits: dict[str, str] = field(default_factory=dict)   # {"train": "train", "val": "val"}
    classes: list[str] = field(default_factory=list)
    # images per class (in the order of classes): found on disk, and drawn into the subsets
    available: dict[str, list[int]] = field(default_factory=dict)  # {"train": […], "val": […]}
    subset: dict[str, list[int]] = field(default_factory=dict)     # {"train": […], "val": […]}
    seed: int = 0
    image_size: int = 0               # the stored size (native for the standard sets)
    crop: str = ""                    # center | stretch ("" where nothing is resized)
    modes: dict[str, int] = field(default_factory=dict)            # PIL mode → images loaded
    sizes: dict[str, Any] = field(default_factory=dict)            # min, max, common [w, h, n]
    upscaled: int = 0                 # images whose shorter side was below image_size
    notes: dict[str, int] = field(default_factory=dict)            # e.g. float images stretched
    skipped: dict[str, int] = field(default_factory=dict)          # reason → entries not read
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    unreadable: list[list[str]] = field(default_factory=list)      # [path, reason], all of them
    warnings: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)            # path, hit, decoded_by, …

    def as_dict(self) -> dict[str, Any]:
        """Everything, JSON-able (``json.dumps`` works as it is)."""
        return asdict(self)

    def record(self) -> dict[str, Any]:
        """What to store with a study: :meth:`as_dict` without the facts of this process (cache
        hit, which process decoded, seconds waited); the cache's key stays (it identifies the
        data: the same key, the same pixels)."""
        d = self.as_dict()
        d["cache"] = {"key": self.cache.get("key", "")}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def summary(self) -> list[str]:
        """A few lines for a person: what was loaded, what was skipped, warnings last."""
        k = len(self.classes)
        names = ", ".join(self.classes[:8]) + (f", … ({k - 8} more)" if k > 8 else "")
        where = {"classes": "one tree of class folders, split by gridsearch",
                 "splits": " + ".join(f"{v}/" for v in self.splits.values()) + " folders",
                 "generated": "generated", "bundled": "bundled with scikit-learn"}.get(self.layout, self.layout)
        lines = [f"data: {self.source}{' ' + self.root if self.root else ''} ({where}), "
                 f"{k} classes: {names}"]
        parts = []
        for split in ("train", "val"):
            sub, avail = self.subset.get(split), self.available.get(split)
            if sub is None:
                continue
            of = f" of {sum(avail):,}" if avail else ""
            lo, hi = min(sub), max(sub)
            per = f"{lo} per class" if lo == hi else f"{lo}-{hi} per class"
            parts.append(f"{split} {sum(sub):,}{of} ({per})")
        if parts:
            pool = (f" (drawn from {sum(self.available['all']):,} images)"
                    if "all" in self.available else "")
            lines.append("  subsets: " + ", ".join(parts) + f", seed {self.seed}{pool}")
        if self.modes or self.sizes:
            n = sum(self.modes.values())
            modes = (f"all {next(iter(self.modes))}" if len(self.modes) == 1 else
                     "modes " + ", ".join(f"{m} {c:,}" for m, c in
                                          sorted(self.modes.items(), key=lambda kv: -kv[1])))
            size = ""
            if self.sizes:
                (w0, h0), (w1, h1) = self.sizes["min"], self.sizes["max"]
                w, h, _ = self.sizes["common"][0]
                size = (f"all {w0}×{h0}" if (w0, h0) == (w1, h1) else
                        f"{w0}×{h0} to {w1}×{h1} (most {w}×{h})")
            how = {"center": f"shorter side resized to {self.image_size} px, centre cropped",
                   "stretch": f"stretched to {self.image_size}×{self.image_size} px"}
            into = how.get(self.crop, f"kept at {self.image_size} px")
            lines.append(f"  images: {n:,} loaded, {size}, {modes}; {into}")
        elif self.image_size:
            lines.append(f"  images: {self.image_size}×{self.image_size} px")
        if self.skipped:
            ex = [e for v in self.skipped_examples.values() for e in v][:3]
            lines.append("  skipped: " + ", ".join(f"{n:,} {r}" for r, n in self.skipped.items())
                         + (f" (e.g. {', '.join(ex)})" if ex else ""))
        if self.unreadable:
            shown = "; ".join(f"{p}: {r}" for p, r in self.unreadable[:SHOWN])
            more = f"; and {len(self.unreadable) - SHOWN} more" if len(self.unreadable) > SHOWN else ""
            lines.append(f"  unreadable, skipped (data.skip_bad): {shown}{more}")
        c = self.cache
        if c.get("path"):
            source = (f"mapped, decoded earlier by process {c.get('decoded_by')}" if c.get("hit")
                      else f"decoded now in {c.get('decode_seconds', 0):.1f} s")
            lines.append(f"  cache: {c['path']} ({c.get('bytes', 0) / 2**20:,.1f} MiB, {source})")
        lines += [f"  warning: {w}" for w in self.warnings]
        return lines
