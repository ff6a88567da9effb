import pytest

from gridsearch import measure as budget
from gridsearch.measure import Complexity


def quadratic(c0=1000):
    """FLOPs ∝ r² with integer truncation: a stand-in for a network."""
    calls = []

    def flops_at(r):
        calls.append(r)
        return Complexity(int(c0 * r * r / 100), 1, 1, r)

    return flops_at, calls


def test_reject_over_and_under():
    f, _ = quadratic()
    base = f(100).flops
    over = budget.check(f, base, 150, 100, target=2.0, tolerance=0.05, mode="reject")
    assert not over.feasible and over.ratio == pytest.approx(2.25) and "overshoots" in over.reason
    under = budget.check(f, base, 130, 100, target=2.0, tolerance=0.05, mode="reject")
    assert not under.feasible and "undershoots" in under.reason
    ok = budget.check(f, base, 141, 100, target=2.0, tolerance=0.05, mode="reject")
    assert ok.feasible and ok.resolution == 141


@pytest.mark.parametrize("nominal", [120, 150, 200])
def test_repair_lands_on_closest_integer_resolution(nominal):
    f, _ = quadratic()
    base = f(100).flops
    v = budget.check(f, base, nominal, 100, target=2.0, tolerance=0.01, mode="repair")
    assert v.feasible and v.resolution == 141 != nominal


def test_repair_infeasible_when_gamma_1_overshoots():
    f, _ = quadratic()
    base = f(100).flops / 3  # the network is already 3x the baseline at gamma = 1
    v = budget.check(f, int(base), 130, 100, target=2.0, tolerance=0.05, mode="repair")
    assert not v.feasible and "even at γ = 1" in v.reason and v.resolution == 100


def test_repair_negative_phi_stays_below_base():
    f, _ = quadratic()
    base = f(100).flops
    v = budget.check(f, base, 90, 100, target=0.5, tolerance=0.01, mode="repair", grows=False)
    assert v.feasible and v.resolution == 71
