"""Metrics, reports and whole-recording prediction.

Registered: metrics ``LevelMetrics``, ``ScoreMetrics``, ``TopKAccuracy``; hook
``AQAReportHook``.
"""
from __future__ import annotations


def register_components(register) -> None:
    """Register this package's components through the plugin hook's callback."""
    from pisa.evaluation.hooks import AQAReportHook
    from pisa.evaluation.metrics import LevelMetrics, ScoreMetrics
    from pisa.evaluation.topk import TopKAccuracy

    register("metric", LevelMetrics)
    register("metric", ScoreMetrics)
    register("metric", TopKAccuracy)
    register("hook", AQAReportHook)
