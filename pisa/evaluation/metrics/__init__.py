"""AQA metrics over the model's predict outputs.

Each predict output is one dict per sample (DEVELOPERS.md): ``pred_label`` (0..C-1),
``probs`` ``(C,)``, ``pred_score`` (float), ``gt_label`` (0..C-1, -1 if none),
``gt_score`` (float), ``sample_id``, ``group`` (the performance). Levels are 0-based
inside and shown as 1..C in reports.

Config use::

    val_evaluator = [dict(type='LevelMetrics'), dict(type='ScoreMetrics')]

Results are kept in ``self.results`` as plain numbers, so mmengine gathers them across
ranks before :meth:`compute_metrics` runs on the main process.

Modules by family: :mod:`.level_metrics` (``LevelMetrics``, pooling by performance),
:mod:`.score_metrics` (``ScoreMetrics``, per action), :mod:`.topk` (``TopKAccuracy``);
:mod:`.sample_values` reads a predict output's numbers.
"""
