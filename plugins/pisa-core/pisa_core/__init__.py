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
  AQA-7). Reads the pair samples of :class:`pisa.data.pairs.ExemplarDataset`.
- model ``ExemplarDataPreprocessor``: :class:`pisa.models.data_preprocessor.
  AQADataPreprocessor` that also normalises ``inputs['exemplar_video']``.
- hook ``CoReGroupHook``: before training, builds the tree's groups from the training
  dataset's :meth:`~pisa.data.pairs.ExemplarDataset.pair_differences` (they are a
  buffer of the model, so a checkpoint carries them to ``pisa test``).

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

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.hooks import Hook
from mmengine.model import BaseModel, is_model_wrapper
from torch import nn

from pisa.hookspecs import hookimpl
from pisa.models.batch import sample_column
from pisa.models.data_preprocessor import AQADataPreprocessor
from pisa.registry import AGGREGATORS, BACKBONES, MODELS

__version__ = "0.1.0"

ConfigType = Union[dict, nn.Module]


# ---------------------------------------------------------------------- the groups
def group_bounds(differences: Sequence[float], num_leaf: int, score_range: float) -> np.ndarray:
    """CoRe's ``Group_helper`` (symmetric, ``Min=0``, ``Max=score_range``): ``(P,)``
    training differences -> ``(num_leaf, 2)`` float64 ``[low, high]`` per group, the
    positive half at the differences' quantiles, the negative half its mirror."""
    d = np.sort(np.abs(np.asarray(differences, dtype=np.float64)))
    if num_leaf < 2 or num_leaf % 2:
        raise ValueError(f"group_bounds: num_leaf must be even and >= 2, got {num_leaf}")
    if not len(d):
        raise ValueError("group_bounds: no training differences to build the groups from")
    n, half = len(d), num_leaf // 2
    bounds = np.zeros((num_leaf, 2))
    for i in range(half):
        low = 0.0 if i == 0 else d[int((i / half) * (n - 1))]
        high = float(score_range) if i == half - 1 else d[int(((i + 1) / half) * (n - 1))]
        bounds[half + i] = (low, high)
        bounds[half - 1 - i] = (-high, -low)
    return bounds


