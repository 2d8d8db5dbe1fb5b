"""Checks of the model kinds: backbone, aggregator, fusion, head, sequence head, loss
(forward and backward on the example's shapes)."""
from __future__ import annotations

import re
from typing import Any, Optional

from pisa.component_checks.common import ComponentCheckError, check_example, label_of, require


def _every_parameter_gets_gradient(module: Any, label: str) -> None:
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    no_grad = [n for n, p in params if p.grad is None]
    require(not no_grad, label, f"no gradient reached {no_grad[:5]}")
    require(sum(float(p.grad.abs().sum()) for _, p in params) > 0 or not params, label,
             "every gradient is zero")


def check_backbone(obj: Any, name: Optional[str] = None) -> None:
    """Built from its example: clips of the example's shape -> ``(N, out_features)``,
    with a gradient on every parameter."""
    import torch

    label, example = label_of("backbone", obj, name), check_example("backbone", obj, name)
    shape = tuple(example["input_shape"])
    torch.manual_seed(0)
    backbone = obj(**example["args"])
    out = backbone(torch.randn(shape))
    require(tuple(out.shape) == (shape[0], backbone.out_features), label,
             f"output {tuple(out.shape)}, expected {(shape[0], backbone.out_features)}")
    out.square().mean().backward()
    _every_parameter_gets_gradient(backbone, label)


def check_aggregator(obj: Any, name: Optional[str] = None) -> None:
    """``(B, K, D)`` -> ``(B, out_features)``, gradients to the input and every parameter,
    and a ``ValueError`` naming ``(B, K, D)`` for a wrong feature size."""
    import torch

    label, example = label_of("aggregator", obj, name), check_example("aggregator", obj, name)
    shape = tuple(example["input_shape"])
    dim = shape[-1]
    torch.manual_seed(0)
    agg = obj(in_features=dim, **example["args"])
    feats = torch.randn(shape, requires_grad=True)
    out = agg(feats)
    require(tuple(out.shape) == (shape[0], agg.out_features), label,
             f"output {tuple(out.shape)}, expected {(shape[0], agg.out_features)}")
    out.square().mean().backward()
    require(feats.grad is not None and feats.grad.abs().sum() > 0, label, "no gradient reached the input")
    _every_parameter_gets_gradient(agg, label)
    try:
        agg(torch.randn(*shape[:-1], dim - 1))
    except ValueError as err:
        require(re.search(rf"\(B, K, {dim}\)", str(err)), label,
                 f"the error for a wrong feature size must name (B, K, {dim}), got: {err}")
    else:
        raise ComponentCheckError(f"{label}: features of size {dim - 1} (built for {dim}) raised no ValueError")


def check_fusion(obj: Any, name: Optional[str] = None) -> None:
    """``[(B, D_i)]`` -> ``(B, out_features)``, gradients to every input and parameter."""
    import torch

    label, example = label_of("fusion", obj, name), check_example("fusion", obj, name)
    shapes = [tuple(s) for s in example["input_shapes"]]
    torch.manual_seed(0)
    fusion = obj(in_features=[s[-1] for s in shapes], **example["args"])
    feats = [torch.randn(s, requires_grad=True) for s in shapes]
    out = fusion(feats)
    require(tuple(out.shape) == (shapes[0][0], fusion.out_features), label,
             f"output {tuple(out.shape)}, expected {(shapes[0][0], fusion.out_features)}")
    out.square().mean().backward()
    require(all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats), label,
             "no gradient reached an input")
    _every_parameter_gets_gradient(fusion, label)


def _check_head_output(out: Any, batch: int, num_classes: Optional[int], label: str) -> None:
    # the contract's keys; a head may add more (OrdinalHead's 'ordinal'), batch first
    require(isinstance(out, dict) and {"cls", "reg"} <= set(out), label,
             f"output must be a dict with 'cls' and 'reg', got {type(out).__name__} "
             f"{sorted(out) if isinstance(out, dict) else ''}")
    require(all(v.shape[0] == batch for v in out.values()), label,
             f"every output must be batch first ({batch}), got "
             f"{ {k: tuple(v.shape) for k, v in out.items()} }")
    require(out["cls"].dim() == 2 and out["reg"].shape == (batch,), label,
             f"'cls' must be (B, C) and 'reg' (B,), got {tuple(out['cls'].shape)} and {tuple(out['reg'].shape)}")
    if num_classes is not None:
        require(out["cls"].shape[1] == num_classes, label,
                 f"'cls' has {out['cls'].shape[1]} classes, expected num_classes={num_classes}")


def check_head(obj: Any, name: Optional[str] = None, kind: str = "head") -> None:
    """``(B, D)`` (a sequence head: ``(B, K, D)``) -> ``{'cls': (B, C), 'reg': (B,)}``,
    with a gradient on every parameter."""
    import torch

    label, example = label_of(kind, obj, name), check_example(kind, obj, name)
    shape = tuple(example["input_shape"])
    torch.manual_seed(0)
    head = obj(in_features=shape[-1], **example["args"])
    out = head(torch.randn(shape))
    num_classes = example["args"].get("num_classes", getattr(head, "num_classes", None))
    _check_head_output(out, shape[0], num_classes, label)
    (out["cls"].square().mean() + out["reg"].square().mean()).backward()
    _every_parameter_gets_gradient(head, label)


def check_sequence_head(obj: Any, name: Optional[str] = None) -> None:
    """As :func:`check_head`, over clip features ``(B, K, D)``."""
    check_head(obj, name, kind="sequence_head")


def check_loss(obj: Any, name: Optional[str] = None) -> None:
    """A 5-class head output and targets -> a finite positive scalar whose gradient
    reaches the head output; a loss trained on the label ignores a sample labelled -1."""
    import torch

    label, example = label_of("loss", obj, name), check_example("loss", obj, name)
    loss = obj(**example["args"])
    torch.manual_seed(0)
    # a 5-class head's output, with the cumulative logits (C - 1) an ordinal head adds
    head_out = {"cls": torch.randn(4, 5, requires_grad=True), "reg": torch.randn(4, requires_grad=True),
                "ordinal": torch.randn(4, 4, requires_grad=True)}
    targets = {"label": torch.tensor([0, 4, 2, -1]), "score": torch.tensor([0.0, 4.0, 2.0, 1.0])}
    value = loss(head_out, targets)
    require(value.dim() == 0 and torch.isfinite(value) and value > 0, label,
             f"expected a finite positive scalar, got {value!r}")
    value.backward()
    reached = [k for k, v in head_out.items() if v.grad is not None and v.grad.abs().sum() > 0]
    require(reached, label, "no gradient reached the head output")
    requires = getattr(loss, "requires", None)
    if requires in ("cls", "ordinal"):  # trained on the label: the sample labelled -1 is ignored
        require(reached == [requires] and torch.all(head_out[requires].grad[3] == 0), label,
                 f"a loss on {requires!r} must send gradient to {requires!r} only and none to the "
                 f"sample labelled -1; reached {reached}")
