"""torchvision's S3D, MViT and Swin3D video models as clip backbones (the
pisa-torchvision-video plugin): torchvision's own parameters without the classifier,
loading a local torchvision weights file and refusing one of another layout, the
features torchvision's classifier reads, and the input recipe read from torchvision's
weights metadata."""
from __future__ import annotations

import re
import socket

import pytest
import torch
import torchvision
from torchvision.models import video as tv_video

from pisa.models.weights import load_backbone_weights
from pisa.registry import BACKBONES
from pisa_torchvision_video.backbones import (TorchvisionVideoBackbone, drop_classifier,
                                              input_recipe)

# arch -> registered name, torchvision's classifier keys, documented feature size, weights enum
NEW = {
    "s3d": ("TorchvisionS3D", "classifier.", 1024, tv_video.S3D_Weights),
    "mvit_v1_b": ("TorchvisionMViTV1B", "head.", 768, tv_video.MViT_V1_B_Weights),
    "mvit_v2_s": ("TorchvisionMViTV2S", "head.", 768, tv_video.MViT_V2_S_Weights),
    "swin3d_t": ("TorchvisionSwin3DT", "head.", 768, tv_video.Swin3D_T_Weights),
    "swin3d_s": ("TorchvisionSwin3DS", "head.", 768, tv_video.Swin3D_S_Weights),
    "swin3d_b": ("TorchvisionSwin3DB", "head.", 1024, tv_video.Swin3D_B_Weights),
}
# the smallest clips (T, H, W) each takes (torchvision's weights metadata: min_temporal_size
# and min_size; MViT's positional embeddings are built for exactly 16 x 224 x 224), and a
# size just below it (None: nothing is smaller)
SMALLEST = {
    "s3d": ((14, 224, 224), (13, 224, 224)),
    "mvit_v1_b": ((16, 224, 224), (16, 192, 192)),
    "mvit_v2_s": ((16, 224, 224), (15, 224, 224)),
    "swin3d_t": ((1, 1, 1), None),
    "swin3d_s": ((1, 1, 1), None),
    "swin3d_b": ((1, 1, 1), None),
}


def _without(state, head):
    return {k: v for k, v in state.items() if not k.startswith(head)}


@pytest.fixture(scope="module", params=list(NEW))
def arch(request):
    """Each new architecture; the tests of one run together, so that one architecture's
    models and files are held at a time."""
    return request.param


@pytest.fixture(scope="module")
def standin(arch, tmp_path_factory):
    """torchvision's model of ``arch``, randomly initialised, in eval mode; its state dict
    (classifier included); the file that state dict was saved to (removed afterwards)."""
    torch.manual_seed(0)
    model = getattr(tv_video, arch)(weights=None).eval()
    path = tmp_path_factory.mktemp(arch) / f"{arch}_k400.pth"
    torch.save(model.state_dict(), path)
    yield model, model.state_dict(), path
    path.unlink()


@pytest.fixture(scope="module")
def loaded(arch, standin):
    """The registered backbone of ``arch`` built with ``pretrained`` = the stand-in file
    (under another seed than the stand-in's, so that equal tensors mean it loaded)."""
    torch.manual_seed(1)
    return BACKBONES.build(dict(type=NEW[arch][0], pretrained=str(standin[2])))


def test_parameters_are_torchvisions_without_the_classifier(arch, standin):
    name, head, dim, _ = NEW[arch]
    _, state, _ = standin
    reference = {k: tuple(v.shape) for k, v in _without(state, head).items()}
    assert len(reference) < len(state)  # torchvision's model has the classifier
    torch.manual_seed(1)
    backbone = BACKBONES.build(dict(type=name))
    ours = backbone.state_dict()
    assert all(k.startswith("net.") for k in ours)
    assert {k[len("net."):]: tuple(v.shape) for k, v in ours.items()} == reference
    assert backbone.out_features == dim and backbone.arch == arch
    # built without the file, the tensors are its own: the loading test below can fail
    assert any(not torch.equal(v, state[k[len("net."):]]) for k, v in ours.items() if v.is_floating_point())


