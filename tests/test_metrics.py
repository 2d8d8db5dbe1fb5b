"""LevelMetrics / ScoreMetrics against values worked out by hand in each test."""
from __future__ import annotations

import math
import os
import socket

import numpy as np
import pytest
import torch

from pisa.evaluation.metrics.level_metrics import LevelMetrics, balanced_accuracy, confusion_matrix
from pisa.evaluation.metrics.score_metrics import ScoreMetrics, relative_l2, spearman_rho
from pisa.registry import METRICS


def one_hot(level: int, num_classes: int = 10, p: float = 0.91) -> np.ndarray:
    probs = np.full(num_classes, (1 - p) / (num_classes - 1))
    probs[level] = p
    return probs


def sample(gt: int, pred: int, probs=None, group: str = "g", score=None, gt_score=None, sid="s"):
    probs = one_hot(pred) if probs is None else np.asarray(probs, dtype=np.float64)
    return {
        "pred_label": torch.tensor(pred),
        "probs": torch.tensor(probs, dtype=torch.float32),
        "pred_score": torch.tensor(float(pred if score is None else score)),
        "gt_label": gt,
        "gt_score": float(gt if gt_score is None else gt_score),
        "sample_id": sid,
        "group": group,
    }


def evaluate(metric, samples, batch: int = 2):
    for i in range(0, len(samples), batch):
        metric.process({}, samples[i : i + batch])
    return metric.evaluate(len(samples))


def test_level_metrics_built_from_registry_sample_level_values():
    metric = METRICS.build(dict(type="LevelMetrics"))
    assert isinstance(metric, LevelMetrics)
    gt = [0, 1, 2, 3, 9]
    pred = [0, 2, 2, 5, 8]
    # |gt - pred| = 0, 1, 0, 2, 1
    out = evaluate(metric, [sample(g, p, group=f"p{i}") for i, (g, p) in enumerate(zip(gt, pred))])
    assert out["accuracy"] == pytest.approx(2 / 5)
    assert out["mae"] == pytest.approx(4 / 5)
    assert out["within1"] == pytest.approx(4 / 5)
    # one sample per performance: pooled accuracy equals sample accuracy
    assert out["performance_accuracy"] == pytest.approx(2 / 5)
    cm = np.array(out["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 5
    assert cm[0, 0] == 1 and cm[1, 2] == 1 and cm[2, 2] == 1 and cm[3, 5] == 1 and cm[9, 8] == 1


def test_performance_accuracy_averages_probabilities_not_votes():
    # performance A (level index 4): one confident right sample, two weakly wrong ones.
    # Majority vote says 3; mean probability of 4 = (0.9+0.35+0.35)/3 > of 3 = (0.05+0.4+0.4)/3.
    def probs(p4: float, p3: float) -> np.ndarray:
        rest = (1 - p4 - p3) / 8
        out = np.full(10, rest)
        out[4], out[3] = p4, p3
        return out

    samples = [
        sample(4, 4, probs(0.9, 0.05), group="A"),
        sample(4, 3, probs(0.35, 0.4), group="A"),
        sample(4, 3, probs(0.35, 0.4), group="A"),
        sample(7, 6, group="B"),
    ]
    out = evaluate(LevelMetrics(), samples)
    assert out["accuracy"] == pytest.approx(1 / 4)
    assert out["performance_accuracy"] == pytest.approx(1 / 2)
    # pooled: A right (error 0), B one level off (7 vs 6); per sample: 0, 1, 1, 1
    assert out["performance_mae"] == pytest.approx(1 / 2) and out["mae"] == pytest.approx(3 / 4)
    assert out["performance_within1"] == pytest.approx(1.0)


def test_performance_spearman_ranks_the_mean_prediction_of_each_performance():
    # three performances of 2 samples; per-sample predictions rank badly, the means well
    samples = [sample(0, 0, group=g, score=s, gt_score=t, sid=f"{g}{i}")
               for i, (g, s, t) in enumerate([("A", 1.0, 1.0), ("A", 5.0, 1.0), ("B", 2.5, 2.0),
                                               ("B", 4.5, 2.0), ("C", 6.0, 3.0), ("C", 4.0, 3.0)])]
    out = evaluate(ScoreMetrics(score_range=(0, 10)), samples)
    assert out["performance_spearman"] == pytest.approx(1.0)  # means 3, 3.5, 5
    assert out["spearman"] < 0.9


def test_balanced_accuracy_ignores_levels_absent_from_ground_truth():
    gt = [0, 0, 1, 1, 1, 3]
    pred = [0, 0, 1, 5, 5, 2]  # level index 5 is predicted but never true
    cm = confusion_matrix(gt, pred, 10)
    # recall: level0 2/2, level1 1/3, level3 0/1; levels without samples don't count
    expected = (1.0 + 1 / 3 + 0.0) / 3
    assert balanced_accuracy(cm) == pytest.approx(expected)
    out = evaluate(LevelMetrics(), [sample(g, p, group=str(i)) for i, (g, p) in enumerate(zip(gt, pred))])
    assert out["balanced_accuracy"] == pytest.approx(expected)
    assert out["accuracy"] == pytest.approx(3 / 6)


def test_confusion_matrix_counts_match_pairs():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 10, 200)
    pred = rng.integers(0, 10, 200)
    cm = confusion_matrix(gt, pred, 10)
    for i in range(10):
        for j in range(10):
            assert cm[i, j] == int(np.sum((gt == i) & (pred == j)))


def test_num_classes_comes_from_the_dataset_meta():
    metric = LevelMetrics()
    metric.dataset_meta = {"num_classes": 4}
    probs = np.array([0.1, 0.2, 0.6, 0.1])
    out = evaluate(metric, [sample(2, 2, probs, group="a"), sample(3, 2, probs, group="b")])
    assert np.array(out["confusion_matrix"]).shape == (4, 4)
    assert out["accuracy"] == pytest.approx(1 / 2)
    with pytest.raises(ValueError, match="10 class probabilities, expected num_classes=4"):
        metric.process({}, [sample(1, 1)])


def test_unlabelled_samples_are_left_out():
    samples = [sample(2, 2, group="a"), sample(-1, 5, group="b"), sample(3, 1, group="c")]
    out = evaluate(LevelMetrics(), samples)
    assert out["accuracy"] == pytest.approx(1 / 2)
    assert np.array(out["confusion_matrix"]).sum() == 2


def test_level_metrics_bad_inputs_name_what_is_wrong():
    metric = LevelMetrics(num_classes=10)
    with pytest.raises(ValueError, match=r"'clip7'.*4 class probabilities"):
        metric.process({}, [{**sample(1, 1, probs=np.full(4, 0.25)), "sample_id": "clip7"}])
    mixed = [sample(1, 1, group="perf3"), sample(2, 2, group="perf3")]
    with pytest.raises(ValueError, match=r"group 'perf3'.*different gt_label"):
        LevelMetrics().compute_metrics(
            [{"gt": s["gt_label"], "pred": int(s["pred_label"]), "probs": s["probs"].numpy(),
              "group": s["group"]} for s in mixed])
    with pytest.raises(ValueError, match="no labelled predictions"):
        LevelMetrics().compute_metrics([])
    with pytest.raises(ValueError, match=r"outside 0\.\.9"):
        confusion_matrix([10], [0], 10)


def pearson(x, y) -> float:
    x = np.asarray(x, float) - np.mean(x)
    y = np.asarray(y, float) - np.mean(y)
    return float((x * y).sum() / math.sqrt((x * x).sum() * (y * y).sum()))


def test_spearman_with_ties_uses_average_ranks():
    gt = [1.0, 2.0, 2.0, 3.0]
    pred = [10.0, 20.0, 30.0, 30.0]
    # ranks written out: gt 1, 2.5, 2.5, 4; pred 1, 2, 3.5, 3.5; their Pearson r is
    # (2.25 + 1.5) / sqrt(4.5 * 4.5) = 5/6
    assert pearson([1, 2.5, 2.5, 4], [1, 2, 3.5, 3.5]) == pytest.approx(5 / 6)
    assert spearman_rho(gt, pred) == pytest.approx(5 / 6)
    # monotone but non-linear: rho is exactly 1 / -1
    assert spearman_rho([1, 2, 3, 4], [1, 8, 27, 1000]) == pytest.approx(1.0)
    assert spearman_rho([1, 2, 3, 4], [5, 4, 2, -9]) == pytest.approx(-1.0)


def test_spearman_constant_input_is_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="undefined"):
        assert math.isnan(spearman_rho([1, 2, 3], [4, 4, 4]))


