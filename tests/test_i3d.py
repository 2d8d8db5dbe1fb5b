"""The I3D backbone against the public implementations' key layouts and against an
independent composition of torch ops for one Inception block.

The manifests (:mod:`i3d_manifests`) are the names and shapes of the public ports' state
dicts, read off those implementations and kept in ``tests/data``."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

import pytest
import torch
import torch.nn.functional as F

from i3d_manifests import CORE, PIERGIAJ, random_state
from pisa.models.i3d import I3D


@pytest.fixture(scope="module")
def piergiaj_file(tmp_path_factory) -> Tuple[Path, Dict[str, torch.Tensor]]:
    state = random_state(PIERGIAJ)
    path = tmp_path_factory.mktemp("i3d") / "rgb_imagenet.pt"
    torch.save(state, path)
    return path, state


def test_state_dict_has_exactly_the_pytorch_i3d_keys_and_shapes():
    own = {k: tuple(v.shape) for k, v in I3D().state_dict().items()
           if not k.endswith("num_batches_tracked")}
    assert own == dict(PIERGIAJ)
    assert len(PIERGIAJ) == 287


def test_loads_the_pytorch_i3d_layout_tensor_for_tensor(piergiaj_file):
    path, state = piergiaj_file
    model = I3D(pretrained=str(path))
    own = model.state_dict()
    assert all(torch.equal(own[k], v) for k, v in state.items())


def test_loads_cores_layout_into_the_same_tensors(tmp_path):
    # both public ports list their tensors in the same module order, except that
    # pytorch-i3d registers its logits unit first: pair them by position
    assert [s for k, s in CORE if not k.startswith("conv3d_0c_1x1.")] == \
        [s for k, s in PIERGIAJ if not k.startswith("logits.")]
    core = random_state(CORE, seed=1)
    torch.save(core, tmp_path / "model_rgb.pth")
    own = I3D(pretrained=str(tmp_path / "model_rgb.pth")).state_dict()
    core_rows = [k for k, _ in CORE if not k.startswith("conv3d_0c_1x1.")]
    ours = [k for k, _ in PIERGIAJ if not k.startswith("logits.")]
    for theirs, mine in zip(core_rows, ours):
        assert torch.equal(own[mine], core[theirs]), (theirs, mine)
    assert torch.equal(own["logits.conv3d.weight"], core["conv3d_0c_1x1.conv3d.weight"])
    assert torch.equal(own["logits.conv3d.bias"], core["conv3d_0c_1x1.conv3d.bias"])


def test_a_renamed_key_is_refused_naming_it(piergiaj_file, tmp_path):
    _, state = piergiaj_file
    renamed = dict(state)
    renamed["Mixed_4b.b1c.bn.weight"] = renamed.pop("Mixed_4b.b1b.bn.weight")
    torch.save(renamed, tmp_path / "renamed.pt")
    with pytest.raises(ValueError) as err:
        I3D(pretrained=str(tmp_path / "renamed.pt"))
    assert "Mixed_4b.b1b.bn.weight" in str(err.value)
    assert "renamed.pt" in str(err.value)


def test_a_reshaped_key_is_refused_naming_it(piergiaj_file, tmp_path):
    _, state = piergiaj_file
    reshaped = dict(state)
    reshaped["Mixed_5c.b0.conv3d.weight"] = torch.zeros(384, 832, 1, 1, 2)
    torch.save(reshaped, tmp_path / "reshaped.pt")
    with pytest.raises(ValueError, match=r"Mixed_5c\.b0\.conv3d\.weight"):
        I3D(pretrained=str(tmp_path / "reshaped.pt"))


def test_another_network_and_a_missing_file_are_one_line_errors(tmp_path):
    torch.save({"conv1.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="pytorch-i3d layout.*CoRe's"):
        I3D(pretrained=str(tmp_path / "other.pth"))
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        I3D(pretrained=str(tmp_path / "nowhere.pt"))


def test_feature_shapes_and_the_logits_of_the_pooled_feature():
    torch.manual_seed(0)
    clips = torch.randn(2, 3, 8, 64, 64)
    model = I3D().eval()
    with torch.no_grad():
        feats = model(clips)
        fmap = model.mixed_5c(clips)
    assert feats.shape == (2, 1024) and model.out_features == 1024
    assert fmap.shape == (2, 1024, 1, 2, 2)
    logits_model = I3D(feature="logits", num_classes=7).eval()
    logits_model.load_state_dict({k: v for k, v in model.state_dict().items()
                                  if not k.startswith("logits.")}, strict=False)
    with torch.no_grad():
        logits = logits_model(clips)
        # pytorch-i3d's per-position logits (1x1x1 conv of each position), averaged
        per_position = F.conv3d(fmap, logits_model.logits.conv3d.weight, logits_model.logits.conv3d.bias)
    assert logits.shape == (2, 7) and logits_model.out_features == 7
    torch.testing.assert_close(logits, per_position.mean(dim=(2, 3, 4)), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="at least 32"):
        model(torch.randn(1, 3, 8, 16, 16))


def _same(x: torch.Tensor, k: int) -> torch.Tensor:
    """TensorFlow SAME padding of a stride-1 ``k``-wide window: (k - 1) // 2 before, the
    rest after, in each of T, H, W."""
    lo, hi = (k - 1) // 2, k - 1 - (k - 1) // 2
    return F.pad(x, (lo, hi, lo, hi, lo, hi))


def _unit(x: torch.Tensor, sd: Dict[str, torch.Tensor], name: str, k: int, eps: float) -> torch.Tensor:
    y = F.conv3d(_same(x, k), sd[f"{name}.conv3d.weight"])
    y = F.batch_norm(y, sd[f"{name}.bn.running_mean"], sd[f"{name}.bn.running_var"],
                     sd[f"{name}.bn.weight"], sd[f"{name}.bn.bias"], training=False, eps=eps)
    return F.relu(y)


@pytest.mark.parametrize("block,size,eps", [("Mixed_3b", (5, 7, 6), 1e-3), ("Mixed_4e", (2, 4, 4), 1e-5)])
def test_an_inception_block_equals_a_composition_of_torch_ops(piergiaj_file, block, size, eps):
    _, state = piergiaj_file
    model = I3D(bn_eps=eps)
    model.load_state_dict(state, strict=False)
    layer = getattr(model, block).eval()
    sd = {k[len(block) + 1:]: v for k, v in state.items() if k.startswith(block + ".")}
    x = torch.relu(torch.randn(2, layer.b0.conv3d.in_channels, *size, generator=torch.Generator().manual_seed(3)))
    b0 = _unit(x, sd, "b0", 1, eps)
    b1 = _unit(_unit(x, sd, "b1a", 1, eps), sd, "b1b", 3, eps)
    b2 = _unit(_unit(x, sd, "b2a", 1, eps), sd, "b2b", 3, eps)
    b3 = _unit(F.max_pool3d(_same(x, 3), 3, stride=1), sd, "b3b", 1, eps)
    expected = torch.cat([b0, b1, b2, b3], dim=1)
    with torch.no_grad():
        got = layer(x)
    assert got.shape == expected.shape == (2, layer.out_channels, *size)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_strided_same_padding_puts_the_odd_row_at_the_end():
    """The stem and the stride-2 pools: TensorFlow's SAME on odd and even sizes."""
    from pisa.models.i3d import same_padding

    # 7-wide stride-2 on 9: out 5, needs (5-1)*2+7-9 = 6 -> 3, 3; on 8: out 4 -> 5 -> 2, 3
    assert same_padding((9, 8, 1), (7, 7, 1), (2, 2, 1)) == (0, 0, 2, 3, 3, 3)
    # 3-wide stride-2 pool on 7 (odd): out 4, needs 3*2+3-7 = 2 -> 1, 1
    assert same_padding((7, 7, 7), (3, 3, 3), (2, 2, 2)) == (1, 1, 1, 1, 1, 1)
