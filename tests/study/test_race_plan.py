"""A race's plan on synthetic records (no training): every race ends, one network is one
candidate, a quantised tie is not taken as certainty, a partial confirmation replaces nothing,
workers are kept busy without changing the decision, a minimised metric, one notion of ties."""


import numpy as np
import pytest

from gridsearch.config import SelectConfig
from gridsearch.scaling import Point, Spec
from gridsearch.selection import Race, race, select
from gridsearch.study import Item, RacePlan, TrialRecord

POINTS = [Point(1.0, 1.0, 1.0), Point(1.0, 1.2, 1.0), Point(1.2, 1.0, 1.0), Point(1.0, 1.0, 1.2)]


def plan(points=POINTS, n0=3, max_seeds=6, delta=0.02, maximize=True, quantum=None):
    items = [Item(Spec.compound(p), {}) for p in points]
    sel = SelectConfig(mode="race", delta=delta, confidence=0.9, n0=n0, max_seeds=max_seeds)
    return RacePlan(items, 0, sel, maximize=maximize, quantum=quantum)


def record(pl, number, unit, value=None, state="COMPLETE", layout=None, flops=1000, **kw):
    n = len(pl.items)
    i, k = unit % n, unit // n
    p = pl.items[i].spec.point
    return TrialRecord(number, "s", state, values=(value,) if state == "COMPLETE" else None,
                       unit=unit, point_index=i, seed=k, seeds=(k,), alpha=p.alpha, beta=p.beta,
                       gamma=p.gamma, feasible=state != "INFEASIBLE", flops=flops,
                       layout=layout if layout is not None else {"depths": [i]}, resolution=32, **kw)


def drive(pl, value, fail=lambda u: None, layout=lambda i: None, workers=1, limit=500,
          partial=False):
    """Run the plan as a loop would, ``workers`` units at a time (the first ones it opens);
    ``partial``: stop after ``limit`` steps."""
    records = []
    for _ in range(limit):
        opening = pl.open(records)
        units = [u for u in opening.units if not any(r.unit == u for r in records)][:workers]
        if not units:
            assert opening.finished, "no unit open and the race has not ended"
            return records
        for u in units:
            n = len(pl.items)
            state = fail(u) or "COMPLETE"
            records.append(record(pl, len(records), u, value(u % n, u // n) if state == "COMPLETE"
                                  else None, state, layout=layout(u % n),
                                  error="boom" if state == "FAIL" else None))
    if partial:
        return records
    raise AssertionError("the race did not end")


def bank(means, sd=0.01, seed=1):
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, sd, (len(means), 50))
    return lambda i, k: float(means[i] + noise[i, k])


# -- fault 2: a later unit infeasible or failed ends the point's race, and the race ends ----------
@pytest.mark.parametrize("state", ["INFEASIBLE", "FAIL"])
def test_a_later_seed_without_a_value_takes_its_point_out_and_the_race_ends(state):
    pl = plan(delta=0.001)
    n = len(pl.items)
    records = drive(pl, bank([0.80, 0.80, 0.801, 0.70]), fail=lambda u: state if u == 3 * n + 1
                    else None)
    out = pl.outcome(records)
    assert out.done
    d = out.decision
    assert d[POINTS[1]].left is not None and d[POINTS[1]].left.startswith("seed 3: ")
    assert "left the race (no value)" in out.text()
    assert pl.open(records).finished and pl.progress(records)["left"] == 0


