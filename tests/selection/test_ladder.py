"""gridsearch.selection's ladder rule: stability (PASHA's soft ranking with ε from seed noise),
Kendall's τ with its bootstrap interval, carrying points up, the direction flag, bad input."""

import math

import pytest

from gridsearch import stats
from gridsearch.selection import RungResult, agreement, carry, epsilon, ladder, stability, standard_error

SPREAD = (-0.01, 0.0, 0.01)       # three seeds around each mean: s = 0.01 for every point


def rung(r, means, survivors=(), label=""):
    return RungResult(r, {p: [m + d for d in SPREAD] for p, m in means.items()}, survivors,
                      label)


LOW = {"A": 0.70, "B": 0.65, "C": 0.60, "D": 0.55}


def test_epsilon_from_seed_noise_by_hand():
    # s = 0.01, n = 3 at both rungs: se² = 2·0.01²/3 per rung; ε = z·√(2·se²).
    lo, hi = rung(0, LOW), rung(1, {p: m + 0.1 for p, m in LOW.items()})
    se = math.sqrt(2 * 0.01 ** 2 / 3)
    assert standard_error(lo, list(LOW)) == pytest.approx(se)
    assert epsilon(lo, hi, z=1.0) == pytest.approx(math.sqrt(2) * se)
    assert epsilon(lo, hi, z=2.0) == pytest.approx(2 * math.sqrt(2) * se)


def test_identical_rankings_are_stable():
    lo, hi = rung(0, LOW), rung(1, {p: m + 0.1 for p, m in LOW.items()}, label="9 epochs")
    s = stability(lo, hi)
    assert s.stable and s.moved is None and s.group == ("A",)
    assert s.text().startswith("rung 1 (9 epochs) keeps rung 0's top group {A} within ε = 0.012")


def test_a_flip_beyond_epsilon_is_unstable():
    lo = rung(0, LOW)
    hi = rung(1, {"A": 0.70, "B": 0.75, "C": 0.60, "D": 0.55})      # B overtakes A by 0.05
    s = stability(lo, hi)
    assert s.epsilon < 0.05 and not s.stable
    assert s.moved == ("B", 2, 1)
    assert "B is 2nd at rung 0 and 1st at rung 1" in s.text()


def test_a_flip_within_epsilon_is_stable():
    near = {"A": 0.700, "B": 0.695, "C": 0.60, "D": 0.55}           # A and B 0.005 apart
    lo = rung(0, near)
    hi = rung(1, {"A": 0.795, "B": 0.800, "C": 0.70, "D": 0.65})     # B first by 0.005
    s = stability(lo, hi)
    assert s.epsilon > 0.005 and s.stable and set(s.group) == {"A", "B"}
    # the same flip with no noise at all (one value per seed, all equal) is beyond ε = 0
    flat = RungResult(0, {p: [m, m] for p, m in near.items()})
    flat_hi = RungResult(1, {"A": [0.795] * 2, "B": [0.8] * 2, "C": [0.7] * 2, "D": [0.65] * 2})
    assert stability(flat, flat_hi).epsilon == 0 and not stability(flat, flat_hi).stable


def test_the_check_runs_both_ways():
    # The upper rung's leader B is tied with A at the lower rung, but the lower rung's leader A
    # falls far behind at the upper rung: PASHA's one-way check would pass, this one does not.
    lo = rung(0, {"A": 0.700, "B": 0.695, "C": 0.60, "D": 0.55})
    hi = rung(1, {"A": 0.70, "B": 0.80, "C": 0.65, "D": 0.60})
    s = stability(lo, hi)
    assert not s.stable and s.moved == ("A", 1, 2)


def test_direction_flag():
    losses = {"A": 0.30, "B": 0.35, "C": 0.40, "D": 0.45}          # smaller is better
    lo = rung(0, losses)
    same = rung(1, {p: m - 0.1 for p, m in losses.items()})
    assert stability(lo, same, maximize=False).stable
    assert stability(lo, same, maximize=False).group == ("A",)
    assert stability(lo, same, maximize=True).group == ("D",)
    flipped = rung(1, {"A": 0.30, "B": 0.20, "C": 0.30, "D": 0.35})  # B now the lowest loss
    assert not stability(lo, flipped, maximize=False).stable
    assert carry(lo, 2, maximize=False) == ("A", "B")
    assert carry(lo, 2, maximize=True) == ("D", "C")


