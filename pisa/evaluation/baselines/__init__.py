"""Baselines shown beside the deep model: models without a network (registry kind
``baseline``, :data:`pisa.registry.BASELINES`).

A baseline is fitted on the training performance records (the dicts an
``AQABaseDataset`` keeps in ``.performances``: ``perf_id``, ``video_path`` /
``frame_dir``, ``audio_path`` (None: the video's own track), ``frame_offset``,
``num_frames``, ``fps``, ``crop_box``, ``label``, ``score``, ``group``, ...) and predicts
one predict-output dict per record, in the model's format (DEVELOPERS.md): ``pred_label``
(0..C-1; -1 for a score dataset), ``probs`` (C floats; ``[]`` for a score dataset),
``pred_score``, ``gt_label``, ``gt_score``, ``sample_id`` (the ``perf_id``) and
``group``. A dataset is a score dataset when its labels are -1.

- :class:`~pisa.evaluation.baselines.majority.MajorityBaseline`: the most frequent training level with the training level
  frequencies as probabilities; the mean training score for a score dataset.
- :class:`~pisa.evaluation.baselines.classical.ClassicalFeatureBaseline`: a few librosa audio statistics and frame-difference
  motion statistics per performance, then a scikit-learn ``StandardScaler`` +
  ``LogisticRegression`` (levels) or ``Ridge`` (scores); its fitting is
  :class:`~pisa.evaluation.baselines.linear_features.LinearFeatureBaseline`'s, which plugins
  subclass for features of their own.

:func:`~pisa.evaluation.baselines.comparison.evaluate_baselines` fits, predicts and runs the config's metrics for each baseline;
:func:`~pisa.evaluation.baselines.comparison.format_comparison_table` puts their metrics beside the model's as a markdown table.

Modules: :mod:`.fit_predict` (what every baseline shares: the records it fits on and
the predict-output dicts it returns), :mod:`.majority`, :mod:`.linear_features` (features
then a linear model), :mod:`.classical_features` (the
audio and motion statistics), :mod:`.classical`, :mod:`.comparison` (metrics and the
table).
"""
