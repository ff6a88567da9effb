"""Statistics for trusting a search: pure math, standard library only.

Per point: mean, sample standard deviation, n and a 95% confidence interval (Student's t).
Between two points: Welch's t-test (unequal variances), two-sided p-value.  Between two rankings:
Spearman's ρ (Pearson r of average ranks) and Kendall's τ-b (ties accounted for).

Student's t distribution is computed from the regularised incomplete beta function (continued
fraction, as in Numerical Recipes §6.4); the tests check every figure against scipy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.05   # significance level for "better than" and for the confidence intervals


@dataclass(frozen=True)
class Summary:
    """Accuracies of one point over its seeds."""

    mean: float
    std: float          # sample standard deviation (n − 1); 0 with one value
    n: int
    ci_low: float       # 95% interval of the mean (Student's t, clipped to the bounds given to
    ci_high: float      # summarise()); the mean itself when n = 1

    def text(self, digits: int = 4) -> str:
        """``0.8672 ± 0.0123 (n=3)``; ``0.8672 (n=1)`` without spread."""
        if self.n < 2:
            return f"{self.mean:.{digits}f} (n=1)"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f} (n={self.n})"

    def as_dict(self) -> dict[str, float | int | list[float]]:
        return {"mean": self.mean, "std": self.std, "n": self.n, "ci95": [self.ci_low, self.ci_high]}


def summarise(values: Sequence[float], bounds: tuple[float, float] | None = None) -> Summary:
    """Mean, sample standard deviation, n and the 95% Student-t interval of the mean.

    ``bounds``: the range the values can take, e.g. ``(0.0, 1.0)`` for an accuracy. The t interval
    assumes normal values and with few seeds runs past what is possible (values 0.55 and 0.75
    give [−0.62, 1.92] at n = 2); with bounds it is clipped to them. Clipping only removes
    impossible values: the interval keeps its t-based width inside the bounds and is no more
    exact than before. The mean and std are unchanged.
    """
    clip = None
    if bounds is not None:
        lo, hi = clip = tuple(float(b) for b in bounds)
        if not lo < hi:
            raise ValueError(f"bounds must be (low, high) with low < high (got {bounds!r})")
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("no values to summarise")
    n = len(xs)
    mean = math.fsum(xs) / n
    if n < 2:
        return Summary(mean, 0.0, 1, mean, mean)
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_ppf(1 - ALPHA / 2, n - 1) * std / math.sqrt(n)
    low, high = mean - half, mean + half
    if clip is not None:
        lo, hi = clip
        low, high = min(max(low, lo), hi), max(min(high, hi), lo)
    return Summary(mean, std, n, low, high)


# -- Student's t ---------------------------------------------------------------------------------
def _betacf(a: float, b: float, x: float) -> float:
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * betainc(df / 2, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_ppf(p: float, df: float) -> float:
    """The quantile: the t with P(T ≤ t) = p (bisection on the distribution function)."""
    if not 0 < p < 1:
        raise ValueError("p must be in (0, 1)")
    if p < 0.5:
        return -t_ppf(1 - p, df)
    lo, hi = 0.0, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_sf(mid, df) > 1 - p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class Test:
    """Welch's t-test of ``a`` against ``b``: is a's mean different from b's?"""

    diff: float         # mean(a) − mean(b)
    t: float
    df: float
    p: float            # two-sided

    @property
    def significant(self) -> bool:
        return self.p < ALPHA


def welch(a: Sequence[float], b: Sequence[float]) -> Test | None:
    """Welch's t-test; None when either side has fewer than 2 values (no noise estimate)."""
    sa, sb = summarise(a), summarise(b)
    if sa.n < 2 or sb.n < 2:
        return None
    diff = sa.mean - sb.mean
    va, vb = sa.std ** 2 / sa.n, sb.std ** 2 / sb.n
    if va + vb == 0:   # no spread at all: equal means are the same, different ones are not
        return Test(diff, 0.0 if diff == 0 else math.copysign(math.inf, diff), sa.n + sb.n - 2,
                    1.0 if diff == 0 else 0.0)
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (sa.n - 1) + vb ** 2 / (sb.n - 1))
    return Test(diff, t, df, min(1.0, 2 * t_sf(abs(t), df)))


# -- rank agreement ------------------------------------------------------------------------------
def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties given their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's r; None with fewer than 2 pairs or no spread."""
    if len(x) != len(y):
        raise ValueError("x and y differ in length")
    n = len(x)
    if n < 2:
        return None
    mx, my = math.fsum(x) / n, math.fsum(y) / n
    sxy = math.fsum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = math.fsum((a - mx) ** 2 for a in x)
    syy = math.fsum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's ρ: Pearson's r of the average ranks."""
    return pearson(ranks(x), ranks(y))


def kendall(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's τ-b; None with fewer than 2 pairs or when one side is constant."""
    if len(x) != len(y):
        raise ValueError("x and y differ in length")
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return None if denom == 0 else (concordant - discordant) / denom