def test_tau_and_its_interval_on_known_data():
    lo = rung(0, {"A": 0.4, "B": 0.3, "C": 0.2, "D": 0.1})
    hi = rung(1, {"A": 0.4, "B": 0.2, "C": 0.3, "D": 0.1})           # B and C swap: τ = 4/6
    a = agreement(lo, hi)
    assert a.tau == pytest.approx(2 / 3)
    assert a.tau == pytest.approx(stats.kendall([0.4, 0.3, 0.2, 0.1], [0.4, 0.2, 0.3, 0.1]))
    # seeds ±0.01 around means 0.1 apart never reorder: every resample gives the same τ
    assert (a.low, a.high) == pytest.approx((2 / 3, 2 / 3))
    assert a.text() == "0.67 [0.67, 0.67]"
    # noisy seeds: the interval is wide, contains τ, and is the same on every call
    noisy_lo = RungResult(0, {"A": [0.5, 0.1], "B": [0.45, 0.15], "C": [0.4, 0.2],
                              "D": [0.35, 0.25]})
    noisy = agreement(noisy_lo, hi)
    assert noisy.low < noisy.tau <= noisy.high and noisy.high - noisy.low > 1
    assert agreement(noisy_lo, hi) == noisy
    assert agreement(lo, hi, draws=0).low is None
    reversed_hi = rung(1, {"A": 0.1, "B": 0.2, "C": 0.3, "D": 0.4})
    assert agreement(lo, reversed_hi).tau == pytest.approx(-1)


def test_carry_takes_a_race_s_survivors_first_then_by_mean():
    r = rung(0, {"A": 0.70, "B": 0.65, "C": 0.60, "D": 0.55, "E": 0.50},
             survivors=("E", "C"))
    assert carry(r, 4) == ("C", "E", "A", "B")    # survivors by mean, then the rest by mean
    assert carry(r, 1) == ("C",)
    assert carry(r, 10) == ("C", "E", "A", "B", "D")
    assert carry(rung(0, {"A": 0.6, "B": 0.7}), 2) == ("B", "A")   # no race: by mean
    with pytest.raises(ValueError, match="top must be"):
        carry(r, 0)


def test_compared_over_the_points_carried_up():
    lo = rung(0, {"A": 0.70, "B": 0.65, "C": 0.60, "X": 0.90})        # X was not carried
    hi = rung(1, {"A": 0.80, "B": 0.75, "C": 0.70})
    s = stability(lo, hi)
    assert s.stable and s.group == ("A",) and "X" not in s.lower_order


def test_ladder_summary():
    r0 = rung(0, LOW, label="3 epochs")
    r1 = rung(1, {"A": 0.70, "B": 0.75, "C": 0.60, "D": 0.55}, label="9 epochs")
    r2 = rung(2, {"A": 0.80, "B": 0.85, "C": 0.70, "D": 0.65}, label="27 epochs")
    lad = ladder([r0, r1, r2])
    assert [c.stable for c in lad.checks] == [False, True]
    assert lad.stable_from == 1 and lad.top == 2
    assert lad.text().startswith("the answer is stable from rung 1 (9 epochs): rung 2 (27 "
                                 "epochs) keeps rung 1's top group {B}")
    moved = ladder([r0, r1])
    assert moved.stable_from is None
    assert moved.text().startswith("the ranking moved at every rung: no cheaper rung is "
                                   "faithful; the answer is rung 1 (9 epochs)'s")


@pytest.mark.parametrize("make", [
    lambda: RungResult(0, {}),
    lambda: RungResult(0, {"A": []}),
    lambda: RungResult(0, {"A": [float("nan")]}),
    lambda: RungResult(0, {"A": [0.5]}, survivors=("B",)),
    lambda: RungResult(-1, {"A": [0.5]}),
    lambda: stability(rung(0, {"A": 0.5}), rung(1, {"A": 0.6})),
    lambda: stability(rung(0, LOW), rung(1, LOW), z=-1),
    lambda: ladder([rung(1, LOW), rung(0, LOW)]),
])
def test_bad_input_is_one_value_error(make):
    with pytest.raises(ValueError) as err:
        make()
    assert "\n" not in str(err.value)
