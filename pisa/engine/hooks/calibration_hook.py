"""After training: temperature scaling and the decision rule, fitted on the validation split.

A config asks for them with a top-level ``calibration`` section (absent: the model's own
rule and temperature stay, the paper's argmax)::

    calibration = dict(
        temperature=True,            # fit T on the validation predictions (NLL)
        select_decision=True,        # choose the rule with the lowest `metric` on validation
        candidates=None,             # rule configs to choose among (None: CANDIDATE_RULES)
        metric='performance_mae')    # 'performance_mae' or 'mae' (sample level)

:class:`CalibrationHook` (listed in ``configs/_base_/default_runtime.py``) checks the
section before training and, at the first evaluation loop after training (the runner
has loaded and frozen the selected checkpoint by then), runs :func:`calibrate`: the
checkpoint over the validation split once, what is asked fitted and set on the model
(``AQAModel.set_decision``) before the final val and test loops. The record goes to the
runner's message hub under ``decision``; ``results.json`` keeps it there.
``pisa test`` and ``pisa predict`` read that record back (:func:`recorded_decision`), so
the rule and temperature chosen here are the ones every later prediction uses.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Any, Dict, List, Optional

import numpy as np
from mmengine.hooks import Hook

from pisa.engine.validate import ConfigError
from pisa.evaluation.calibration import fit_temperature, log_probs
from pisa.evaluation.metrics.level_metrics import pool_by_group
from pisa.models.decisions import CANDIDATE_RULES, build_decision_rule, tempered_probs
from pisa.registry import component

CALIBRATION_KEYS = {"temperature", "select_decision", "candidates", "metric"}
SELECT_METRICS = ("performance_mae", "mae")


def calibration_settings(cfg: Any, source: str) -> Optional[Dict[str, Any]]:
    """The config's ``calibration`` section checked and completed, or None."""
    section = cfg.get("calibration")
    if not section:
        return None
    section = dict(section)
    unknown = sorted(set(section) - CALIBRATION_KEYS)
    if unknown:
        raise ConfigError(f"{source}: calibration: unknown keys {unknown}; "
                          f"known: {sorted(CALIBRATION_KEYS)}")
    metric = section.get("metric", "performance_mae")
    if metric not in SELECT_METRICS:
        raise ConfigError(f"{source}: calibration.metric: {metric!r} is not one of {SELECT_METRICS}")
    candidates = section.get("candidates") or CANDIDATE_RULES
    return {"temperature": bool(section.get("temperature", False)),
            "select_decision": bool(section.get("select_decision", False)),
            "candidates": [dict(c) if isinstance(c, dict) else {"type": str(c)} for c in candidates],
            "metric": metric}


def _bare_model(runner: Any) -> Any:
    from mmengine.model import is_model_wrapper

    return runner.model.module if is_model_wrapper(runner.model) else runner.model


def validation_outputs(runner: Any) -> List[Dict[str, Any]]:
    """The model's predict outputs over the whole validation split, from every rank."""
    import torch
    from mmengine.dist import all_gather_object

    model = runner.model
    model.eval()
    outputs: List[Dict[str, Any]] = []
    with torch.no_grad():
        for batch in runner.val_dataloader:
            outputs.extend(model.val_step(batch))
    gathered = all_gather_object(outputs)
    return [o for part in gathered for o in part]


def _level_arrays(outputs: List[Dict[str, Any]]):
    labelled = [o for o in outputs if int(o.get("gt_label", -1)) >= 0 and len(o.get("probs", []))]
    if not labelled:
        return None
    probs = np.array([np.asarray(o["probs"], dtype=np.float64) for o in labelled])
    gt = np.array([int(o["gt_label"]) for o in labelled], dtype=np.int64)
    reg = np.array([float(o["pred_score"]) for o in labelled], dtype=np.float64)
    groups = [str(o.get("group", o.get("sample_id", i))) for i, o in enumerate(labelled)]
    return probs, gt, reg, groups


def rule_errors(probs: np.ndarray, gt: np.ndarray, reg: np.ndarray, groups: List[str],
                candidates: List[Dict[str, Any]], metric: str) -> Dict[str, float]:
    """``metric`` (mean absolute error in levels, per sample or per pooled performance)
    of each candidate rule; keys are the rules' readable names."""
    if metric == "performance_mae":
        _, pooled, pooled_gt = pool_by_group(groups, probs, gt)
        mean_reg: Dict[str, List[float]] = {}
        for g, r in zip(groups, reg):
            mean_reg.setdefault(g, []).append(r)
        pooled_reg = np.array([np.mean(v) for v in mean_reg.values()])
        probs, gt, reg = pooled, pooled_gt, pooled_reg
    errors = {}
    for cfg in candidates:
        rule = build_decision_rule(cfg)
        errors[repr(rule)] = float(np.mean(np.abs(rule(probs, reg) - gt)))
    return errors