def leaf_targets(delta: torch.Tensor, bounds: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """CoRe's ``produce_label``: ``(N,)`` differences -> ``(group (N,) int64, position
    (N,))``: the group holding each (``low <= d < high`` for ``d >= 0``, ``low < d <=
    high`` below 0) and ``(d - low) / (high - low)`` (``d - low`` for a zero-width group).
    A difference in no group goes to the nearest, its position clipped to [0, 1]."""
    low, high = bounds[:, 0][None, :], bounds[:, 1][None, :]
    d = delta.to(bounds.dtype)[:, None]
    member = torch.where(d >= 0, (low <= d) & (d < high), (low < d) & (d <= high))
    inside = member.any(dim=1)
    nearest = ((low - d).clamp(min=0) + (d - high).clamp(min=0)).argmin(dim=1)
    leaf = torch.where(inside, member.to(torch.int8).argmax(dim=1), nearest)
    lo, width = bounds[leaf, 0], bounds[leaf, 1] - bounds[leaf, 0]
    offset = d[:, 0] - lo
    position = torch.where(width == 0, offset, offset / torch.where(width == 0, torch.ones_like(width), width))
    position = torch.where(inside, position, position.clamp(0.0, 1.0))
    return leaf, position


def decode_differences(leaf_logp: torch.Tensor, positions: torch.Tensor, bounds: torch.Tensor) -> torch.Tensor:
    """CoRe's ``inference``: the most probable group and its regressed position ->
    ``(N,)`` differences ``low + (high - low) * position`` (``low + position`` for a
    zero-width group)."""
    leaf = leaf_logp.argmax(dim=1)
    lo, width = bounds[leaf, 0], bounds[leaf, 1] - bounds[leaf, 0]
    pos = positions.gather(1, leaf[:, None])[:, 0].to(bounds.dtype)
    return torch.where(width == 0, lo + pos, lo + width * pos)


class GroupAwareRegressionTree(nn.Module):
    """CoRe's ``RegressTree``: ``(N, in_features)`` -> ``(leaf log-probabilities (N, L),
    positions (N, L))`` with ``L = 2 ** (depth - 1)``; each level is a grouped 1x1
    convolution (one group per node), each node splits in two by a log-softmax, a
    leaf's log-probability is the sum along its path, and one linear regressor per leaf
    gives the position."""

    def __init__(self, in_features: int, hidden: int = 256, depth: int = 5) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"GroupAwareRegressionTree: depth must be >= 2, got {depth}")
        self.depth, self.num_leaf = depth, 2 ** (depth - 1)
        self.first_layer = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True))
        self.feature_layers = nn.ModuleList([
            nn.Sequential(nn.Conv1d(2 ** d * hidden, 2 ** (d + 1) * hidden, 1, groups=2 ** d),
                          nn.ReLU(inplace=True)) for d in range(depth - 1)])
        self.clf_layers = nn.ModuleList([
            nn.Conv1d(2 ** d * hidden, 2 ** (d + 1), 1, groups=2 ** d) for d in range(depth - 1)])
        self.reg_layer = nn.Conv1d(self.num_leaf * hidden, self.num_leaf, 1, groups=self.num_leaf)

    def forward(self, feats: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self.first_layer(feats)[:, :, None]
        n = len(x)
        logp = None
        for clf, layer in zip(self.clf_layers, self.feature_layers):
            split = F.log_softmax(clf(x)[:, :, 0].view(n, -1, 2), dim=-1)
            if logp is not None:  # add each node's own log-probability to its two children
                split = split + logp.reshape(n, -1, 1)
            logp = split
            x = layer(x)
        return logp.reshape(n, -1), self.reg_layer(x)[:, :, 0]


# ---------------------------------------------------------------------- the model
class ExemplarDataPreprocessor(AQADataPreprocessor):
    """:class:`~pisa.models.data_preprocessor.AQADataPreprocessor` for pair samples: also
    ``inputs['exemplar_video']`` uint8 ``(B, E, K, 3, T, H, W)`` -> float32 normalised
    alike, ``exemplar_audio`` as ``audio``, and ``data_samples['exemplar_score']`` ->
    float32."""

    def forward(self, data: dict, training: bool = False) -> dict:
        out = super().forward(data, training)
        inputs = dict(out["inputs"])
        if "exemplar_video" in inputs:
            video = inputs["exemplar_video"]
            if video.dim() != 7:
                raise ValueError(f"inputs['exemplar_video'] must be (B, E, K, 3, T, H, W), got "
                                 f"{tuple(video.shape)}")
            inputs["exemplar_video"] = self.normalize_video(video.flatten(0, 1)).view(video.shape)
        if "exemplar_audio" in inputs:
            audio = inputs["exemplar_audio"].float()
            if self.audio_mean is not None and self.audio_std is not None:
                audio = (audio - self.audio_mean) / self.audio_std
            inputs["exemplar_audio"] = audio
        samples = out.get("data_samples")
        if isinstance(samples, dict) and isinstance(samples.get("exemplar_score"), torch.Tensor):
            samples = dict(samples, exemplar_score=samples["exemplar_score"].float())
        return {"inputs": inputs, "data_samples": samples}


def _build(registry, cfg: ConfigType, **default_args: Any) -> nn.Module:
    return cfg if isinstance(cfg, nn.Module) else registry.build(cfg, default_args=default_args or None)


class CoReModel(BaseModel):
    """CoRe on pair samples (module docstring).

    Args:
        backbone: video backbone config (registry ``backbone``): clips ``(N, 3, T, H, W)``
            -> ``(N, D)``.
        aggregator: clip aggregator config (``(B, K, D)`` -> ``(B, D')``), default the mean.
        tree_depth, tree_hidden: the regression tree's depth (``2 ** (depth - 1)``
            groups) and width (5 and 256 in CoRe).
        score_range: the exemplar score's divisor in the tree's input and the groups'
            outer bound (30 on MTL-AQA with ``divide_by='difficulty'``, 100 on AQA-7).
        divide_by: a ``data_samples`` key the scores are divided by before the
            comparison and the prediction multiplied by after (``'difficulty'``), or None.
        score_bounds: ``(low, high)``: scores are mapped linearly from it to ``[0,
            score_range]`` before the comparison and back after (CoRe on AQA-7: each
            action's range to 0..100), or None.
        data_preprocessor: default ``ExemplarDataPreprocessor``.

    ``inputs``: ``video`` ``(B, K, 3, T, H, W)``, ``exemplar_video`` ``(B, E, K, 3, T, H,
    W)``; ``data_samples``: ``score``, ``exemplar_score`` ``(B, E)``, ``exemplar_valid``,
    and with ``divide_by`` its key and ``exemplar_<key>``. ``mode='loss'``: ``{'loss_cls':
    NLL of the group, 'loss_reg': the per-group MSE}``; ``'predict'``: one dict per
    sample, the framework's format (``pred_label`` -1, ``probs`` empty, ``pred_score``,
    ``gt_label``, ``gt_score``, ``sample_id``, ``group``) and ``votes`` (each valid
    exemplar's prediction); ``'tensor'``: the tree's output on every (query, exemplar).
    """

    def __init__(self, backbone: ConfigType, aggregator: ConfigType = dict(type="AvgAggregator"),
                 tree_depth: int = 5, tree_hidden: int = 256, score_range: float = 30.0,
                 divide_by: Optional[str] = "difficulty",
                 score_bounds: Optional[Sequence[float]] = None,
                 data_preprocessor: Optional[ConfigType] = dict(type="ExemplarDataPreprocessor"),
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not float(score_range) > 0:
            raise ValueError(f"CoReModel: score_range must be > 0, got {score_range}")
        self.backbone = _build(BACKBONES, backbone)
        self.aggregator = _build(AGGREGATORS, aggregator, in_features=self.backbone.out_features)
        feature = self.aggregator.out_features
        self.tree = GroupAwareRegressionTree(2 * feature + 1, tree_hidden, tree_depth)
        self.score_range, self.divide_by = float(score_range), divide_by
        if score_bounds is not None and not (len(score_bounds) == 2 and score_bounds[1] > score_bounds[0]):
            raise ValueError(f"CoReModel: score_bounds must be (low, high) with high > low, got {score_bounds!r}")
        self.score_bounds = None if score_bounds is None else (float(score_bounds[0]), float(score_bounds[1]))
        # set by CoReGroupHook from the training pairs; saved with the weights
        self.register_buffer("group_bounds", torch.full((self.tree.num_leaf, 2), float("nan"),
                                                        dtype=torch.float64))

    def set_groups(self, differences: Sequence[float]) -> None:
        """Build the tree's groups (:func:`group_bounds`) from the training pairs'
        differences, on the data's scale after ``divide_by`` (``score_bounds`` applied here)."""
        differences = np.asarray(differences, dtype=np.float64)
        if self.score_bounds is not None:
            differences = differences * self.score_range / (self.score_bounds[1] - self.score_bounds[0])
        bounds = group_bounds(differences, self.tree.num_leaf, self.score_range)
        self.group_bounds.copy_(torch.as_tensor(bounds, dtype=torch.float64))

    def _bounds(self) -> torch.Tensor:
        if bool(torch.isnan(self.group_bounds).any()):
            raise RuntimeError("CoReModel: the regression tree's groups are not set; train with "
                               "CoReGroupHook in custom_hooks (it builds them from the training "
                               "pairs) or load a trained checkpoint")
        return self.group_bounds

    # -------------------------------------------------------------- pieces
    def features(self, inputs: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(query (B, D), exemplars (B, E, D))``: every clip through the backbone in one
        batch, aggregated per video."""
        for key, dims in (("video", 6), ("exemplar_video", 7)):
            if not isinstance(inputs, dict) or key not in inputs:
                raise KeyError(f"CoReModel: inputs[{key!r}] is missing (pair samples come from "
                               f"ExemplarDataset); got {sorted(inputs) if isinstance(inputs, dict) else inputs}")
            if inputs[key].dim() != dims:
                raise ValueError(f"CoReModel: inputs[{key!r}] must have {dims} dims, got "
                                 f"{tuple(inputs[key].shape)}")
        video, exemplars = inputs["video"], inputs["exemplar_video"]
        batch, num_ex, clips = exemplars.shape[:3]
        if video.shape[0] != batch or video.shape[1:] != exemplars.shape[2:]:
            raise ValueError(f"CoReModel: exemplar_video {tuple(exemplars.shape)} does not match "
                             f"video {tuple(video.shape)}")
        everything = torch.cat([video[:, None], exemplars], dim=1)  # (B, 1 + E, K, ...)
        feats = self.backbone(everything.flatten(0, 2)).view(batch * (1 + num_ex), clips, -1)
        feats = self.aggregator(feats).view(batch, 1 + num_ex, -1)
        return feats[:, 0], feats[:, 1:]

    def _column(self, data_samples: Optional[dict], key: str, device: torch.device) -> torch.Tensor:
        if not isinstance(data_samples, dict) or data_samples.get(key) is None:
            got = sorted(data_samples) if isinstance(data_samples, dict) else None
            raise KeyError(f"CoReModel: data_samples[{key!r}] is missing; got {got}")
        return torch.as_tensor(data_samples[key]).to(device)

    def _scores(self, data_samples: dict, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(query (B,), exemplars (B, E), valid (B, E))`` scores on the compared scale."""
        query = self._column(data_samples, "score", device).float()
        exemplars = self._column(data_samples, "exemplar_score", device).float()
        valid = data_samples.get("exemplar_valid")
        valid = (torch.ones_like(exemplars, dtype=torch.bool) if valid is None
                 else torch.as_tensor(valid).to(device=device, dtype=torch.bool))
        if self.divide_by is not None:
            query = query / self._column(data_samples, self.divide_by, device).float()
            exemplars = exemplars / self._column(data_samples, f"exemplar_{self.divide_by}", device).float()
        return self._normalize(query), self._normalize(exemplars), valid

    def _normalize(self, scores: torch.Tensor) -> torch.Tensor:
        if self.score_bounds is None:
            return scores
        low, high = self.score_bounds
        return (scores - low) / (high - low) * self.score_range

    def _denormalize(self, scores: torch.Tensor) -> torch.Tensor:
        if self.score_bounds is None:
            return scores
        low, high = self.score_bounds
        return low + scores / self.score_range * (high - low)

    def _pairs(self, query_feats: torch.Tensor, exemplar_feats: torch.Tensor,
               exemplar_scores: torch.Tensor) -> torch.Tensor:
        """``[exemplar feature, query feature, exemplar score / score_range]``: ``(N, 2D + 1)``."""
        return torch.cat([exemplar_feats, query_feats, exemplar_scores[:, None] / self.score_range], dim=1)

    # -------------------------------------------------------------- modes
    def forward(self, inputs: Dict[str, torch.Tensor], data_samples: Optional[dict] = None,
                mode: str = "tensor") -> Union[Dict[str, torch.Tensor], List[dict], Tuple[torch.Tensor, ...]]:
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        if mode == "tensor":
            query, exemplars = self.features(inputs)
            scores = self._column(data_samples, "exemplar_score", query.device).float()
            if self.divide_by is not None:
                scores = scores / self._column(data_samples, f"exemplar_{self.divide_by}", query.device).float()
            scores = self._normalize(scores)
            return self.tree(self._pairs(query[:, None].expand_as(exemplars).flatten(0, 1),
                                         exemplars.flatten(0, 1), scores.flatten()))
        raise ValueError(f"CoReModel: unknown mode {mode!r}; use 'loss', 'predict' or 'tensor'")

    def loss(self, inputs: Dict[str, torch.Tensor], data_samples: dict) -> Dict[str, torch.Tensor]:
        """Both directions of every valid (query, exemplar) pair through the tree: the NLL
        of the true group and, per group, the MSE of the position of the pairs in it,
        summed over the two directions (and the groups)."""
        bounds = self._bounds()
        query, exemplars = self.features(inputs)
        s_query, s_ex, valid = self._scores(data_samples, query.device)
        f_q = query[:, None].expand_as(exemplars)[valid]
        f_e, s_e = exemplars[valid], s_ex[valid]
        s_q = s_query[:, None].expand_as(s_ex)[valid]
        halves = ((self._pairs(f_q, f_e, s_e), s_q - s_e),   # the exemplar is the second video
                  (self._pairs(f_e, f_q, s_q), s_e - s_q))   # and, swapped, the first
        logp, positions = self.tree(torch.cat([h[0] for h in halves]))
        loss_cls = logp.new_zeros(())
        loss_reg = logp.new_zeros(())
        for h, (_, delta) in enumerate(halves):
            rows = slice(h * len(s_q), (h + 1) * len(s_q))
            leaf, target = leaf_targets(delta, bounds.to(delta.device))
            loss_cls = loss_cls + F.nll_loss(logp[rows], leaf)
            for i in torch.unique(leaf).tolist():
                member = leaf == i
                loss_reg = loss_reg + F.mse_loss(positions[rows][member, i],
                                                 target[member].to(positions.dtype))
        return {"loss_cls": loss_cls, "loss_reg": loss_reg}

    @torch.no_grad()
    def predict(self, inputs: Dict[str, torch.Tensor], data_samples: Optional[dict] = None) -> List[dict]:
        """Each exemplar votes ``(exemplar score + predicted difference)`` (times the
        query's ``divide_by`` value); the prediction is the mean of the valid votes."""
        bounds = self._bounds()
        query, exemplars = self.features(inputs)
        _, s_ex, valid = self._scores(data_samples, query.device)
        batch, num_ex = s_ex.shape
        logp, positions = self.tree(self._pairs(query[:, None].expand_as(exemplars).flatten(0, 1),
                                                exemplars.flatten(0, 1), s_ex.flatten()))
        votes = self._denormalize(decode_differences(logp, positions, bounds.to(query.device))
                                  .view(batch, num_ex) + s_ex.to(torch.float64))
        if self.divide_by is not None:
            votes = votes * self._column(data_samples, self.divide_by, query.device).to(torch.float64)[:, None]
        pred = (votes * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1)
        columns = {key: sample_column(data_samples, key, cast, batch)
                   for key, cast in (("label", int), ("score", float), ("sample_id", str), ("group", str))}
        return [dict(pred_label=-1, probs=[], pred_score=float(pred[i]), gt_label=columns["label"][i],
                     gt_score=columns["score"][i], sample_id=columns["sample_id"][i],
                     group=columns["group"][i], votes=votes[i][valid[i]].tolist())
                for i in range(batch)]


class CoReGroupHook(Hook):
    """Before training, build the CoRe model's groups from the training dataset's pair
    differences (an :class:`~pisa.data.pairs.ExemplarDataset`, whose ``same`` rule picks
    the pairs; divided by the model's ``divide_by``), and log them."""

    priority = "NORMAL"

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, "set_groups"):
            raise TypeError(f"CoReGroupHook: the model {type(model).__name__} has no set_groups "
                            "(a CoReModel does)")
        datasets = _datasets_with(runner.train_dataloader.dataset, "pair_differences")
        if not datasets:
            raise TypeError("CoReGroupHook: the training dataset is not an ExemplarDataset (no "
                            "pair_differences to build the groups from)")
        differences = datasets[0].pair_differences(divide_by=model.divide_by)
        model.set_groups(differences)
        bounds = model.group_bounds.cpu().numpy()
        runner.logger.info(f"CoRe groups from {len(differences)} training pairs: "
                           + ", ".join(f"[{lo:.3g}, {hi:.3g}]" for lo, hi in bounds))


def _datasets_with(dataset: Any, method: str) -> list:
    from pisa.engine.hooks.run_hooks import datasets_with

    return datasets_with(dataset, method)


@hookimpl
def pisa_register_components(register) -> None:
    register("model", CoReModel)
    register("model", ExemplarDataPreprocessor)
    register("hook", CoReGroupHook)
