"""Evaluation: metrics (:mod:`.metrics`, :mod:`.topk`), metrics of dumped predictions
(:mod:`.offline_metrics`), reports and plots (:mod:`.reports`, :mod:`.curves`,
:mod:`.calibration`), baselines (:mod:`.baselines`), and what a recording's assessment
holds (:mod:`.assessment`). Pure functions: the hooks that call them from a run are the
engine's. It reads the model's predictions, never the data or the model."""
