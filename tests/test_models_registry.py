"""Every registered backbone, aggregator, fusion, head and loss (plugins included) is
built from the ``example`` it declares (see :mod:`pisa.registry`), run forward and
backward with its kind's documented shapes, and must send gradients to every parameter.

The tests are generated from the registrations, so a plugin's component is tested here
as soon as it is installed and admitted by ``PISA_PLUGINS``: nothing in this file names
it. A component without a well-formed ``example`` fails ``test_component_declares_an_example``
(and its behavioural tests) with a message that names it."""
from __future__ import annotations

import pytest
import torch

from pisa.plugin_loader import registrations
from pisa.registry import (AGGREGATORS, BACKBONES, EXAMPLE_KEYS, FUSIONS, HEADS, LOSSES,
                           component_example)

#: kinds whose constructor gets ``in_features`` from the example's input, not its args
TAKES_IN_FEATURES = ("aggregator", "fusion", "head")
#: kind -> the ranks its ``input_shape`` may have (module docstring of pisa.registry)
INPUT_RANKS = {"backbone": (4, 5), "aggregator": (3,), "head": (2,)}


def _components(kind):
    return [pytest.param(r, id=r.name) for r in registrations(kind)]


def _names(kind):
    return [r.name for r in registrations(kind)]


def _example(reg):
    return component_example(reg.kind, reg.obj)


def _is_shape(shape, ranks):
    return (isinstance(shape, (tuple, list)) and len(shape) in ranks
            and all(isinstance(d, int) and d > 0 for d in shape))


def _assert_every_parameter_gets_gradient(module):
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    no_grad = [n for n, p in params if p.grad is None]
    assert not no_grad, f"{type(module).__name__}: no gradient reached {no_grad[:5]}"
    assert sum(float(p.grad.abs().sum()) for _, p in params) > 0 or not params


@pytest.mark.parametrize("reg", [pytest.param(r, id=f"{kind}-{r.name}")
                                 for kind in EXAMPLE_KEYS for r in registrations(kind)])
def test_component_declares_an_example(reg):
    example = _example(reg)  # raises, naming the component, when it is missing a key
    label = f"{reg.kind} {reg.name} ({reg.source})"
    args = example["args"]
    assert isinstance(args, dict), f"{label}: example args must be a dict, got {type(args).__name__}"
    if reg.kind in TAKES_IN_FEATURES:
        assert "in_features" not in args, f"{label}: example args must not set in_features (the test adds it)"
    if reg.kind in INPUT_RANKS:
        shape = example["input_shape"]
        assert _is_shape(shape, INPUT_RANKS[reg.kind]), (
            f"{label}: example input_shape must be positive ints of rank "
            f"{' or '.join(map(str, INPUT_RANKS[reg.kind]))}, got {shape!r}")
        if reg.kind == "backbone" and len(shape) == 4:
            assert shape[1] == 1, f"{label}: a 4-d backbone input is a mel image (N, 1, F, W), got {shape!r}"
    if reg.kind == "fusion":
        shapes = example["input_shapes"]
        assert isinstance(shapes, (tuple, list)) and shapes and all(_is_shape(s, (2,)) for s in shapes), (
            f"{label}: example input_shapes must be a non-empty list of (B, D_i), got {shapes!r}")
        assert len({s[0] for s in shapes}) == 1, f"{label}: example input_shapes differ in B: {shapes!r}"


def test_plugin_components_are_among_those_tested():
    assert {"TorchvisionR3D18", "TorchvisionMC318", "TorchvisionR2Plus1D18"} <= set(_names("backbone"))
    assert "TransformerAggregator" in _names("aggregator")


@pytest.mark.parametrize("reg", _components("backbone"))
def test_backbone_forward_backward(reg):
    example = _example(reg)
    shape = tuple(example["input_shape"])
    torch.manual_seed(0)
    backbone = BACKBONES.build(dict(type=reg.name, **example["args"]))
    out = backbone(torch.randn(shape))
    assert out.shape == (shape[0], backbone.out_features)
    out.square().mean().backward()
    _assert_every_parameter_gets_gradient(backbone)


@pytest.mark.parametrize("reg", _components("aggregator"))
def test_aggregator_forward_backward(reg):
    example = _example(reg)
    shape = tuple(example["input_shape"])
    dim = shape[-1]
    torch.manual_seed(0)
    agg = AGGREGATORS.build(dict(type=reg.name, in_features=dim, **example["args"]))
    feats = torch.randn(shape, requires_grad=True)
    out = agg(feats)
    assert out.shape == (shape[0], agg.out_features)
    out.square().mean().backward()
    assert feats.grad is not None and feats.grad.abs().sum() > 0
    _assert_every_parameter_gets_gradient(agg)
    with pytest.raises(ValueError, match=rf"\(B, K, {dim}\)"):
        agg(torch.randn(*shape[:-1], dim - 1))


@pytest.mark.parametrize("reg", _components("fusion"))
def test_fusion_forward_backward(reg):
    example = _example(reg)
    shapes = [tuple(s) for s in example["input_shapes"]]
    torch.manual_seed(0)
    fusion = FUSIONS.build(dict(type=reg.name, in_features=[s[-1] for s in shapes], **example["args"]))
    feats = [torch.randn(s, requires_grad=True) for s in shapes]
    out = fusion(feats)
    assert out.shape == (shapes[0][0], fusion.out_features)
    out.square().mean().backward()
    assert all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats)
    _assert_every_parameter_gets_gradient(fusion)


@pytest.mark.parametrize("reg", _components("head"))
def test_head_forward_backward(reg):
    example = _example(reg)
    shape = tuple(example["input_shape"])
    torch.manual_seed(0)
    head = HEADS.build(dict(type=reg.name, in_features=shape[-1], **example["args"]))
    out = head(torch.randn(shape))
    # the contract's keys; a head may add more (OrdinalHead's 'ordinal'), batch first
    assert {"cls", "reg"} <= set(out) and all(v.shape[0] == shape[0] for v in out.values())
    num_classes = example["args"].get("num_classes", getattr(head, "num_classes", None))
    assert out["cls"].dim() == 2 and out["cls"].shape[0] == shape[0] and out["reg"].shape == (shape[0],)
    if num_classes is not None:
        assert out["cls"].shape[1] == num_classes
    (out["cls"].square().mean() + out["reg"].square().mean()).backward()
    _assert_every_parameter_gets_gradient(head)


@pytest.mark.parametrize("reg", _components("loss"))
def test_loss_is_a_differentiable_scalar(reg):
    example = _example(reg)
    loss = LOSSES.build(dict(type=reg.name, **example["args"]))
    torch.manual_seed(0)
    # a 5-class head's output, with the cumulative logits (C - 1) an ordinal head adds
    head_out = {"cls": torch.randn(4, 5, requires_grad=True), "reg": torch.randn(4, requires_grad=True),
                "ordinal": torch.randn(4, 4, requires_grad=True)}
    targets = {"label": torch.tensor([0, 4, 2, -1]), "score": torch.tensor([0.0, 4.0, 2.0, 1.0])}
    value = loss(head_out, targets)
    assert value.dim() == 0 and torch.isfinite(value) and value > 0
    value.backward()
    reached = [k for k, v in head_out.items() if v.grad is not None and v.grad.abs().sum() > 0]
    assert reached, f"{reg.name}: no gradient reached the head output"
    requires = getattr(loss, "requires", None)
    if requires in ("cls", "ordinal"):  # trained on the label: the sample labelled -1 is ignored
        assert reached == [requires] and torch.all(head_out[requires].grad[3] == 0)
