"""Plugin distributions in plugins/: installed entry points, their components,
local weight loading, and swapping them into the AQA model by config alone."""
from __future__ import annotations

import importlib.metadata as importlib_metadata

import pytest
import torch
import torchvision
from mmengine.optim import OptimWrapper

from pisa.plugin_loader import registrations
from pisa.registry import AGGREGATORS, BACKBONES, MODELS

PLUGINS = {
    "torchvision_video": ("pisa-torchvision-video", "pisa_torchvision_video",
                          "backbone", {"TorchvisionVideoResNet", "TorchvisionR3D18", "TorchvisionMC318",
                                       "TorchvisionR2Plus1D18"}),
    "transformer_aggregator": ("pisa-transformer-aggregator", "pisa_transformer_aggregator",
                               "aggregator", {"TransformerAggregator"}),
    "transcription": ("pisa-transcription", "pisa_transcription", "transcriber", {"BasicPitchTranscriber"}),
}


@pytest.mark.parametrize("entry_point", sorted(PLUGINS))
def test_distribution_is_installed_with_its_entry_point_and_registers_its_components(entry_point):
    dist_name, module, kind, names = PLUGINS[entry_point]
    dist = importlib_metadata.distribution(dist_name)
    eps = [ep for ep in dist.entry_points if ep.group == "pisa"]
    assert [(ep.name, ep.value) for ep in eps] == [(entry_point, module)]
    by_name = {r.name: r for r in registrations(kind)}
    for name in names:
        assert by_name[name].source == f"{dist_name} {dist.version}"
        assert by_name[name].plugin == entry_point


def test_torchvision_video_backbone_loads_local_torchvision_weights(tmp_path):
    torch.manual_seed(0)
    reference = torchvision.models.video.mc3_18(weights=None).state_dict()
    path = tmp_path / "mc3_18.pth"
    torch.save(reference, path)
    backbone = BACKBONES.build(dict(type="TorchvisionMC318", pretrained=str(path)))
    state = backbone.net.state_dict()
    assert not any(k.startswith("fc.") for k in state)
    for key in ("stem.0.weight", "layer3.0.conv1.0.weight", "layer4.1.conv2.1.running_mean"):
        torch.testing.assert_close(state[key], reference[key])
    with pytest.raises(ValueError, match="other shapes than the module's"):  # mc3 weights do not fit r2plus1d
        BACKBONES.build(dict(type="TorchvisionR2Plus1D18", pretrained=str(path)))
    with pytest.raises(ValueError, match=r"unknown arch 'r3d_50'.*r2plus1d_18"):
        BACKBONES.build(dict(type="TorchvisionVideoResNet", arch="r3d_50"))


def test_transformer_aggregator_options_and_errors():
    agg = AGGREGATORS.build(dict(type="TransformerAggregator", in_features=12, embed_dim=8,
                                 num_heads=2, pool="mean", max_clips=4))
    assert agg.out_features == 8 and agg(torch.randn(3, 4, 12)).shape == (3, 8)
    with pytest.raises(ValueError, match="5 clips exceed max_clips=4"):
        agg(torch.randn(1, 5, 12))
    with pytest.raises(ValueError, match="not divisible by num_heads 4"):
        AGGREGATORS.build(dict(type="TransformerAggregator", in_features=10))
    # the clip order matters to it (position embeddings), unlike averaging
    agg = AGGREGATORS.build(dict(type="TransformerAggregator", in_features=8, num_heads=2)).eval()
    feats = torch.randn(1, 3, 8)
    assert not torch.allclose(agg(feats), agg(feats.flip(1)))


def test_plugin_parts_swap_into_the_aqa_model_by_config():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type="AQAModel",
        data_preprocessor=dict(type="AQADataPreprocessor"),
        video_backbone=dict(type="TorchvisionR3D18"),
        video_aggregator=dict(type="TransformerAggregator", embed_dim=32, num_heads=4),
        head=dict(type="LevelHead", hidden=16, num_classes=10),
        branches=("video",)))
    assert model.heads["video"].in_features == 32
    batch = {"inputs": {"video": torch.randint(0, 256, (2, 3, 3, 4, 32, 32), dtype=torch.uint8)},
             "data_samples": {"label": torch.tensor([1, 8]), "score": torch.tensor([1.0, 8.0]),
                              "sample_id": ["a", "b"], "group": ["1", "2"]}}
    stem = model.video_backbone.net.stem[0].weight.detach().clone()
    log_vars = model.train_step(batch, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    assert set(log_vars) == {"loss", "loss_video_ce", "loss_video_reg"}
    assert not torch.equal(stem, model.video_backbone.net.stem[0].weight)
    preds = model.val_step(batch)
    assert [p["sample_id"] for p in preds] == ["a", "b"] and len(preds[0]["probs"]) == 10
