"""pisa plugin: USDL and MUSDL (Tang et al., "Uncertainty-aware Score Distribution
Learning for Action Quality Assessment", CVPR 2020), as the authors' code
(github.com/nzl-thu/MUSDL, ``MTL-AQA/``) runs them.

USDL: the score is a Gaussian label distribution over ``num_bins`` score bins spread
evenly over ``[score_min, score_max]``, learned with a KL divergence. The authors'
MTL-AQA setting (``opts.py``, ``dataset.py``): 101 bins (0..100) over ``[0, label_max =
104.5]``; the target is ``N(score * 100 / 104.5, sigma = 5)`` (sigma in bins) evaluated
at the bins and normalised to sum 1; the prediction is the argmax bin times ``104.5 /
100``. On JIGSAWS (``JIGSAWS/``): 25 bins over the GRS range 6..30, sigma 1.

MUSDL: one distribution per judge, each from its own MLP (``Evaluator``): 7 judges, 21
bins (0..20) over ``[0, judge_max = 10]`` (judges score in steps of 0.5), the same
``sigma = 5``; the loss is the sum over judges of their KL divergences; the prediction
is the diving rule: each judge's argmax bin times ``10 / 20``, sorted, the middle three
(drop the two highest and two lowest) summed, times the dive's difficulty. On JIGSAWS
the six GRS items are the "judges" (5 bins over 1..5, sigma 1), all six summed.

Components:

- head ``USDLHead``: features ``(B, D)`` -> ``{'cls': (B, num_bins) logits, 'reg': (B,)
  decoded score}``; the authors' MLP (``D -> 256 -> 128 -> bins``, ReLU).
- head ``MUSDLHead``: ``{'cls': (B, J * num_bins)`` (judge ``j``'s logits at
  ``[:, j * num_bins:(j + 1) * num_bins]``), ``'reg': (B,)`` (the summed middle judges,
  the score before the difficulty), ``'judges': (B, J)}`` (each judge's decoded score).
- loss ``USDLLoss`` (on ``targets['score']``) and ``MUSDLLoss`` (on
  ``targets['judge_scores']``).
- model ``ScoreDistributionModel``: :class:`pisa.plugin_api.AQAModel` that also
  hands ``target_keys`` of ``data_samples`` (``judge_scores``) to the losses, multiplies
  the prediction by ``data_samples[multiply_by]`` (``difficulty``), and predicts in the
  framework's format with ``pred_label = -1`` and ``probs`` the predicted distribution(s).

Modules: :mod:`.distributions` (targets, decoding, KL), :mod:`.heads`, :mod:`.losses`,
:mod:`.model`; this one registers them.

Where this follows the authors and where it does not:

- Followed: bins, score ranges, sigma, the normalised pdf target, argmax decoding, the
  per-judge MLPs and the summed per-judge KL, the middle-three rule times difficulty,
  ``nn.KLDivLoss()``'s default ``reduction='mean'`` (the mean over batch *and* bins).
- Departures: the backbone is whatever the config names (the authors' is a Kinetics
  I3D, here the framework's C3D: no pretrained I3D ships and nothing downloads); the
  clips come from the framework's samplers over the annotated dive (the authors take 103
  prepared frames with a random shift of 0..6 frames, and 10 clips at frames 0, 10, ...,
  80 and the last 16); ``decode='expectation'`` (the distribution's mean, differentiable)
  is offered beside the authors' argmax.
"""
from __future__ import annotations

from pisa.plugin_api import hookimpl
from pisa_usdl.heads import MUSDLHead, USDLHead
from pisa_usdl.losses import MUSDLLoss, USDLLoss
from pisa_usdl.model import ScoreDistributionModel

__version__ = "0.1.0"


@hookimpl
def pisa_register_components(register) -> None:
    register("head", USDLHead)
    register("head", MUSDLHead)
    register("loss", USDLLoss)
    register("loss", MUSDLLoss)
    register("model", ScoreDistributionModel)
