"""pisa plugin: CoRe (Yu et al., "Group-aware Contrastive Regression for Action Quality
Assessment", ICCV 2021), as the authors' code (github.com/yuxumin/CoRe) runs it.

A video's score is regressed *relative to an exemplar* of known score: both go through
one backbone, and ``[exemplar feature, query feature, exemplar score / score_range]``
goes into the group-aware regression tree (GART). The tree's leaves are groups of score
differences: ``2 ** (depth - 1)`` intervals, symmetric about 0, whose positive half cuts
the training pairs' differences ``|s_i - s_j|`` at their quantiles (the first starts at
0, the last ends at ``score_range``). The tree classifies the difference into a group
(the leaves' log-probabilities are sums of log-softmaxes down the path) and regresses
its position inside the group, in [0, 1]. The loss is the NLL of the true group plus,
per group, the MSE of the position of the pairs that fall in it, both ways round (each
video of a training pair is once the exemplar). At test time ``E`` exemplars vote: each
gives ``exemplar score + predicted difference``, and the prediction is their mean.

On MTL-AQA (``usingDD``) the score regressed is the execution part, ``final score /
difficulty``, the exemplars share the query's difficulty (``ExemplarDataset(same=
('difficulty',))``) and the prediction is multiplied back by the difficulty.

Components:

- model ``CoReModel``: a backbone and an aggregator from the registry, the tree,
  ``divide_by`` (``'difficulty'`` or None), ``score_range`` (30 on MTL-AQA, 100 on
  AQA-7). Reads the pair samples of :class:`pisa.plugin_api.ExemplarDataset`.
- model ``ExemplarDataPreprocessor``: :class:`pisa.plugin_api.AQADataPreprocessor`
  that also normalises ``inputs['exemplar_video']`` and ``inputs['exemplar_audio']``.
- hook ``CoReGroupHook``: before training, builds the tree's groups from the training
  dataset's ``pair_differences`` (they are a
  buffer of the model, so a checkpoint carries them to ``pisa test``).

Modules: :mod:`.tree` (the groups and the tree), :mod:`.model`, :mod:`.preprocessor`,
:mod:`.hook`; this one registers them.

Where this follows the authors and where it does not:

- Followed: the feature layout and ``score / score_range``; the tree (grouped 1x1
  convolutions, depth 5, hidden 256) and its path log-probabilities; the symmetric
  quantile groups of the within-difficulty training differences (``Group_helper``, Min 0,
  Max ``score_range``); NLL + per-group MSE, both ways; argmax-group decoding; the
  exemplar of the same difficulty, another performance than the query's (a training dive
  whose difficulty no other has is paired with itself: ``fallback='self'``); voting over
  up to 10 training exemplars at test time, times the difficulty; Adam 1e-3 with the
  backbone at 0.1x, batch 1 with gradients accumulated over 2 steps (the configs).
- Departures: the backbone is the config's (the authors': a Kinetics I3D, not shipped
  here); clips come from the framework's samplers over the annotated dive (the authors:
  103 frames ending at the dive's end, shifted by -3..3 in training, 10 clips at frames
  0, 10, ..., 80, 86); the test-time exemplars are fixed per sample (seeded), where the
  reference code reshuffles a shared list; a query with fewer than ``E`` candidates
  votes over the ones it has (the dataset pads and marks the rest invalid), as the
  reference code's ``[:voter_number]`` does; a difference outside every group (``|d| >=
  score_range``) is trained on the nearest group with its position clipped to [0, 1],
  where the reference code's all-zero one-hot picks group 0 and no position.
"""
from __future__ import annotations

from pisa.plugin_api import hookimpl
from pisa_core.hook import CoReGroupHook
from pisa_core.model import CoReModel
from pisa_core.preprocessor import ExemplarDataPreprocessor

__version__ = "0.1.0"


@hookimpl
def pisa_register_components(register) -> None:
    register("model", CoReModel)
    register("model", ExemplarDataPreprocessor)
    register("hook", CoReGroupHook)
