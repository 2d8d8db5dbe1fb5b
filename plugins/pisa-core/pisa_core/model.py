"""CoRe's model: one backbone over query and exemplars, the regression tree over each
(query, exemplar) pair, the exemplars' votes averaged (the package docstring)."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from pisa.plugin_api import ConfigType, build_component, sample_truths
from pisa_core.tree import GroupAwareRegressionTree, decode_differences, group_bounds, leaf_targets


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
            data_preprocessor = build_component("model", data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not float(score_range) > 0:
            raise ValueError(f"CoReModel: score_range must be > 0, got {score_range}")
        self.backbone = build_component("backbone", backbone)
        self.aggregator = build_component("aggregator", aggregator,
                                          in_features=self.backbone.out_features)
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
        return [dict(pred_label=-1, probs=[], pred_score=float(pred[i]), **truth,
                     votes=votes[i][valid[i]].tolist())
                for i, truth in enumerate(sample_truths(data_samples, batch))]