def test_relative_l2_follows_core_definition():
    # ((|0-1|/10)^2 + 0 + (|10-7|/10)^2) / 3 * 100 = (0.01 + 0.09) / 3 * 100
    assert relative_l2([0, 5, 10], [1, 5, 7], 0, 10) == pytest.approx(10 / 3)
    with pytest.raises(ValueError, match="score_max > score_min"):
        relative_l2([1], [1], 5, 5)


def test_score_metrics_through_evaluate():
    gt_scores = [60.0, 70.0, 80.0, 90.0]
    pred_scores = [62.0, 68.0, 85.0, 95.0]
    samples = [sample(0, 0, score=p, gt_score=g, group=str(i))
               for i, (g, p) in enumerate(zip(gt_scores, pred_scores))]
    out = evaluate(METRICS.build(dict(type="ScoreMetrics", score_range=(0, 100))), samples)
    assert out["spearman"] == pytest.approx(1.0)
    # errors 2, 2, 5, 5 over a range of 100
    assert out["rl2"] == pytest.approx((0.02**2 * 2 + 0.05**2 * 2) / 4 * 100)
    # without a range the ground truth's own span (30) is used
    out = evaluate(ScoreMetrics(), samples)
    assert out["rl2"] == pytest.approx(((2 / 30) ** 2 * 2 + (5 / 30) ** 2 * 2) / 4 * 100)
    with pytest.raises(ValueError, match="score_range"):
        ScoreMetrics(score_range=(3, 1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, samples, out_dir: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        metric = LevelMetrics()
        # mmengine's samplers hand rank r the samples r, r+world, ...
        metric.process({}, samples[rank::world])
        out = metric.evaluate(len(samples))
        torch.save(out, os.path.join(out_dir, f"rank{rank}.pt"))
        # both ranks leave together: gloo aborts a process whose peer tears the group down
        # under it ("terminate called without an active exception")
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # two gloo processes: a few seconds, more on a loaded machine
def test_level_metrics_gather_results_across_ranks(tmp_path):
    import torch.multiprocessing as mp

    gt = [0, 1, 2, 3, 4, 5, 6]
    pred = [0, 1, 3, 3, 9, 5, 5]
    samples = [sample(g, p, group=f"p{i}") for i, (g, p) in enumerate(zip(gt, pred))]
    single = evaluate(LevelMetrics(), samples)
    mp.spawn(_ddp_worker, args=(2, _free_port(), samples, str(tmp_path)), nprocs=2, join=True)
    for rank in range(2):
        out = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert out["accuracy"] == pytest.approx(4 / 7) == pytest.approx(single["accuracy"])
        assert out["confusion_matrix"] == single["confusion_matrix"]
