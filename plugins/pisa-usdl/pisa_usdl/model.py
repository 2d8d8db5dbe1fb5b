"""The score-distribution model: the framework's AQA model with the judges' scores as
targets, the prediction times the difficulty, and distributions as ``probs``."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import torch

from pisa.plugin_api import AQAModel, sample_truths


class ScoreDistributionModel(AQAModel):
    """:class:`~pisa.plugin_api.AQAModel` for score-distribution heads.

    Args:
        target_keys: ``data_samples`` keys handed to the losses besides ``label`` and
            ``score``, as float32 tensors (``('judge_scores',)`` for MUSDL; the dataset
            packs them with ``PackAQAInputs(meta_keys=...)``).
        multiply_by: a ``data_samples`` key the heads' ``reg`` is multiplied by to give
            ``pred_score`` (``'difficulty'`` for MUSDL), or None.
        Other arguments: :class:`~pisa.plugin_api.AQAModel`.

    ``predict``: one dict per sample, the framework's format: ``pred_label`` -1 (a score
    model), ``probs`` the head's predicted distribution(s) (``head.probabilities``),
    ``pred_score``, ``gt_label``, ``gt_score``, ``sample_id``, ``group``, ``branches``
    (each branch's own three), and ``pred_judge_scores`` when the head decodes judges.
    """

    def __init__(self, target_keys: Sequence[str] = (), multiply_by: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_keys = (target_keys,) if isinstance(target_keys, str) else tuple(target_keys)
        self.multiply_by = multiply_by

    def _column(self, data_samples: Optional[dict], key: str, device: torch.device) -> torch.Tensor:
        if not isinstance(data_samples, dict) or data_samples.get(key) is None:
            got = sorted(data_samples) if isinstance(data_samples, dict) else None
            raise KeyError(f"{type(self).__name__}: data_samples[{key!r}] is missing (pack it with "
                           f"PackAQAInputs(meta_keys=(..., {key!r}))); got {got}")
        value = data_samples[key]
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(value)
        return value.to(device=device, dtype=torch.float32)

    def _targets(self, data_samples: Optional[dict], device: torch.device) -> Dict[str, torch.Tensor]:
        targets = super()._targets(data_samples, device)
        for key in self.target_keys:
            targets[key] = self._column(data_samples, key, device)
        return targets

    @torch.no_grad()
    def predict(self, inputs: Dict[str, torch.Tensor], data_samples: Optional[dict] = None) -> List[dict]:
        outputs = self.branch_outputs(inputs)
        device = next(iter(outputs.values()))["reg"].device
        factor = (self._column(data_samples, self.multiply_by, device)
                  if self.multiply_by is not None else None)
        per_branch = {}
        for branch, out in outputs.items():
            head = self.heads[branch]
            cls = out["cls"].float()
            probs = head.probabilities(cls) if hasattr(head, "probabilities") else torch.softmax(cls, dim=1)
            score = out["reg"].float() if factor is None else out["reg"].float() * factor
            judges = out.get("judges")
            per_branch[branch] = (probs.tolist(), score.tolist(),
                                  None if judges is None else judges.float().tolist())
        batch = len(next(iter(per_branch.values()))[1])
        results = []
        for i, truth in enumerate(sample_truths(data_samples, batch)):
            branches = {b: {"pred_label": -1, "probs": v[0][i], "pred_score": v[1][i]}
                        for b, v in per_branch.items()}
            result = dict(branches[self.decision_branch], **truth, branches=branches)
            judges = per_branch[self.decision_branch][2]
            if judges is not None:
                result["pred_judge_scores"] = judges[i]
            results.append(result)
        return results
