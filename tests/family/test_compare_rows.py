"""compare's table and verdict, from entries as stored: each row's p is against the compound
network of its own comparison, and significance is decided at stats.ALPHA."""

import pytest

from gridsearch import stats
from gridsearch.family import Entry, compare_rows, compare_verdict, unmatched_note


def _entry(strategy, accuracies, plan="phi=1;point=1,1,1", within=True):
    return Entry(strategy, 1.0, {"within_tolerance": within}, dict(enumerate(accuracies)),
                 plan=plan)


def test_each_row_is_tested_against_the_compound_of_its_own_comparison():
    # two comparisons at the same φ, of two compound points: one store holds both
    a = [_entry("compound", [0.90, 0.91, 0.92]), _entry("depth", [0.80, 0.82, 0.81])]
    b = [_entry("compound", [0.60, 0.62, 0.61], "phi=1;point=2,1,1"),
         _entry("depth", [0.80, 0.82, 0.81], "phi=1;point=2,1,1")]
    rows = compare_rows(a + b)
    assert [r["p_vs_compound"] is None for r in rows] == [True, False, True, False]
    for row, (compound, depth) in zip(rows[1::2], (a, b), strict=True):
        want = stats.welch(list(depth.accuracies.values()), list(compound.accuracies.values()))
        assert row["p_vs_compound"] == pytest.approx(want.p)
    assert compare_rows(a[1:])[0]["p_vs_compound"] is None     # no compound: nothing to test


def test_the_verdict_tests_each_gap_at_stats_alpha(monkeypatch):
    rows = compare_rows([_entry("compound", [0.90, 0.91, 0.92]),
                         _entry("depth", [0.50, 0.51, 0.52]),
                         _entry("width", [0.90, 0.93, 0.905])])
    text = compare_verdict(rows)
    assert text.startswith("compound minus (accuracy): depth +0.4000 (p = ")
    assert "depth +0.4000" in text and ", significant)" in text.split(";")[0]
    assert "not significant" in text.split(";")[1]
    monkeypatch.setattr(stats, "ALPHA", 1e-12)        # the threshold is stats.ALPHA's, not 0.05
    assert "not significant" in compare_verdict(rows).split(";")[0]
    one = compare_rows([_entry("compound", [0.9]), _entry("depth", [0.5])])
    assert compare_verdict(one).startswith("no noise estimate (one seed each)")
    assert compare_verdict(rows[1:]) is None


def test_the_note_names_only_the_strategies_that_missed_the_flops():
    rows = compare_rows([_entry("compound", [0.9], within=False), _entry("depth", [0.8]),
                         _entry("width", [0.8], within=False)])
    assert unmatched_note(rows, 0.05) == ("note: width could not match the compound FLOPs within "
                                          "5% (rounding); compared at the closest measured FLOPs")
    assert unmatched_note(rows[:2], 0.05) is None
