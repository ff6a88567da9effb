"""gridsearch.stats against hand-worked values and scipy (an independent implementation)."""

import math
import random

import pytest

scipy_stats = pytest.importorskip("scipy.stats")

from gridsearch import stats  # noqa: E402


def test_summary_by_hand():
    s = stats.summarise([0.8, 0.9, 1.0])
    assert s.mean == pytest.approx(0.9) and s.std == pytest.approx(0.1) and s.n == 3
    half = 4.302652729911275 * 0.1 / math.sqrt(3)          # t(0.975, 2) from tables
    assert (s.ci_low, s.ci_high) == pytest.approx((0.9 - half, 0.9 + half), abs=1e-9)
    one = stats.summarise([0.5])
    assert (one.std, one.n, one.ci_low, one.ci_high) == (0.0, 1, 0.5, 0.5)
    assert one.text() == "0.5000 (n=1)" and s.text(2) == "0.90 ± 0.10 (n=3)"


def test_summary_interval_clipped_to_bounds():
    # Two seeds: t(0.975, 1) = 12.706 makes the interval of an accuracy run past 0 and 1.
    raw = stats.summarise([0.55, 0.75])
    half = 12.706204736174703 * math.sqrt(0.02) / math.sqrt(2)
    assert (raw.ci_low, raw.ci_high) == pytest.approx((0.65 - half, 0.65 + half))
    assert raw.ci_low < 0 and raw.ci_high > 1
    acc = stats.summarise([0.55, 0.75], bounds=(0.0, 1.0))
    assert (acc.mean, acc.std, acc.n) == (raw.mean, raw.std, raw.n)
    assert (acc.ci_low, acc.ci_high) == (0.0, 1.0)
    one_side = stats.summarise([0.97, 0.99, 1.0], bounds=(0.0, 1.0))   # only the top is clipped
    free = stats.summarise([0.97, 0.99, 1.0])
    assert one_side.ci_low == free.ci_low and free.ci_high > 1 and one_side.ci_high == 1.0
    plain = stats.summarise([0.8, 0.9, 1.0])
    inside = stats.summarise([0.8, 0.9, 1.0], bounds=(0.0, 1.5))       # nothing to clip
    assert plain.ci_high < 1.5 and (inside.ci_low, inside.ci_high) == (plain.ci_low, plain.ci_high)
    with pytest.raises(ValueError):
        stats.summarise([0.5, 0.6], bounds=(1.0, 0.0))


@pytest.mark.parametrize("df", [1, 2, 3.5, 7, 30, 200])
def test_t_distribution_matches_scipy(df):
    for t in (-3.0, -0.4, 0.0, 0.7, 2.1, 6.0):
        assert stats.t_sf(t, df) == pytest.approx(scipy_stats.t.sf(t, df), abs=1e-10)
    for p in (0.025, 0.5, 0.9, 0.975):
        assert stats.t_ppf(p, df) == pytest.approx(scipy_stats.t.ppf(p, df), abs=1e-7)


def test_welch_matches_scipy():
    rng = random.Random(3)
    for _ in range(20):
        a = [rng.gauss(0.85, 0.02) for _ in range(rng.randint(2, 6))]
        b = [rng.gauss(0.84, 0.03) for _ in range(rng.randint(2, 6))]
        mine = stats.welch(a, b)
        ref = scipy_stats.ttest_ind(a, b, equal_var=False)
        assert mine.t == pytest.approx(ref.statistic, rel=1e-9)
        assert mine.p == pytest.approx(ref.pvalue, rel=1e-7, abs=1e-12)


def test_welch_edge_cases():
    assert stats.welch([0.9], [0.8, 0.7]) is None                   # no noise estimate
    assert stats.welch([0.9, 0.9], [0.9, 0.9]).p == 1.0
    same = stats.welch([0.9, 0.9], [0.8, 0.8])
    assert same.p == 0.0 and same.significant


def test_rank_agreement_matches_scipy():
    rng = random.Random(5)
    for n in (2, 3, 5, 8):
        x = [round(rng.random(), 1) for _ in range(n)]   # rounding makes ties
        y = [round(rng.random(), 1) for _ in range(n)]
        rho, tau = stats.spearman(x, y), stats.kendall(x, y)
        ref_rho = scipy_stats.spearmanr(x, y).statistic
        ref_tau = scipy_stats.kendalltau(x, y).statistic
        if math.isnan(ref_rho):
            assert rho is None
        else:
            assert rho == pytest.approx(ref_rho, abs=1e-12)
        if math.isnan(ref_tau):
            assert tau is None
        else:
            assert tau == pytest.approx(ref_tau, abs=1e-12)


def test_rank_agreement_worked_example():
    # Same order: 1; reversed: -1; one swap among 4: τ = (5 - 1) / 6.
    assert stats.kendall([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert stats.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert stats.kendall([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert stats.ranks([0.5, 0.1, 0.5]) == [2.5, 1.0, 2.5]


def test_accuracy_intervals_stay_within_0_and_1():
    from gridsearch.scaling import Point
    from gridsearch.selection import Ranked
    ranked = Ranked(Point(1.2, 1.1, 1.15), (0.55, 0.75), (0, 1), 1000, 1.15)
    assert (ranked.summary.ci_low, ranked.summary.ci_high) == (0.0, 1.0)
    assert ranked.summary.mean == pytest.approx(0.65)