def test_a_torchvision_weights_file_loads_whole(arch, standin, loaded):
    _, head, _, _ = NEW[arch]
    _, state, _ = standin
    net = loaded.net.state_dict()
    assert set(net) == set(_without(state, head))
    unequal = [k for k, v in net.items() if not torch.equal(v, state[k])]
    assert not unequal, unequal[:5]


def test_a_file_with_a_renamed_or_reshaped_key_is_refused_naming_it(arch, standin, tmp_path):
    name, head, _, _ = NEW[arch]
    _, state, _ = standin
    weights = [k for k, v in _without(state, head).items() if v.dim() >= 2]
    key = weights[len(weights) // 2]
    renamed = dict(state)
    renamed[key + "_renamed"] = renamed.pop(key)
    reshaped = dict(state, **{key: state[key].flatten()})
    for variant, state_of, names in (("renamed", renamed, (repr(key), repr(key + "_renamed"))),
                                     ("reshaped", reshaped, (f"{key} (file ({state[key].numel()},), "
                                                             f"module {tuple(state[key].shape)})",))):
        path = tmp_path / f"{variant}.pth"
        torch.save(state_of, path)
        with pytest.raises(ValueError) as err:
            BACKBONES.build(dict(type=name, pretrained=str(path)))
        path.unlink()
        message = str(err.value)
        assert "\n" not in message
        assert f"expected torchvision's {arch} layout" in message and repr(str(path)) in message
        for text in names:
            assert text in message, (variant, message)


def test_the_default_load_still_takes_a_partial_file_and_a_missing_file_is_one_line(tmp_path):
    torch.manual_seed(0)
    state = tv_video.s3d(weights=None).state_dict()
    renamed = dict(state)
    renamed["features.0.0.0.weight_renamed"] = renamed.pop("features.0.0.0.weight")
    path = tmp_path / "renamed.pth"
    torch.save(renamed, path)
    torch.manual_seed(1)
    net = BACKBONES.build(dict(type="TorchvisionS3D")).net
    report = load_backbone_weights(net, path, convert=lambda s: drop_classifier(s, "classifier"))
    assert report.missing == ["features.0.0.0.weight"]
    assert report.unexpected == ["features.0.0.0.weight_renamed"]
    assert torch.equal(net.state_dict()["features.0.0.1.weight"], state["features.0.0.1.weight"])
    with pytest.raises(ValueError, match=r"1 of its tensors are missing, first \['features.0.0.0.weight'\]; "
                                         r"the file's keys not in S3D: \['features.0.0.0.weight_renamed'\]"):
        load_backbone_weights(net, path, convert=lambda s: drop_classifier(s, "classifier"), require_all=True)
    with pytest.raises(FileNotFoundError) as err:
        BACKBONES.build(dict(type="TorchvisionS3D", pretrained=str(tmp_path / "none.pth")))
    assert "\n" not in str(err.value) and "none.pth" in str(err.value)


def test_features_are_what_torchvisions_classifier_reads_on_the_smallest_clips(arch, standin, loaded):
    name, _, dim, _ = NEW[arch]
    reference, _, _ = standin
    smallest, below = SMALLEST[arch]
    backbone = loaded.eval()
    batch = 2 if smallest[1] < 224 else 1
    torch.manual_seed(2)
    clips = torch.randn(batch, 3, *smallest)
    with torch.no_grad():
        feats = backbone(clips)
        logits = reference(clips)
        classifier = getattr(reference, "classifier" if arch == "s3d" else "head")
        # S3D's classifier is a 1x1x1 convolution averaged over the pooled map
        again = (classifier(feats[:, :, None, None, None]).mean((2, 3, 4)) if arch == "s3d"
                 else classifier(feats))
    assert feats.shape == (batch, dim) and torch.isfinite(feats).all()
    torch.testing.assert_close(again, logits)
    if arch.startswith("mvit"):  # its positional embeddings are for the recipe's clip only
        net, recipe = backbone.net, backbone.input_recipe()
        stride = net.conv_proj.stride
        built_for = (net.pos_encoding.temporal_size * stride[0],
                     *(s * k for s, k in zip(net.pos_encoding.spatial_size, stride[1:])))
        assert built_for == (recipe["clip_len"], *recipe["crop_size"]) == smallest
        assert (recipe["min_temporal_size"], *recipe["min_size"]) == built_for
    if below is not None:
        with pytest.raises(ValueError, match=rf"{name} \({arch}\) takes clips of (exactly|at least) "
                                             rf"T, H, W = \({smallest[0]}, {smallest[1]}, {smallest[2]}\)"):
            backbone(torch.randn(1, 3, *below))


def test_input_recipe_is_read_from_torchvisions_weights_without_downloading(arch, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(socket.socket, "connect", no_download)
    name, _, _, enum = NEW[arch]
    weights = enum.KINETICS400_V1
    preset = weights.transforms()
    expected = dict(clip_len=int(re.search(r"clip_len=(\d+)", weights.meta["_docs"]).group(1)),
                    crop_size=tuple(preset.crop_size), resize_size=tuple(preset.resize_size),
                    mean=tuple(preset.mean), std=tuple(preset.std),
                    min_size=tuple(weights.meta["min_size"]),
                    min_temporal_size=weights.meta["min_temporal_size"],
                    fixed_size=arch.startswith("mvit"), weights=f"{enum.__name__}.KINETICS400_V1")
    assert input_recipe(arch) == expected
    cls = BACKBONES.get(name)
    assert cls.input_recipe() == expected and cls.arch == arch


def test_the_generic_class_builds_any_arch_and_the_resnet_class_only_resnets():
    backbone = BACKBONES.build(dict(type="TorchvisionVideoBackbone", arch="swin3d_t"))
    assert backbone.out_features == 768 and backbone.input_recipe() == input_recipe("swin3d_t")
    with pytest.raises(ValueError, match=r"TorchvisionVideoBackbone.input_recipe\(\): the class has no fixed arch"):
        TorchvisionVideoBackbone.input_recipe()
    with pytest.raises(ValueError, match=r"TorchvisionVideoResNet: unknown arch 's3d'.*TorchvisionVideoBackbone takes all"):
        BACKBONES.build(dict(type="TorchvisionVideoResNet", arch="s3d"))
    with pytest.raises(ValueError, match=r"unknown arch 'swin3d_l'.*swin3d_b"):
        BACKBONES.build(dict(type="TorchvisionVideoBackbone", arch="swin3d_l"))
    with pytest.raises(ValueError, match=r"input_recipe: unknown arch 'x3d'"):
        input_recipe("x3d")


def test_every_torchvision_backbone_has_a_benchmark_row_at_its_recipe_size(tmp_path):
    from benchmarks.backbones import BACKBONES as TIMED, bench_backbone_forward, input_shape, result_key
    from benchmarks.common import Settings
    from benchmarks.run import BENCHMARKS
    from pisa_torchvision_video.backbones import FIXED_ARCH

    assert {cls.__name__ for cls in FIXED_ARCH.values()} <= {name for name, _, _ in TIMED}
    assert all(result_key(name) in BENCHMARKS for name, _, _ in TIMED)
    s3d = BACKBONES.get("TorchvisionS3D")
    assert input_shape(s3d, None) == (3, input_recipe("s3d")["clip_len"], *input_recipe("s3d")["crop_size"])
    # the function on a tiny entry (the real ones take minutes on a CPU)
    (result,) = bench_backbone_forward(Settings.for_mode(True), tmp_path,
                                       [("TorchvisionMC318", {}, (3, 4, 16, 16))])
    assert result.key == "backbone_forward_TorchvisionMC318" and result.unit == "clips/s"
    cpu = result.extra["cpu"]
    assert result.value == cpu["bf16_clips_per_s"] > 0 and result.baseline == cpu["fp32_clips_per_s"] > 0
    assert result.ratio == pytest.approx(result.value / result.baseline)
    assert result.extra["input_shape"] == [2, 3, 4, 16, 16] and len(cpu["fp32_times_s"]) == 1
    assert 0 < cpu["feature_rel_diff"] < 0.05  # bf16 features near the fp32 ones, not equal
