"""Every registered backbone, aggregator, fusion, head and loss (plugins included) is
built from a tiny config, run forward and backward with its kind's documented shapes,
and must send gradients to every parameter.

A newly registered name without an entry in the tables below fails ``test_*_has_config``:
add its tiny kwargs there."""
from __future__ import annotations

import pytest
import torch

from pisa.plugins import registrations
from pisa.registry import AGGREGATORS, BACKBONES, FUSIONS, HEADS, LOSSES

#: backbone name -> (tiny kwargs, input shape)
BACKBONE_CASES = {
    "C3D": (dict(widths=(4, 8, 8, 8, 8), feature_dim=32, clip_len=16, size=32), (2, 3, 16, 32, 32)),
    "AudioResNet18": ({}, (2, 1, 32, 32)),
    "TorchvisionVideoResNet": (dict(arch="mc3_18"), (2, 3, 4, 32, 32)),
    "TorchvisionR3D18": ({}, (2, 3, 4, 32, 32)),
    "TorchvisionMC318": ({}, (2, 3, 4, 32, 32)),
    "TorchvisionR2Plus1D18": ({}, (2, 3, 4, 32, 32)),
}
#: aggregator name -> tiny kwargs (``in_features`` is added)
AGGREGATOR_CASES = {
    "AvgAggregator": {},
    "MaxAggregator": {},
    "AttentionPoolAggregator": dict(hidden=8),
    "TransformerAggregator": dict(num_heads=4, num_layers=1),
}
#: fusion name -> tiny kwargs (``in_features=[6, 10]`` is added)
FUSION_CASES = {"ConcatFusion": dict(detach=False)}
#: head name -> tiny kwargs (``in_features`` is added)
HEAD_CASES = {"LevelHead": dict(hidden=8, num_classes=5)}
#: loss name -> tiny kwargs
LOSS_CASES = {"CrossEntropyLoss": {}, "L1L2Loss": {}, "LabelDistributionLoss": dict(sigma=0.7)}

KIND_CASES = {
    "backbone": BACKBONE_CASES, "aggregator": AGGREGATOR_CASES, "fusion": FUSION_CASES,
    "head": HEAD_CASES, "loss": LOSS_CASES,
}


def _names(kind):
    return [r.name for r in registrations(kind)]


def _assert_every_parameter_gets_gradient(module):
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    no_grad = [n for n, p in params if p.grad is None]
    assert not no_grad, f"{type(module).__name__}: no gradient reached {no_grad[:5]}"
    assert sum(float(p.grad.abs().sum()) for _, p in params) > 0 or not params


@pytest.mark.parametrize("kind", sorted(KIND_CASES))
def test_every_registered_component_has_a_tiny_config(kind):
    missing = [n for n in _names(kind) if n not in KIND_CASES[kind]]
    assert not missing, f"registered {kind}s without a tiny config in {__name__}: {missing}"


def test_plugin_components_are_among_those_tested():
    assert {"TorchvisionR3D18", "TorchvisionMC318", "TorchvisionR2Plus1D18"} <= set(_names("backbone"))
    assert "TransformerAggregator" in _names("aggregator")


@pytest.mark.parametrize("name", _names("backbone"))
def test_backbone_forward_backward(name):
    kwargs, shape = BACKBONE_CASES[name]
    torch.manual_seed(0)
    backbone = BACKBONES.build(dict(type=name, **kwargs))
    out = backbone(torch.randn(shape))
    assert out.shape == (shape[0], backbone.out_features)
    out.square().mean().backward()
    _assert_every_parameter_gets_gradient(backbone)


@pytest.mark.parametrize("name", _names("aggregator"))
def test_aggregator_forward_backward(name):
    torch.manual_seed(0)
    agg = AGGREGATORS.build(dict(type=name, in_features=16, **AGGREGATOR_CASES[name]))
    feats = torch.randn(2, 3, 16, requires_grad=True)
    out = agg(feats)
    assert out.shape == (2, agg.out_features)
    out.square().mean().backward()
    assert feats.grad is not None and feats.grad.abs().sum() > 0
    _assert_every_parameter_gets_gradient(agg)
    with pytest.raises(ValueError, match=r"\(B, K, 16\)"):
        agg(torch.randn(2, 3, 15))


@pytest.mark.parametrize("name", _names("fusion"))
def test_fusion_forward_backward(name):
    fusion = FUSIONS.build(dict(type=name, in_features=[6, 10], **FUSION_CASES[name]))
    feats = [torch.randn(2, 6, requires_grad=True), torch.randn(2, 10, requires_grad=True)]
    out = fusion(feats)
    assert out.shape == (2, fusion.out_features)
    out.square().mean().backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)
    _assert_every_parameter_gets_gradient(fusion)


@pytest.mark.parametrize("name", _names("head"))
def test_head_forward_backward(name):
    head = HEADS.build(dict(type=name, in_features=16, **HEAD_CASES[name]))
    out = head(torch.randn(3, 16))
    assert set(out) == {"cls", "reg"}
    assert out["cls"].shape == (3, HEAD_CASES[name]["num_classes"]) and out["reg"].shape == (3,)
    (out["cls"].square().mean() + out["reg"].square().mean()).backward()
    _assert_every_parameter_gets_gradient(head)


@pytest.mark.parametrize("name", _names("loss"))
def test_loss_is_a_differentiable_scalar(name):
    loss = LOSSES.build(dict(type=name, **LOSS_CASES[name]))
    torch.manual_seed(0)
    head_out = {"cls": torch.randn(4, 5, requires_grad=True), "reg": torch.randn(4, requires_grad=True)}
    targets = {"label": torch.tensor([0, 4, 2, -1]), "score": torch.tensor([0.0, 4.0, 2.0, 1.0])}
    value = loss(head_out, targets)
    assert value.dim() == 0 and torch.isfinite(value) and value > 0
    value.backward()
    reached = [k for k, v in head_out.items() if v.grad is not None and v.grad.abs().sum() > 0]
    assert reached, f"{name}: no gradient reached the head output"
    if getattr(loss, "requires", None) == "cls":  # the sample labelled -1 is ignored
        assert reached == ["cls"] and torch.all(head_out["cls"].grad[3] == 0)