# -- fault 3: one network is one candidate, and a race ends when no surviving pair can separate ---
def test_identical_networks_are_merged_and_do_not_race_to_the_cap():
    same = bank([0.80, 0.80, 0.70, 0.60], sd=0.01)
    pl = plan(delta=0.01, max_seeds=12)
    records = drive(pl, lambda i, k: same(0 if i == 1 else i, k),
                    layout=lambda i: {"depths": [0]} if i == 1 else None)
    out = pl.outcome(records)
    assert out.merged == ((POINTS[1], POINTS[0]),)
    assert POINTS[1] not in out.decision.candidates
    trained = [r for r in records if r.point_index == 1]
    assert len(trained) == 1                        # its first seed, which showed its network
    assert "one network, raced once" in out.text()
    assert out.decision.status == "decided"
    # the selection ranks it as one candidate with no seed counted twice
    sel = select(records, "s", race=out)
    assert [c.point for c in sel.ranked].count(POINTS[1]) == 0
    assert sel.winner.merged == (POINTS[1],) and len(set(sel.winner.trials)) == sel.winner.runs


def test_kn_ends_once_no_surviving_pair_can_separate():
    # A and A2 identical (paired variance 0), B far behind and noisy: at 37b1639 the end round
    # was taken over every pair, B's too, and the race ran to the cap (29 of 36 runs).
    rng = np.random.default_rng(3)
    a = 0.8 + rng.normal(0, 0.01, 12)
    b = 0.5 + rng.normal(0, 0.05, 12)
    vals = {"A": a, "A2": a, "B": b}
    d = race(lambda c, s: vals[c][s], list(vals), delta=0.01, n0=3, max_seeds=12,
             cost={"A": 2, "A2": 1, "B": 0})
    assert d.status == "decided" and d.survivors == ("A", "A2") and d.winner == "A2"
    assert d.runs == 3 * d["B"].eliminated_after < 36   # ends the round B leaves


# -- fault 4: a quantised constant difference is not certainty ------------------------------------
def test_a_constant_quantised_difference_is_floored_and_warned():
    q = 1 / 64
    vals = {"x": [0.5, 0.6, 0.55, 0.58, 0.52, 0.6], "y": [0.5 - q, 0.6 - q, 0.55 - q,
                                                          0.58 - q, 0.52 - q, 0.6 - q]}
    bare = Race(list(vals), delta=0.005, n0=3, max_seeds=6)
    for c in vals:
        for s in range(3):
            bare.add(c, s, vals[c][s])
    assert bare.done and bare.decision().winner == "x"      # no floor: gone after the first stage
    assert "paired variance 0" in bare.forecast().text()
    floored = Race(list(vals), delta=0.005, n0=3, max_seeds=6, quantum=q)
    for c in vals:
        for s in range(3):
            floored.add(c, s, vals[c][s])
    assert not floored.done                                   # the floor keeps y in the race
    assert floored.floored == 1 and "floored" in floored.forecast().text()
    assert "floored" in floored.decision().text()