def calibrate(runner: Any, settings: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """Fit ``settings`` (:func:`calibration_settings`) on the validation split, set the
    result on the model and return the record for ``results.json``; None when nothing is
    asked. Without a validation split (``--protocol fixed``/``refit``) nothing is fitted:
    the record says so and the model keeps its configured rule."""
    if settings is None:
        return None
    current = current_decision(runner)
    if current is None:
        raise ConfigError(f"calibration: the model {type(_bare_model(runner)).__name__} has no "
                          "decision rule (set_decision); remove the calibration section")
    model = _bare_model(runner)
    if runner.cfg.get("val_dataloader") is None:
        runner.logger.warning("calibration: no validation split in this run; the model keeps "
                              f"its configured decision {current['rule']} and temperature "
                              f"{current['temperature']}")
        return dict(current, fitted_on=None, reason="no validation split")
    arrays = _level_arrays(validation_outputs(runner))
    if arrays is None:
        raise ConfigError("calibration: the validation split has no labelled level "
                          "predictions (a score model?); remove the calibration section")
    probs, gt, reg, groups = arrays
    temperature, fitted_t = current["temperature"], None
    if settings["temperature"]:
        fitted_t = fit_temperature(log_probs(probs), gt)
        probs = tempered_probs(log_probs(probs), fitted_t)
        temperature = temperature * fitted_t
    rule = current["rule"]
    errors = None
    if settings["select_decision"]:
        errors = rule_errors(probs, gt, reg, groups, settings["candidates"], settings["metric"])
        best = min(range(len(errors)), key=lambda i: list(errors.values())[i])  # first on ties
        rule = build_decision_rule(settings["candidates"][best]).config()
    model.set_decision(rule, temperature)
    record = {"rule": rule, "temperature": temperature, "fitted_on": "val",
              "fitted_temperature": fitted_t, "select_metric": settings["metric"],
              "val_errors": errors, "val_samples": int(len(gt))}
    runner.logger.info(f"calibration on validation: decision {build_decision_rule(rule)!r}, "
                       f"temperature {temperature:.4f}" + (f"; {settings['metric']} per rule: "
                       + ", ".join(f"{k} {v:.4f}" for k, v in errors.items()) if errors else ""))
    return record


@component("hook")
class CalibrationHook(Hook):
    """Fit the config's ``calibration`` section (:func:`calibration_settings`) on the
    validation split after training, at the start of the first val or test loop that
    follows it, and put the record in the runner's message hub (``decision``). Without a
    section, or in a run that does not train (``pisa test``), nothing is fitted."""

    priority = "NORMAL"

    def __init__(self) -> None:
        self._settings: Optional[Dict[str, Any]] = None
        self._trained = self._fitted = False

    def before_run(self, runner: Any) -> None:
        # a typo in the section fails here, before training
        self._settings = calibration_settings(runner.cfg, str(runner.cfg.filename or "config"))
        self._trained = self._fitted = False
        runner.message_hub.update_info("decision", None, resumed=False)

    def after_train(self, runner: Any) -> None:
        self._trained = True

    def _fit(self, runner: Any) -> None:
        if not self._trained or self._fitted:
            return
        self._fitted = True
        record = calibrate(runner, self._settings)
        if record is not None:
            runner.message_hub.update_info("decision", record, resumed=False)

    def before_val(self, runner: Any) -> None:
        self._fit(runner)

    def before_test(self, runner: Any) -> None:
        self._fit(runner)


def current_decision(runner: Any) -> Optional[Dict[str, Any]]:
    """The rule and temperature the run's model predicts with (``AQAModel``), or None
    for a model without a decision rule."""
    model = _bare_model(runner)
    if not hasattr(model, "set_decision"):
        return None
    return {"rule": model.decision_rule.config(), "temperature": float(model.temperature)}


def recorded_decision(checkpoint: str) -> Optional[Dict[str, Any]]:
    """The ``decision`` record of the run that chose ``checkpoint``: the ``results.json``
    in the checkpoint's folder, when it names this checkpoint; else None."""
    results_path = osp.join(osp.dirname(osp.abspath(checkpoint)), "results.json")
    if not osp.isfile(results_path):
        return None
    import json

    try:
        with open(results_path, encoding="utf-8") as f:
            results = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"{results_path}: cannot read the run's results: {err}") from None
    named = results.get("checkpoint")
    if not named or osp.basename(str(named)) != osp.basename(checkpoint):
        return None
    decision = results.get("decision")
    return decision if isinstance(decision, dict) and decision.get("rule") else None


def explicit_decision(cfg_options: Optional[Dict[str, Any]]) -> bool:
    """Whether ``--cfg-options`` set the model's decision or temperature itself (then a
    recorded decision does not replace it)."""
    return any(str(k).startswith(("model.decision", "model.temperature"))
               for k in (cfg_options or {}))


def apply_recorded_decision(cfg: Any, checkpoint: str,
                            cfg_options: Optional[Dict[str, Any]] = None) -> Optional[Dict[str, Any]]:
    """Put the decision recorded for ``checkpoint`` into ``cfg.model`` (unless the
    command line set one); returns the record used, or None."""
    if explicit_decision(cfg_options) or not os.path.isfile(checkpoint):
        return None
    record = recorded_decision(checkpoint)
    if record is None:
        return None
    cfg.model.decision = dict(record["rule"])
    cfg.model.temperature = float(record.get("temperature", 1.0))
    return record
