"""The baselines beside the model: :func:`evaluate_baselines` fits, predicts and runs
the config's metrics for each baseline; :func:`format_comparison_table` puts their
metrics beside the model's as a markdown table."""
from __future__ import annotations

import inspect
import math
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np

from pisa.evaluation.baselines.fit_predict import Record, infer_num_classes


def _metric_type_name(cfg: Any) -> str:
    kind = cfg.get("type") if isinstance(cfg, dict) else type(cfg)
    return kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))


def evaluate_baselines(baseline_cfgs: Union[Dict[str, Any], Sequence[Dict[str, Any]]],
                       train_records: Sequence[Record], test_records: Sequence[Record],
                       metric_cfgs: Union[Dict[str, Any], Sequence[Dict[str, Any]]],
                       num_classes: Optional[int] = None) -> Dict[str, Dict[str, Any]]:
    """Fit each baseline on ``train_records``, predict ``test_records`` and run the
    metrics on its predictions.

    Args:
        baseline_cfgs: config dicts of :data:`pisa.registry.BASELINES` (one or a list);
            an optional ``name`` key names the baseline (default its ``type``).
        train_records, test_records: performance records (the datasets' ``.performances``).
        metric_cfgs: the test evaluator's metric configs (one or a list) of
            :data:`pisa.registry.METRICS`; ``DumpResults`` is left out.
        num_classes: levels ``C`` (give the dataset's ``metainfo['num_classes']`` so the
            baselines' ``probs`` match the model's); None: the highest label of both
            record lists + 1 (None for a score dataset). Given to every baseline whose
            config does not set it, and to the metrics as ``dataset_meta``.

    Returns:
        ``{baseline name: {metric key: value}}``, all metrics' keys merged (with each
        metric's ``prefix``, as mmengine's evaluator names them).
    """
    from pisa.registry import BASELINES, METRICS

    cfgs = [baseline_cfgs] if isinstance(baseline_cfgs, dict) else list(baseline_cfgs)
    metric_list = [metric_cfgs] if isinstance(metric_cfgs, dict) else list(metric_cfgs)
    metric_list = [m for m in metric_list if _metric_type_name(m) != "DumpResults"]
    if num_classes is None:
        num_classes = infer_num_classes(list(train_records) + list(test_records))
    out: Dict[str, Dict[str, Any]] = {}
    for cfg in cfgs:
        cfg = dict(cfg)
        name = str(cfg.pop("name", None) or _metric_type_name(cfg))
        if name in out:
            raise ValueError(f"two baselines are named {name!r}; give one a different 'name'")
        kind = cfg.get("type")
        if kind is None:
            raise KeyError(f"baseline config {cfg!r} has no 'type' (e.g. 'MajorityBaseline')")
        kind = BASELINES.get(kind) if isinstance(kind, str) else kind
        # a plugin's baseline need not take num_classes
        takes_classes = "num_classes" in inspect.signature(kind).parameters
        baseline = BASELINES.build(cfg, default_args=dict(num_classes=num_classes) if takes_classes else None)
        baseline.fit(train_records)
        predictions = baseline.predict(test_records)
        metrics: Dict[str, Any] = {}
        for metric_cfg in metric_list:
            metric = METRICS.build(dict(metric_cfg))
            metric.dataset_meta = {"num_classes": num_classes}
            metric.process({}, predictions)
            values = metric.compute_metrics(metric.results)
            metric.results.clear()
            if metric.prefix:
                values = {f"{metric.prefix}/{k}": v for k, v in values.items()}
            metrics.update(values)
        out[name] = metrics
    return out


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _cell(value: Any) -> str:
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    return "nan" if math.isnan(value) else f"{value:.4f}"


def format_comparison_table(model_metrics: Dict[str, Any],
                            baseline_metrics: Dict[str, Dict[str, Any]],
                            keys: Optional[Sequence[str]] = None, model_name: str = "model") -> str:
    """A markdown table: one row per metric, columns ``metric``, ``model_name`` (the
    model's value) and each baseline of ``baseline_metrics`` in its order. ``keys``: the
    rows; default the model's scalar metrics (numbers, not the confusion matrix) that
    every baseline has too, in the model's order. A value missing from a column shows as
    ``n/a``; floats with 4 decimals."""
    names = list(baseline_metrics)
    if keys is None:
        keys = [k for k, v in model_metrics.items() if _is_scalar(v)
                and all(_is_scalar(baseline_metrics[n].get(k)) for n in names)]
    if not keys:
        raise ValueError("no metric to compare: the model and the baselines share no scalar "
                         f"metric (model: {sorted(model_metrics)})")
    columns = [model_metrics] + [baseline_metrics[n] for n in names]
    header = ["metric", model_name] + names
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for key in keys:
        cells = [_cell(c.get(key)) if _is_scalar(c.get(key)) else "n/a" for c in columns]
        lines.append("| " + " | ".join([str(key)] + cells) + " |")
    return "\n".join(lines) + "\n"