# -- fault 5: an unfinished confirmation does not replace a finished answer -----------------------
def test_an_unfinished_confirmation_replaces_nothing():
    pl = plan(n0=2, max_seeds=2)
    search = [record(pl, u, u, 0.9 - 0.1 * (u % 4) + 0.001 * (u // 4)) for u in range(8)]
    confirm = [record(pl, 0, 3, 0.95)]        # the worst search point confirmed first
    sel = select(search, "s", confirm, "s-confirm", confirm_finished=False)
    assert sel.source == "search" and sel.winner.point == POINTS[0]
    assert "unfinished" in sel.verdict()
    done = select(search, "s", confirm, "s-confirm", confirm_finished=True)
    assert done.source == "confirmation"


# -- fault 6 -------------------------------------------------------------------------------------
def test_a_point_without_flops_is_not_the_cheapest_at_the_cap():
    pl = plan(delta=0.0001, n0=2, max_seeds=2)
    records = drive(pl, lambda i, k: 0.8 + 0.001 * k)
    records = [TrialRecord(**{**r.__dict__, "flops": None}) if r.point_index == 0 else r
               for r in records]
    out = pl.outcome(records)
    assert out.decision.status == "decided" and len(out.decision.survivors) == 4
    assert out.winner != POINTS[0]


def test_first_stage_seeds_of_a_point_that_left_are_not_trained():
    pl = plan()
    records = [record(pl, 0, 0, None, "FAIL", error="boom")] + \
        [record(pl, i, i, 0.8) for i in range(1, 4)]
    units = pl.open(records).units
    n = len(pl.items)
    assert not any(u % n == 0 for u in units if u != 0)       # point 0's seeds 1, 2: not opened


# -- N workers: vector filling -------------------------------------------------------------------
def test_workers_get_later_seeds_before_a_round_closes_and_the_decision_is_unchanged():
    value = bank([0.80, 0.79, 0.78, 0.70], sd=0.02)
    one = plan(delta=0.01, max_seeds=10)
    seq = one.outcome(drive(one, value, workers=1)).decision
    for workers in (2, 3, 8):
        pl = plan(delta=0.01, max_seeds=10)
        records = drive(pl, value, workers=workers)
        d = pl.outcome(records).decision
        assert (d.winner, d.status, d.runs, d.eliminations()) == \
            (seq.winner, seq.status, seq.runs, seq.eliminations())
        # replay from the records alone gives it too
        vals = {(POINTS[r.point_index], r.seed): r.mean_accuracy for r in records}
        rep = Race.replay(vals, POINTS, delta=0.01, confidence=0.9, n0=3, max_seeds=10,
                          cost=lambda p: 1000)
        assert rep.decision().winner == d.winner
    # mid-race, a free worker is offered the next round before the current one closes
    pl = plan(delta=0.01, max_seeds=10)
    records = drive(pl, value, limit=5, workers=3, partial=True)
    open_now = pl.open(records).units
    n = len(pl.items)
    assert max(u // n for u in open_now) > min(u // n for u in open_now)


# -- direction: a minimised metric ---------------------------------------------------------------
def test_a_minimising_race_and_selection():
    loss = {"a": [0.30, 0.31, 0.29, 0.30, 0.32], "b": [0.50, 0.52, 0.49, 0.51, 0.50]}
    d = race(lambda c, s: loss[c][s], list(loss), delta=0.05, n0=3, maximize=False)
    assert d.winner == "a" and d["a"].mean == pytest.approx(0.30)    # shown as given
    assert d.decided
    up = race(lambda c, s: loss[c][s], list(loss), delta=0.05, n0=3)
    assert up.winner == "b"
    pl = plan(maximize=False, delta=0.05)
    records = drive(pl, lambda i, k: [0.3, 0.5, 0.6, 0.7][i] + 0.001 * k)
    out = pl.outcome(records)
    assert out.winner == POINTS[0]
    sel = select(records, "s", race=out, maximize=False)
    assert sel.winner.point == POINTS[0] and sel.margin > 0
    fixed = select(records, "s", maximize=False)
    assert fixed.winner.point == POINTS[0]
    assert select(records, "s").winner.point == POINTS[3]


# -- one notion of ties; equal P(best) for equal values ------------------------------------------
def test_ties_are_the_race_survivors_and_identical_values_get_equal_p_best():
    vals = {"x": [0.8, 0.81, 0.79, 0.8], "y": [0.8, 0.81, 0.79, 0.8], "z": [0.78, 0.8, 0.79, 0.8]}
    d = race(lambda c, s: vals[c][s], list(vals), delta=0.001, n0=2, max_seeds=4)
    assert d["x"].p_best == d["y"].p_best
    assert d.ties == tuple(c for c in d.survivors if c != d.winner)


def test_selection_ties_are_the_races_survivors():
    pl = plan(delta=0.0001, n0=2, max_seeds=3)
    records = drive(pl, bank([0.8, 0.8, 0.8, 0.5], sd=0.01))
    out = pl.outcome(records)
    assert out.decision.status == "capped"
    sel = select(records, "s", race=out)
    assert {t.point for t in sel.ties} == set(out.decision.survivors) - {out.winner}
