"""The registry contract: children of mmengine's roots, lazy plugin loading, and errors
that name the problem and the available names."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS

from pisa import registry
from pisa.plugin_loader import registrations


def test_runner_roles_are_children_of_mmengine_roots():
    for child, root in [(registry.MODELS, MMENGINE_MODELS), (registry.METRICS, MMENGINE_METRICS)]:
        assert child.parent is root
        assert root.children["pisa"] is child


def test_mmengine_root_builds_pisa_parts_in_pisa_scope():
    with DefaultScope.overwrite_default_scope("pisa"):
        model = MMENGINE_MODELS.build(dict(
            type="AQAModel",
            video_backbone=dict(type="C3D", widths=(2, 2, 2, 2, 2), feature_dim=8, clip_len=16, size=32),
            video_aggregator=dict(type="AvgAggregator"),
            head=dict(type="LevelHead", hidden=4, num_classes=10),
            branches=("video",), decision_branch="video"))
    assert type(model).__name__ == "AQAModel"
    assert type(model).__module__.startswith("pisa.")


def test_every_registration_is_in_its_registry():
    regs = registrations()
    kinds = {r.kind for r in regs}
    assert {"backbone", "aggregator", "fusion", "head", "loss", "model", "dataset", "transform", "metric"} <= kinds
    for r in regs:
        assert registry.KINDS[r.kind].get(r.name) is r.obj


def test_unknown_type_lists_available_names():
    with pytest.raises(KeyError) as err:
        registry.AGGREGATORS.build(dict(type="MeanAggregator", in_features=4))
    msg = str(err.value)
    assert "MeanAggregator" in msg and "AvgAggregator" in msg and "MaxAggregator" in msg


def test_unknown_type_through_mmengine_root_lists_names():
    with DefaultScope.overwrite_default_scope("pisa"), pytest.raises(KeyError) as err:
        MMENGINE_MODELS.build(dict(type="AQAModell"))
    assert "AQAModell" in str(err.value) and "AQAModel" in str(err.value)


def test_wrong_argument_names_it_and_the_accepted_ones():
    with pytest.raises(TypeError) as err:
        registry.AGGREGATORS.build(dict(type="AvgAggregator", in_features=4, dims=3))
    msg = str(err.value)
    assert "dims" in msg and "AvgAggregator" in msg and "in_features" in msg


def test_plugins_load_lazily_on_first_lookup():
    code = textwrap.dedent("""
        import pisa.plugin_loader as p
        import pisa.registry as r
        print(p._loaded)
        r.BACKBONES.get('C3D')
        print(p._loaded)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


def test_built_components_work_with_torch_autograd():
    agg = registry.AGGREGATORS.build(dict(type="AvgAggregator", in_features=6))
    x = torch.randn(3, 4, 6, requires_grad=True)
    out = agg(x)
    assert out.shape == (3, 6)
    out.sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, 1 / 4))
