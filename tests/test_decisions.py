"""Ordinal decision rules, calibration error and temperature scaling, on generated ordinal
data whose truth is known."""
from __future__ import annotations

import numpy as np
import pytest

from pisa.engine.hooks.calibration_hook import rule_errors
from pisa.evaluation.calibration import (expected_calibration_error, fit_temperature,
                                         log_probs, reliability_bins)
from pisa.evaluation.metrics.level_metrics import LevelMetrics
from pisa.models.decisions import build_decision_rule, tempered_probs

C = 8


def skewed_posteriors(n: int, rng: np.random.Generator) -> np.ndarray:
    """Calibrated predictive distributions with a long tail: a peak at one level and
    most of the remaining mass spread above it, so mode, median and mean differ."""
    probs = np.zeros((n, C))
    peak = rng.integers(0, C // 2, size=n)
    for i, p in enumerate(peak):
        probs[i, p] = 0.4
        tail = np.arange(p + 1, C)
        probs[i, tail] = 0.6 / len(tail)
    return probs


@pytest.fixture(scope="module")
def ordinal_data():
    """Truth drawn from known posteriors; the model reports them sharpened (logits x 3,
    i.e. overconfident): the miscalibration temperature scaling should undo."""
    rng = np.random.default_rng(0)
    truth_probs = skewed_posteriors(6000, rng)
    labels = np.array([rng.choice(C, p=p) for p in truth_probs])
    model_logits = 3.0 * np.log(truth_probs + 1e-12)
    return truth_probs, labels, model_logits


def test_rules_on_hand_made_distributions():
    probs = np.array([[0.4, 0.0, 0.3, 0.3],     # mode 0, median 2, mean 1.5 -> 2
                      [0.1, 0.2, 0.2, 0.5]])    # mode 3, median 2 (0.5 reached at 2), mean 2.1
    reg = np.array([0.6, 3.7])
    expect = {"ArgmaxLevel": [0, 3], "MedianLevel": [2, 2], "ExpectedLevel": [2, 2],
              "RegressionLevel": [1, 3]}
    for name, levels in expect.items():
        assert build_decision_rule(name)(probs, reg).tolist() == levels, name
    # blend of expected (1.5, 2.1) and regression (0.6, 3.7) at weight 0.5: 1.05, 2.9
    assert build_decision_rule(dict(type="BlendLevel", weight=0.5))(probs, reg).tolist() == [1, 3]
    with pytest.raises(ValueError, match="weight"):
        build_decision_rule(dict(type="BlendLevel", weight=2.0))
    with pytest.raises(ValueError, match="regression values"):
        build_decision_rule("ArgmaxLevel")(probs, reg[:1])


def test_median_and_expected_rules_lower_mae_on_a_miscalibrated_model(ordinal_data):
    _, labels, logits = ordinal_data
    probs = tempered_probs(logits)
    reg = np.zeros(len(labels))
    groups = [str(i) for i in range(len(labels))]
    fitted = fit_temperature(log_probs(probs[:3000]), labels[:3000])
    calibrated = tempered_probs(log_probs(probs[3000:]), fitted)
    errors = rule_errors(calibrated, labels[3000:], reg[3000:], groups[3000:],
                         [dict(type="ArgmaxLevel"), dict(type="MedianLevel"),
                          dict(type="ExpectedLevel")], "mae")
    argmax, median, expected = errors["ArgmaxLevel()"], errors["MedianLevel()"], errors["ExpectedLevel()"]
    # the median minimises the expected absolute error under the predictive distribution
    # 3000 samples: the standard error of each difference is about 0.03 levels
    assert median < argmax - 0.1
    assert expected < argmax - 0.1
    # on the overconfident outputs themselves the peak holds over half the mass, so the
    # median is the argmax: the temperature has to be fitted before the rule can help
    raw = rule_errors(probs, labels, reg, groups, [dict(type="ArgmaxLevel"),
                                                    dict(type="MedianLevel")], "mae")
    assert raw["MedianLevel()"] == raw["ArgmaxLevel()"]


def test_temperature_scaling_recovers_the_sharpening_and_lowers_ece(ordinal_data):
    _, labels, logits = ordinal_data
    probs = tempered_probs(logits)
    fit, held = slice(0, 3000), slice(3000, None)
    temperature = fit_temperature(log_probs(probs[fit]), labels[fit])
    assert temperature == pytest.approx(3.0, rel=0.15)  # the model's logits were x 3
    before = probs[held]
    after = tempered_probs(log_probs(before), temperature)
    pred = before.argmax(axis=1)
    assert (after.argmax(axis=1) == pred).all()  # temperature never changes the argmax
    hit = pred == labels[held]
    ece_before = expected_calibration_error(before[np.arange(len(pred)), pred], hit)
    ece_after = expected_calibration_error(after[np.arange(len(pred)), pred], hit)
    assert ece_before > 0.25  # 0.4 right when it says about 0.9
    assert ece_after < ece_before / 4


def test_ece_equals_an_independent_computation():
    rng = np.random.default_rng(1)
    conf = rng.uniform(0, 1, 500)
    hit = rng.uniform(0, 1, 500) < conf ** 2
    edges = np.linspace(0, 1, 16)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        member = (conf >= lo) & ((conf < hi) if hi < 1 else (conf <= hi))
        if member.any():
            ece += member.mean() * abs(hit[member].mean() - conf[member].mean())
    assert expected_calibration_error(conf, hit) == pytest.approx(ece, abs=1e-12)
    bins = reliability_bins(conf, hit)
    assert sum(b["count"] for b in bins) == 500 and len(bins) == 15


def test_level_metrics_pool_with_the_rule_the_predictions_name():
    """Two samples of one performance: pooled probabilities [0.4, 0, 0.3, 0.3] -> argmax 0,
    median 2; the metric decides the performance by the rule named in the outputs."""
    def outputs(rule):
        p1, p2 = [0.6, 0.0, 0.1, 0.3], [0.2, 0.0, 0.5, 0.3]
        decide = build_decision_rule(rule)
        return [dict(gt_label=2, probs=p, pred_score=1.0, group="perf", sample_id=f"s{i}",
                     pred_label=int(decide(np.array([p]), np.array([1.0]))[0]),
                     decision=decide.config()) for i, p in enumerate((p1, p2))]

    for rule, pooled_level in (("ArgmaxLevel", 0), ("MedianLevel", 2)):
        metric = LevelMetrics(num_classes=4)
        metric.process({}, outputs(rule))
        result = metric.compute_metrics(metric.results)
        assert result["performance_mae"] == abs(2 - pooled_level), rule
        assert 0.0 <= result["ece"] <= 1.0 and len(result["reliability"]) == 15
    mixed = outputs("ArgmaxLevel")[:1] + outputs("MedianLevel")[1:]
    metric = LevelMetrics(num_classes=4)
    metric.process({}, mixed)
    with pytest.raises(ValueError, match="different decision rules"):
        metric.compute_metrics(metric.results)
