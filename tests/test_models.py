"""The AQA model: the reference config's sizes, Eq. 1, gradient isolation of the
multimodal branch, prediction format, weight loading and export, config errors."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from conftest import REPO
from pisa.models.audio_resnet import AudioResNet18, rgb_to_mono_resnet_state
from pisa.models.c3d import C3D
from pisa.models.weights import export_backbone_weights, load_backbone_weights
from pisa.registry import BACKBONES, MODELS

CONFIGS = REPO / "configs" / "_base_" / "models"
MEAN = [0.43216, 0.39466, 0.37645]
STD = [0.22803, 0.22145, 0.21698]
TINY_C3D = dict(type="C3D", widths=(4, 8, 8, 8, 8), feature_dim=32, clip_len=16, size=32)


def tiny_model_cfg(**overrides) -> dict:
    """The reference model's structure at CPU-test size: C3D widths 4..8 on 16x32x32 clips
    (32-d), ResNet-18 on 32x32 mel images (512-d)."""
    cfg = dict(
        type="AQAModel",
        data_preprocessor=dict(type="AQADataPreprocessor", mean=MEAN, std=STD),
        video_backbone=dict(TINY_C3D),
        audio_backbone=dict(type="AudioResNet18"),
        video_aggregator=dict(type="AvgAggregator"),
        audio_aggregator=dict(type="AvgAggregator"),
        fusion=dict(type="ConcatFusion", detach=True),
        head=dict(type="LevelHead", hidden=16, num_classes=10),
        losses=[dict(type="CrossEntropyLoss", weight=1.0), dict(type="L1L2Loss", weight=0.1)],
        branches=("video", "audio", "multimodal"),
        decision_branch="multimodal",
    )
    cfg.update(overrides)
    return cfg


def tiny_batch(batch=2, clips=2, size=32, seed=0) -> dict:
    """A collated batch as the dataset and ``default_collate`` produce it."""
    gen = torch.Generator().manual_seed(seed)
    return {
        "inputs": {
            "video": torch.randint(0, 256, (batch, clips, 3, 16, size, size), dtype=torch.uint8, generator=gen),
            "audio": torch.rand(batch, clips, 1, size, size, generator=gen) * 255,
        },
        "data_samples": {
            "label": torch.arange(batch) % 10,
            "score": (torch.arange(batch) % 10).double(),  # collated Python floats are float64
            "sample_id": [f"7_{i}" for i in range(batch)],
            "group": ["7"] * batch,
        },
    }


def _backbone_grads(model):
    return {name: [p.grad for p in getattr(model, f"{name}_backbone").parameters()]
            for name in ("video", "audio")}


# ---------------------------------------------------------------- reference config
def test_reference_multimodal_config_has_the_papers_sizes():
    model = MODELS.build(Config.fromfile(str(CONFIGS / "pisa_multimodal.py")).model)
    assert model.video_backbone.out_features == 4096
    assert model.audio_backbone.out_features == 512
    assert model.fusion.out_features == 4608 and model.fusion.detach is True
    assert {b: h.in_features for b, h in model.heads.items()} == {"video": 4096, "audio": 512, "multimodal": 4608}
    for head in model.heads.values():
        assert head.fc[0].out_features == 128
        assert head.cls.out_features == 10 and head.reg.out_features == 1
    assert model.decision_branch == "multimodal"
    assert [type(l).__name__ for l in model.losses] == ["CrossEntropyLoss", "L1L2Loss"]
    assert [l.weight for l in model.losses] == [1.0, 0.1]
    # the paper's input sizes run through the full model: 16x112x112 clips, 224x224 mels
    model.eval()
    batch = {"inputs": {"video": torch.zeros(1, 2, 3, 16, 112, 112, dtype=torch.uint8),
                        "audio": torch.zeros(1, 2, 1, 224, 224)}, "data_samples": None}
    data = model.data_preprocessor(batch)
    with torch.no_grad():
        out = model(**data, mode="tensor")
    assert {b: (tuple(o["cls"].shape), tuple(o["reg"].shape)) for b, o in out.items()} == {
        b: ((1, 10), (1,)) for b in ("video", "audio", "multimodal")}


@pytest.mark.parametrize("name,branch,absent", [("pisa_video", "video", "audio"), ("pisa_audio", "audio", "video")])
def test_single_modality_configs_build_one_branch(name, branch, absent):
    model = MODELS.build(Config.fromfile(str(CONFIGS / f"{name}.py")).model)
    assert model.branches == (branch,) and model.decision_branch == branch
    assert not hasattr(model, f"{absent}_backbone") and model.fusion is None
    assert model.heads[branch].in_features == {"video": 4096, "audio": 512}[branch]


def test_c3d_flat_size_follows_clip_len_and_size():
    # 16 frames: 16 -> 16 -> 8 -> 4 -> 2 -> 1; 112 px: 56, 28, 14, 7, then the padded pool5: 4
    assert C3D().flat_features == 256 * 1 * 4 * 4
    # 32 frames: 32, 16, 8, 4, 2; 64 px: 32, 16, 8, 4 -> 3; 96 px: 48, 24, 12, 6 -> 4
    assert C3D(widths=(4, 4, 4, 4, 8), clip_len=32, size=(64, 96), feature_dim=8).flat_features == 8 * 2 * 3 * 4
    # the unpadded layout floors pool5 instead
    assert C3D(last_pool_padding=(0, 0, 0)).flat_features == 256 * 1 * 3 * 3
    with pytest.raises(ValueError, match="clip_len=8"):
        C3D(clip_len=8)
    with pytest.raises(ValueError, match=r"\(N, 3, 16, 32, 32\)"):
        BACKBONES.build(TINY_C3D)(torch.zeros(1, 3, 16, 64, 64))


def test_c3d_pool5_pads_112_pixels_to_4x4():
    c3d = C3D(widths=(2, 2, 2, 2, 2))  # the paper's depth and input, narrow channels
    pool5 = c3d.features[-1]
    assert isinstance(pool5, torch.nn.MaxPool3d) and tuple(pool5.padding) == (0, 1, 1)
    assert [tuple(m.padding) for m in c3d.features if isinstance(m, torch.nn.MaxPool3d)][:-1] == [(0, 0, 0)] * 4
    with torch.no_grad():
        assert tuple(c3d.features(torch.zeros(1, 3, 16, 112, 112)).shape) == (1, 2, 1, 4, 4)


def test_paper_video_backbone_is_the_flattened_pool5_without_a_linear_layer():
    backbone = MODELS.build(Config.fromfile(str(CONFIGS / "pisa_multimodal.py")).model).video_backbone
    assert not any(isinstance(m, torch.nn.Linear) for m in backbone.modules())
    assert backbone.fc is None and backbone.out_features == backbone.flat_features == 4096
    # C64-P-C128-P-C256-P-C256-P-C256-P, 3x3x3 kernels with biases: nothing else has weights
    widths = [3, 64, 128, 256, 256, 256]
    expected = sum(3 * 3 * 3 * cin * cout + cout for cin, cout in zip(widths, widths[1:]))
    assert expected == 4_651_008
    assert sum(p.numel() for p in backbone.parameters()) == expected
    backbone.eval()
    with torch.no_grad():
        clips = torch.rand(2, 3, 16, 112, 112)
        out = backbone(clips)
        assert tuple(out.shape) == (2, 4096)
        torch.testing.assert_close(out, backbone.features(clips).flatten(1))


def test_c3d_projection_is_a_linear_of_the_asked_size():
    convs = sum(p.numel() for p in C3D().parameters())
    projected = C3D(feature_dim=4096)
    assert isinstance(projected.fc, torch.nn.Linear)
    assert (projected.fc.in_features, projected.fc.out_features) == (4096, 4096)
    assert sum(p.numel() for p in projected.parameters()) == convs + 4096 * 4096 + 4096
    # the earlier layout: unpadded pool5 (2304 values) and a 2304 -> 4096 projection
    old = C3D(feature_dim=4096, last_pool_padding=(0, 0, 0))
    assert (old.fc.in_features, sum(p.numel() for p in old.parameters())) == (2304, convs + 2304 * 4096 + 4096)
    # the synthetic demo's narrowed C3D: 3 blocks on 8x56x56 clips, projected to 256
    narrow = C3D(widths=(16, 32, 64), feature_dim=256, clip_len=8, size=56)
    assert narrow.pool_shape == (64, 2, 8, 8) and narrow.fc.in_features == 8192
    assert tuple(narrow(torch.zeros(2, 3, 8, 56, 56)).shape) == (2, 256)
    with pytest.raises(ValueError, match="feature_dim must be None or >= 1"):
        C3D(feature_dim=0)


def test_c3d_weights_with_a_projection_load_their_convs_into_one_without(tmp_path):
    torch.manual_seed(0)
    with_fc = C3D(**{k: v for k, v in TINY_C3D.items() if k != "type"})
    path = tmp_path / "c3d.pth"
    torch.save(with_fc.state_dict(), path)
    plain = BACKBONES.build(dict(TINY_C3D, feature_dim=None, pretrained=str(path)))
    for key, value in plain.state_dict().items():
        torch.testing.assert_close(value, with_fc.state_dict()[key])
    # a projection of another input size is another network: refused
    with pytest.raises(ValueError, match=r"other shapes.*fc\.weight"):
        BACKBONES.build(dict(TINY_C3D, last_pool_padding=(0, 0, 0), pretrained=str(path)))


# ---------------------------------------------------------------- losses and gradients
def test_multimodal_loss_reaches_no_backbone_when_detached_and_both_otherwise():
    for detach in (True, False):
        torch.manual_seed(0)
        model = MODELS.build(tiny_model_cfg(fusion=dict(type="ConcatFusion", detach=detach)))
        data = model.data_preprocessor(tiny_batch(), True)
        losses = model(**data, mode="loss")
        (losses["loss_multimodal_ce"] + losses["loss_multimodal_reg"]).backward()
        assert all(p.grad is not None for p in model.heads["multimodal"].parameters())
        assert all(p.grad is None for b in ("video", "audio") for p in model.heads[b].parameters())
        for modality, grads in _backbone_grads(model).items():
            if detach:
                assert all(g is None for g in grads), f"{modality} backbone got a gradient"
            else:
                assert any(g is not None and g.abs().sum() > 0 for g in grads), modality


def test_video_branch_loss_trains_only_the_video_backbone():
    model = MODELS.build(tiny_model_cfg())
    losses = model(**model.data_preprocessor(tiny_batch(), True), mode="loss")
    losses["loss_video_ce"].backward()
    grads = _backbone_grads(model)
    assert all(g is not None for g in grads["video"]) and all(g is None for g in grads["audio"])


@pytest.mark.parametrize("w_ce,w_reg", [(1.0, 0.1), (0.5, 2.0)])
def test_loss_terms_follow_eq1_with_configured_weights(w_ce, w_reg):
    torch.manual_seed(0)
    cfg = tiny_model_cfg(losses=[dict(type="CrossEntropyLoss", weight=w_ce), dict(type="L1L2Loss", weight=w_reg)])
    model = MODELS.build(cfg).eval()  # eval: batch norm gives the same outputs on both calls
    data = model.data_preprocessor(tiny_batch(batch=3, seed=1))
    losses = model(**data, mode="loss")
    assert sorted(losses) == sorted(f"loss_{b}_{t}" for b in ("video", "audio", "multimodal") for t in ("ce", "reg"))
    outputs = model(**data, mode="tensor")
    label = data["data_samples"]["label"]
    score = data["data_samples"]["score"]
    for branch, out in outputs.items():
        diff = out["reg"] - score
        expected_reg = w_reg * (diff.abs().mean() + (diff ** 2).mean())
        expected_ce = w_ce * F.cross_entropy(out["cls"], label)
        torch.testing.assert_close(losses[f"loss_{branch}_ce"], expected_ce)
        torch.testing.assert_close(losses[f"loss_{branch}_reg"], expected_reg)


def test_train_step_through_mmengine_updates_the_model():
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg())
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    before = model.heads["video"].cls.weight.detach().clone()
    log_vars = model.train_step(tiny_batch(), wrapper)
    terms = [v for k, v in log_vars.items() if k.startswith("loss_")]
    assert len(terms) == 6
    torch.testing.assert_close(log_vars["loss"], sum(terms))
    assert not torch.equal(before, model.heads["video"].cls.weight)


# ---------------------------------------------------------------- predict
def test_predict_returns_one_record_per_sample_from_the_decision_branch():
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg(decision_branch="video"))
    batch = tiny_batch(batch=3)
    preds = model.val_step(batch)
    assert len(preds) == 3
    for i, pred in enumerate(preds):
        assert set(pred) >= {"pred_label", "probs", "pred_score", "gt_label", "gt_score", "sample_id", "group", "branches"}
        assert len(pred["probs"]) == 10 and abs(sum(pred["probs"]) - 1) < 1e-5
        assert pred["pred_label"] == max(range(10), key=pred["probs"].__getitem__)
        assert set(pred["branches"]) == {"video", "audio", "multimodal"}
        assert pred["pred_score"] == pred["branches"]["video"]["pred_score"]
        assert pred["probs"] == pred["branches"]["video"]["probs"]
        assert (pred["gt_label"], pred["gt_score"]) == (i, float(i))
        assert isinstance(pred["gt_score"], float) and isinstance(pred["pred_score"], float)
        assert (pred["sample_id"], pred["group"]) == (f"7_{i}", "7")
    tensor_out = model.eval()(**model.data_preprocessor(batch), mode="tensor")
    torch.testing.assert_close(torch.tensor([p["pred_score"] for p in preds]), tensor_out["video"]["reg"])


def test_regression_only_head_predicts_scores_without_classes():
    model = MODELS.build(tiny_model_cfg(branches=("video",), decision_branch="video",
                                        head=dict(type="LevelHead", hidden=8, num_classes=0),
                                        losses=[dict(type="L1L2Loss", weight=1.0)]))
    preds = model.val_step(tiny_batch())
    assert [p["pred_label"] for p in preds] == [-1, -1] and preds[0]["probs"] == []
    with pytest.raises(ValueError, match="CrossEntropyLoss needs class logits"):
        MODELS.build(tiny_model_cfg(branches=("video",), decision_branch=None,
                                    head=dict(type="LevelHead", num_classes=0)))


# ---------------------------------------------------------------- data preprocessor
def test_preprocessor_normalises_uint8_video_per_channel():
    model = MODELS.build(tiny_model_cfg())
    batch = tiny_batch(batch=1, clips=1)
    video = batch["inputs"]["video"]
    video[0, 0, :, 0, 0, 0] = torch.tensor([255, 0, 51], dtype=torch.uint8)
    data = model.data_preprocessor(batch)
    got = data["inputs"]["video"][0, 0, :, 0, 0, 0]
    expected = torch.tensor([(1.0 - MEAN[0]) / STD[0], -MEAN[1] / STD[1], (0.2 - MEAN[2]) / STD[2]])
    torch.testing.assert_close(got, expected)
    assert data["data_samples"]["score"].dtype == torch.float32
    torch.testing.assert_close(data["inputs"]["audio"], batch["inputs"]["audio"])
    batch["inputs"]["video"] = video.float()
    with pytest.raises(TypeError, match=r"inputs\['video'\] must be uint8"):
        model.data_preprocessor(batch)


def test_missing_modality_is_named():
    model = MODELS.build(tiny_model_cfg())
    batch = tiny_batch()
    del batch["inputs"]["audio"]
    with pytest.raises(KeyError, match=r"inputs\['audio'\] is missing.*'audio', 'multimodal'"):
        model.train_step(batch, OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))


# ---------------------------------------------------------------- weights
def test_torchvision_resnet18_weights_load_with_summed_conv1(tmp_path):
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None).state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(reference, path)
    backbone = BACKBONES.build(dict(type="AudioResNet18", pretrained=str(path)))
    state = backbone.state_dict()
    torch.testing.assert_close(state["conv1.weight"], reference["conv1.weight"].sum(dim=1, keepdim=True))
    assert state["conv1.weight"].shape == (64, 1, 7, 7)
    for key in ("layer4.1.conv2.weight", "layer2.0.downsample.1.running_var", "bn1.bias"):
        torch.testing.assert_close(state[key], reference[key])
    # without the conversion the RGB conv1 does not fit, and that is an error, not a skip
    with pytest.raises(ValueError, match=r"conv1.weight \(file \(64, 3, 7, 7\), module \(64, 1, 7, 7\)\)"):
        load_backbone_weights(AudioResNet18(), path, convert=None)
    del reference["fc.weight"], reference["layer4.1.bn2.bias"]
    torch.save(reference, path)
    report = load_backbone_weights(AudioResNet18(), path, 
                                   convert=lambda s: {**rgb_to_mono_resnet_state(s), "extra.w": torch.zeros(1)})
    assert report.missing == ["layer4.1.bn2.bias"] and report.unexpected == ["extra.w"]
    assert len(report.loaded) == len(AudioResNet18().state_dict()) - 1


def test_narrow_audio_resnet_keeps_the_structure_and_scales_the_features():
    torch.manual_seed(0)
    full, narrow = AudioResNet18(), BACKBONES.build(dict(type="AudioResNet18", width=16))
    assert narrow.out_features == 128 and full.out_features == 512
    # same layers under the same names, every channel count divided by 4
    full_state, narrow_state = full.state_dict(), narrow.state_dict()
    assert list(full_state) == list(narrow_state)
    assert narrow_state["conv1.weight"].shape == (16, 1, 7, 7)
    assert narrow_state["layer4.1.conv2.weight"].shape == (128, 128, 3, 3)
    assert narrow_state["layer2.0.downsample.0.weight"].shape == (32, 16, 1, 1)
    n_full = sum(p.numel() for p in full.parameters())
    n_narrow = sum(p.numel() for p in narrow.parameters())
    assert n_narrow < n_full / 10
    out = narrow(torch.randn(3, 1, 64, 64))
    assert out.shape == (3, 128) and torch.isfinite(out).all()
    # features depend on the input (the rebuilt stages are wired in, not the 64-wide ones)
    assert not torch.allclose(out[0], out[1])


def test_narrow_audio_resnet_refuses_torchvision_weights(tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    with pytest.raises(ValueError, match=r"resnet18\.pth.*width 64.*width=32"):
        BACKBONES.build(dict(type="AudioResNet18", width=32, pretrained=str(path)))
    with pytest.raises(ValueError, match="width must be >= 1, got 0"):
        AudioResNet18(width=0)


def test_missing_or_unrelated_weights_file_gives_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere" / "r18.pth"
    with pytest.raises(FileNotFoundError, match=r"nowhere/r18\.pth.*config key 'pretrained'"):
        BACKBONES.build(dict(type="AudioResNet18", pretrained=str(missing)))
    unrelated = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(3, 3)}, unrelated)
    with pytest.raises(ValueError, match="no tensor in .*other.pth' matches the module"):
        BACKBONES.build(dict(type="AudioResNet18", pretrained=str(unrelated)))
    truncated = tmp_path / "truncated.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:4096])
    with pytest.raises(ValueError, match="truncated.pth is truncated or corrupt"):
        BACKBONES.build(dict(type="AudioResNet18", pretrained=str(truncated)))
    not_weights = tmp_path / "list.pth"
    torch.save([1, 2, 3], not_weights)
    with pytest.raises(ValueError, match="not a state dict"):
        BACKBONES.build(dict(TINY_C3D, pretrained=str(not_weights)))


def _mmengine_style_checkpoint(model: torch.nn.Module, path: Path) -> None:
    """A checkpoint shaped like mmengine's: meta, state_dict and the message hub's
    training state (which holds mmengine's HistoryBuffer objects)."""
    hub = MessageHub.get_instance("test_models_checkpoint")
    hub.update_scalar("train/loss", 1.5)
    torch.save({"meta": {"epoch": 3, "iter": 30}, "state_dict": model.state_dict(),
                "message_hub": hub.state_dict()}, path)


def test_export_backbone_weights_then_load_into_a_fresh_c3d(tmp_path):
    torch.manual_seed(0)
    trained = MODELS.build(tiny_model_cfg())
    checkpoint = tmp_path / "epoch_3.pth"
    _mmengine_style_checkpoint(trained, checkpoint)
    out = tmp_path / "exported" / "c3d.pth"
    count = export_backbone_weights(checkpoint, "video_backbone", out)
    assert count == len(trained.video_backbone.state_dict())
    assert [p.name for p in out.parent.iterdir()] == ["c3d.pth"]  # no temporary file left
    fresh = BACKBONES.build(dict(TINY_C3D, pretrained=str(out)))
    for key, value in trained.video_backbone.state_dict().items():
        torch.testing.assert_close(fresh.state_dict()[key], value)
    # the same checkpoint, with its key prefix stripped at load time
    direct = BACKBONES.build(dict(TINY_C3D, pretrained=str(checkpoint), pretrained_prefix="video_backbone."))
    torch.testing.assert_close(direct.fc.weight, trained.video_backbone.fc.weight)
    with pytest.raises(ValueError, match="no keys under prefix 'backbone.'.*video_backbone."):
        export_backbone_weights(checkpoint, "backbone.", tmp_path / "x.pth")
    assert not (tmp_path / "x.pth").exists()


@pytest.mark.slow
def test_export_from_a_checkpoint_written_by_mmengines_runner(tmp_path):
    """One training epoch through mmengine's Runner, then the video backbone out of the
    checkpoint it saved and into a fresh C3D."""
    from mmengine.dataset import default_collate
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader

    samples = [{k: {n: v[i] for n, v in part.items()}
                for k, part in tiny_batch(batch=2, clips=1).items()} for i in range(2)]
    runner = Runner(model=tiny_model_cfg(), work_dir=str(tmp_path / "work"), default_scope="pisa",
                    train_dataloader=DataLoader(samples, batch_size=2, collate_fn=default_collate),
                    train_cfg=dict(by_epoch=True, max_epochs=1),
                    optim_wrapper=dict(optimizer=dict(type="Adam", lr=1e-3)),
                    default_hooks=dict(logger=dict(type="LoggerHook", interval=1)))
    runner.train()
    out = tmp_path / "c3d.pth"
    assert export_backbone_weights(tmp_path / "work" / "epoch_1.pth", "video_backbone.", out) == 12
    fresh = BACKBONES.build(dict(TINY_C3D, pretrained=str(out)))
    torch.testing.assert_close(fresh.fc.weight, runner.model.video_backbone.fc.weight)


# ---------------------------------------------------------------- config errors
def test_unknown_type_lists_the_registered_names():
    with pytest.raises(KeyError, match="unknown backbone type 'C3DX'.*AudioResNet18.*C3D"):
        MODELS.build(tiny_model_cfg(video_backbone=dict(type="C3DX")))
    with pytest.raises(KeyError, match="unknown loss type 'FocalLoss'.*L1L2Loss"):
        MODELS.build(tiny_model_cfg(losses=[dict(type="FocalLoss")]))


def test_wrong_argument_is_named_with_the_accepted_ones():
    with pytest.raises(TypeError, match="C3D.*'widthz'.*accepted arguments: in_channels, widths"):
        MODELS.build(tiny_model_cfg(video_backbone=dict(TINY_C3D, widthz=(4,))))


@pytest.mark.parametrize("overrides,message", [
    (dict(audio_backbone=None), r"branches \['audio', 'multimodal'\] need 'audio_backbone'"),
    (dict(branches=("video", "visual")), "branches must be distinct names"),
    (dict(branches=("video", "audio"), decision_branch="multimodal"), "decision_branch 'multimodal'"),
    (dict(fusion=None), "'multimodal' branch needs 'fusion'"),
    (dict(losses=[dict(type="L1L2Loss"), dict(type="L1L2Loss", weight=1.0)]), "share a loss_name"),
])
def test_inconsistent_model_configs_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(tiny_model_cfg(**copy.deepcopy(overrides)))
