"""The loss terms of Eq. 1 and their weights, including the CE + L1 ablation."""
from __future__ import annotations

import pytest
import torch
from mmengine.config import Config
from engine_helpers import REPO

from pisa.registry import LOSSES


def test_l1l2_weights_select_the_distance_terms():
    reg = torch.tensor([1.0, -3.0, 0.5])
    score = torch.tensor([0.0, 0.0, 2.0])
    head_out, targets = {"reg": reg}, {"score": score}
    l1, l2 = (reg - score).abs().mean(), (reg - score).pow(2).mean()
    both = LOSSES.build(dict(type="L1L2Loss"))  # Eq. 1: 0.1 * (L1 + L2)
    assert torch.allclose(both(head_out, targets), 0.1 * (l1 + l2))
    only_l1 = LOSSES.build(dict(type="L1L2Loss", weight=1.0, l2=0.0))
    assert torch.allclose(only_l1(head_out, targets), l1)
    only_l2 = LOSSES.build(dict(type="L1L2Loss", weight=2.0, l1=0.0))
    assert torch.allclose(only_l2(head_out, targets), 2.0 * l2)
    with pytest.raises(ValueError, match="l1 and l2 must be >= 0 and not both 0"):
        LOSSES.build(dict(type="L1L2Loss", l1=0.0, l2=0.0))


def test_the_ce_l1_ablation_config_drops_only_the_l2_term():
    path = REPO / "configs/pisa/ablations/pisa_c3d-r18-cel1_1xb4-16x1x10-100e_pisa-multimodal-unidist.py"
    base = Config.fromfile(str(REPO / "configs/pisa/pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py"))
    cfg = Config.fromfile(str(path))
    losses = [LOSSES.build(dict(loss)) for loss in cfg.model.losses]
    assert [type(loss).__name__ for loss in losses] == ["CrossEntropyLoss", "L1L2Loss"]
    assert (losses[1].weight, losses[1].l1, losses[1].l2) == (0.1, 1.0, 0.0)
    cfg.model.losses = base.model.losses  # nothing else differs from the Table 1 config
    assert cfg.to_dict() == base.to_dict()
