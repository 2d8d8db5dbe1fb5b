"""The method plugin distributions in plugins/: pisa-usdl (USDL, MUSDL) and pisa-core
(CoRe). Their components come from their distributions, their targets, decoding and
groups equal few-line rebuilds of the authors' code (github.com/nzl-thu/MUSDL,
github.com/yuxumin/CoRe), and each method's config trains on a generated MTL-AQA layout."""
from __future__ import annotations

import importlib.metadata as importlib_metadata
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.optim import build_optim_wrapper
from scipy import stats
from pisa.data.adapters.mtl_aqa import write_released_layout as write_mtl_aqa

from pisa.engine.config_loader import load_config
from pisa.plugin_loader import registrations
from pisa.registry import DATASETS, HEADS, LOSSES, MODELS

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {
    "usdl": REPO / "configs" / "usdl" / "usdl_c3d_1xb4-16x1x10-100e_mtl-aqa-video-score.py",
    "musdl": REPO / "configs" / "musdl" / "musdl_c3d_1xb4-16x1x10-100e_mtl-aqa-video-score.py",
    "core": REPO / "configs" / "core" / "core_c3d_1xb1-16x1x10-200e_mtl-aqa-video-score.py",
}
PLUGINS = {
    "usdl": ("pisa-usdl", {("head", "USDLHead"), ("head", "MUSDLHead"), ("loss", "USDLLoss"),
                           ("loss", "MUSDLLoss"), ("model", "ScoreDistributionModel")}),
    "core": ("pisa-core", {("model", "CoReModel"), ("model", "ExemplarDataPreprocessor"),
                           ("hook", "CoReGroupHook")}),
}


def test_pisa_list_shows_the_method_components_from_their_distributions(capsys):
    from pisa.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for entry_point, (dist_name, components) in PLUGINS.items():
        dist = importlib_metadata.distribution(dist_name)
        assert [(ep.name, ep.value) for ep in dist.entry_points if ep.group == "pisa"] == [
            (entry_point, dist_name.replace("-", "_"))]
        for kind, name in components:
            assert re.search(rf"^{kind}\s+{name}\s+{dist_name} {re.escape(dist.version)}$", out, re.M), name
    # the pair sampling is the framework's own
    assert re.search(r"^dataset\s+ExemplarDataset\s+built-in$", out, re.M)
    # the generated component tests (tests/test_component_examples.py) see the heads and losses
    assert {"USDLHead", "MUSDLHead"} <= {r.name for r in registrations("head")}
    assert {"USDLLoss", "MUSDLLoss"} <= {r.name for r in registrations("loss")}


def _authors_soft_label(score: float, bins: np.ndarray, loc_scale: float, std: float) -> np.ndarray:
    """MUSDL's ``proc_label``: the normal pdf at the bins, normalised."""
    tmp = stats.norm.pdf(bins, loc=score * loc_scale, scale=std).astype(np.float32)
    return tmp / tmp.sum()


@pytest.mark.parametrize("setting", ["mtl_aqa", "jigsaws"])
def test_usdl_target_loss_and_decoding_equal_the_authors(setting):
    from pisa_usdl.distributions import gaussian_score_distribution

    if setting == "mtl_aqa":  # MTL-AQA/opts.py: 101 bins over 0..104.5, std 5
        args, scores = dict(num_bins=101, score_min=0.0, score_max=104.5, sigma=5.0), [0.0, 37.5, 88.0, 104.5]
        bins, loc_scale, offset = np.arange(101), 100 / 104.5, 0.0
    else:  # JIGSAWS/main.py: np.arange(6, 31), loc = the GRS, std 1
        args, scores = dict(num_bins=25, score_min=6.0, score_max=30.0, sigma=1.0), [6.0, 13.0, 21.0, 30.0]
        bins, loc_scale, offset = np.arange(6, 31), 1.0, 6.0
    expected = np.stack([_authors_soft_label(s, bins, loc_scale, args["sigma"]) for s in scores])
    got = gaussian_score_distribution(torch.tensor(scores), args["num_bins"], args["score_min"],
                                      args["score_max"], args["sigma"])
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-7)
    torch.manual_seed(0)
    head = HEADS.build(dict(type="USDLHead", in_features=8, hidden=(16,), num_bins=args["num_bins"],
                            score_min=args["score_min"], score_max=args["score_max"]))
    out = head(torch.randn(4, 8))
    probs = torch.softmax(out["cls"], dim=1)  # the authors' evaluator ends in a softmax
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note on reduction='mean', which they use
        authors_loss = torch.nn.KLDivLoss()(torch.log(probs), torch.from_numpy(expected))
    loss = LOSSES.build(dict(type="USDLLoss", score_min=args["score_min"], score_max=args["score_max"],
                             sigma=args["sigma"]))
    torch.testing.assert_close(loss(out, {"score": torch.tensor(scores)}), authors_loss)
    # compute_score: argmax * (label_max / (bins - 1)) on MTL-AQA, argmax + label_min on JIGSAWS
    step = (args["score_max"] - args["score_min"]) / (args["num_bins"] - 1)
    torch.testing.assert_close(out["reg"], probs.argmax(dim=-1).float() * step + offset)


def test_musdl_loss_and_the_diving_rule_equal_the_authors():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type="ScoreDistributionModel", target_keys=("judge_scores",), multiply_by="difficulty",
        data_preprocessor=dict(type="AQADataPreprocessor"),
        video_backbone=dict(type="C3D", widths=(4, 8), feature_dim=16, clip_len=4, size=16),
        fusion=None, branches=("video",),
        head=dict(type="MUSDLHead", hidden=(16,)), losses=[dict(type="MUSDLLoss")]))
    judges = torch.tensor([[9.5, 9.0, 9.5, 9.0, 8.5, 9.5, 8.5], [3.0, 4.5, 5.0, 4.0, 4.0, 3.5, 10.0]])
    difficulty = torch.tensor([3.2, 2.0])
    batch = {"inputs": {"video": torch.randint(0, 256, (2, 2, 3, 4, 16, 16), dtype=torch.uint8)},
             "data_samples": {"label": torch.tensor([-1, -1]), "score": torch.tensor([88.0, 24.0]),
                              "judge_scores": judges, "difficulty": difficulty,
                              "sample_id": ["a/0", "b/0"], "group": ["a", "b"]}}
    data = model.data_preprocessor(batch)
    out = model.branch_outputs(data["inputs"])["video"]
    probs = torch.softmax(out["cls"].view(2, 7, 21), dim=-1)  # one softmax per judge's MLP
    soft = np.stack([np.stack([_authors_soft_label(float(j), np.arange(21), 20 / 10, 5.0) for j in row])
                     for row in judges])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        authors_loss = sum(torch.nn.KLDivLoss()(torch.log(probs[:, i]), torch.from_numpy(soft[:, i]))
                           for i in range(7))
    losses = model.loss(data["inputs"], data["data_samples"])
    torch.testing.assert_close(losses["loss_video_musdl"], authors_loss)
    # compute_score: each judge's argmax * 10 / 20, sorted, the middle three summed, x difficulty
    judge_pred = (probs.argmax(dim=-1).float() * 10 / 20).sort(dim=1).values
    expected = judge_pred[:, 2:5].sum(dim=1) * difficulty
    preds = model.val_step(batch)
    assert [p["pred_label"] for p in preds] == [-1, -1]
    np.testing.assert_allclose([p["pred_score"] for p in preds], expected.numpy(), rtol=1e-6)
    assert len(preds[0]["probs"]) == 7 * 21 and abs(sum(preds[0]["probs"]) - 7) < 1e-4
    with pytest.raises(KeyError, match=r"data_samples\['judge_scores'\] is missing .*meta_keys"):
        model.loss(data["inputs"], {k: v for k, v in data["data_samples"].items() if k != "judge_scores"})


# -- CoRe's Group_helper, in the reference code's own loops -----------------------------
def _authors_groups(deltas, depth, maximum):
    data, num_leaf = sorted(deltas), 2 ** (depth - 1)
    group = [[] for _ in range(num_leaf)]
    for i in range(num_leaf // 2):
        left = 0 if i == 0 else data[int((i / (num_leaf // 2)) * (len(data) - 1))]
        right = maximum if i == num_leaf // 2 - 1 else data[int(((i + 1) / (num_leaf // 2)) * (len(data) - 1))]
        group[num_leaf // 2 + i] = [left, right]
    for i in range(num_leaf // 2):
        group[i] = sorted(-v for v in group[num_leaf - 1 - i])
    return group


def _authors_label(score, group):
    for i, (lo, hi) in enumerate(group):
        if (score >= 0 and lo <= score < hi) or (score < 0 and lo < score <= hi):
            return i, (score - lo if hi == lo else (score - lo) / (hi - lo))
    return None


def test_core_groups_labels_and_decoding_equal_the_reference_code():
    from pisa_core.tree import GroupAwareRegressionTree, decode_differences, group_bounds, leaf_targets

    rng = np.random.default_rng(0)
    deltas = np.abs(rng.normal(0, 4, size=200))
    group = _authors_groups(deltas.tolist(), depth=5, maximum=30)
    bounds = group_bounds(deltas, num_leaf=16, score_range=30)
    np.testing.assert_allclose(bounds, np.asarray(group))
    scores = np.concatenate([rng.normal(0, 6, size=300), [0.0, -29.9, 29.9]])
    leaf, position = leaf_targets(torch.tensor(scores), torch.tensor(bounds))
    for s, l, p in zip(scores, leaf.tolist(), position.tolist()):
        want = _authors_label(s, group)
        assert want is not None and (l, pytest.approx(p)) == (want[0], want[1])
    # outside every group: the nearest, at the edge
    leaf, position = leaf_targets(torch.tensor([31.0, -30.0]), torch.tensor(bounds))
    assert leaf.tolist() == [15, 0] and position.tolist() == [1.0, 0.0]
    # inference: the argmax group's low + width * its regressed position
    tree = GroupAwareRegressionTree(in_features=9, hidden=4, depth=5)
    with torch.no_grad():
        logp, positions = tree(torch.randn(6, 9))
    assert logp.shape == positions.shape == (6, 16)
    torch.testing.assert_close(logp.exp().sum(dim=1), torch.ones(6))  # leaves of one tree
    got = decode_differences(logp, positions, torch.tensor(bounds))
    for n in range(6):
        lo, hi = group[int(logp[n].argmax())]
        assert float(got[n]) == pytest.approx(lo + (hi - lo) * float(positions[n, int(logp[n].argmax())]))


# -- one training step of each method config ---------------------------------------------
def _judges(rng: np.random.Generator, difficulty: float):
    judges = rng.integers(10, 20, size=7) / 2.0  # 5.0 .. 9.5 in steps of 0.5
    return difficulty, float(np.sort(judges)[2:5].sum() * difficulty), judges.tolist()


@pytest.fixture(scope="module")
def mtl_root(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("mtl_methods")
    train = [_judges(rng, d) for d in (2.0, 2.0, 3.0, 3.0, 3.0, 2.0)]
    test = [_judges(rng, d) for d in (2.0, 3.0, 3.0)]
    write_mtl_aqa(root, train, test, ("final_annotations_dict.pkl", "augmented_final_annotations_dict.pkl"))
    return root


def _tiny(method: str, **extra):
    """Options that shrink a method config to the generated data: 2 clips of 4 frames at
    16x16, a two-block C3D, narrow heads, batches of 2, no DataLoader workers."""
    backbone = "model.backbone" if method == "core" else "model.video_backbone"
    options = {f"{backbone}.widths": (4, 8), f"{backbone}.feature_dim": 16,
               f"{backbone}.clip_len": 4, f"{backbone}.size": 16,
               "train_cfg.max_epochs": 1, "default_hooks.logger.interval": 1}
    for loader in ("train_dataloader", "test_dataloader"):
        options.update({f"{loader}.num_workers": 0, f"{loader}.batch_size": 2,
                        f"{loader}.dataset.clip_sampler.num_clips": 2, f"{loader}.dataset.clip_sampler.clip_len": 4,
                        f"{loader}.dataset.pipeline.1.size": (16, 16), f"{loader}.dataset.check_media": False})
    if method == "core":
        options.update({"model.tree_hidden": 8, "model.tree_depth": 3,
                        "test_dataloader.dataset.num_exemplars": 3})
    else:
        options["model.head.hidden"] = (8,)
    options.update(extra)
    return options


def _train_step_and_predict(config: Path, root: Path, method: str) -> list:
    """Build the config's model and datasets on ``root``, train one optimiser step (CoRe:
    two batches, its gradients accumulate over two) and check every part learnt; returns
    the predictions on the whole test split."""
    from mmengine.registry import init_default_scope

    init_default_scope("pisa")
    cfg = load_config(config, _tiny(method), str(root))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    if method == "core":  # what CoReGroupHook does before training
        model.set_groups(train.pair_differences(divide_by=model.divide_by))
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    for step in range(int(cfg.optim_wrapper.get("accumulative_counts", 1))):
        log_vars = model.train_step(default_collate([train[(2 * step + i) % len(train)] for i in range(2)]), optim)
        assert all(np.isfinite(float(v)) for v in log_vars.values())
    changed = {k.split(".")[0] for k, v in model.named_parameters() if not torch.equal(v, before[k])}
    assert ({"backbone", "tree"} if method == "core" else {"video_backbone", "heads"}) <= changed, changed
    test = DATASETS.build(cfg.test_dataloader.dataset)
    preds = model.val_step(default_collate([test[i] for i in range(len(test))]))
    assert len(preds) == len(test)
    assert all(p["pred_label"] == -1 and np.isfinite(p["pred_score"]) for p in preds)
    return preds


@pytest.mark.parametrize("method", sorted(CONFIGS))
def test_one_training_step_of_each_method_config(method, mtl_root):
    preds = _train_step_and_predict(CONFIGS[method], mtl_root, method)
    if method == "core":  # each test dive's difficulty has 3 training dives: 3 voters
        assert [len(p["votes"]) for p in preds] == [3, 3, 3]
        np.testing.assert_allclose([p["pred_score"] for p in preds], [np.mean(p["votes"]) for p in preds])


@pytest.fixture(scope="module")
def aqa_roots(tmp_path_factory) -> dict:
    from aqa_layouts import make_score_roots

    return make_score_roots(tmp_path_factory.mktemp, frames=8)


OTHER_CONFIGS = sorted(p for folder in ("usdl", "musdl", "core") for p in (REPO / "configs" / folder).glob("*.py")
                       if not p.name.startswith("_") and "mtl-aqa" not in p.name and "_c3d_" in p.name)


@pytest.mark.parametrize("config", OTHER_CONFIGS, ids=[p.name for p in OTHER_CONFIGS])
def test_method_configs_over_the_other_datasets_train_a_step(config, aqa_roots):
    dataset = next(name for name in ("aqa7", "finediving", "jigsaws") if f"_{name}-" in config.name)
    preds = _train_step_and_predict(config, aqa_roots[dataset], config.parent.name)
    if config.parent.name == "core":  # every test sample votes with training exemplars only
        assert all(1 <= len(p["votes"]) <= 3 for p in preds)


def test_core_config_trains_and_tests_through_the_runner(mtl_root, tmp_path):
    from pisa.engine.runner import RunOptions, train
    from pisa.io.safe_load import load_checkpoint_file

    results = train(CONFIGS["core"], RunOptions(work_dir=str(tmp_path), data_root=str(mtl_root),
                                                cfg_options=_tiny("core")))
    assert set(results["test_metrics"]) >= {"spearman", "rl2"}
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["test_metrics"] == results["test_metrics"]
    state = load_checkpoint_file(results["checkpoint"], map_location="cpu")["state_dict"]
    bounds = state["group_bounds"]  # CoReGroupHook built them; the checkpoint carries them
    assert not torch.isnan(bounds).any() and bounds[-1, 1] == 30.0 and bounds[0, 0] == -30.0


# -- the methods in their papers' settings, over I3D ---------------------------------------
I3D_CONFIGS = sorted(p for folder in ("usdl", "musdl", "core") for p in (REPO / "configs" / folder).glob("*_i3d_*.py"))


def _small_pixels(cfg) -> None:
    """Every frame size of the config's pipelines scaled so its crop is 32 x 32 (the
    smallest input I3D takes): the papers' crops are 224 or 112, which a CPU test step
    need not pay for. Everything else (sampling, transforms, model) stays as shipped."""
    crops = [min(t["size"]) for loader in ("train_dataloader", "test_dataloader")
             for t in cfg[loader].dataset.pipeline
             if t["type"] == "RandomCrop" or (t["type"] == "CropResize" and t.get("resize"))]
    scale = 32 / min(crops)
    for loader in ("train_dataloader", "test_dataloader"):
        for t in cfg[loader].dataset.pipeline:
            for key in ("size", "resize"):
                if t.get(key):
                    t[key] = tuple(int(np.ceil(v * scale)) for v in t[key])


@pytest.mark.parametrize("config", I3D_CONFIGS, ids=[p.name for p in I3D_CONFIGS])
def test_each_i3d_paper_config_trains_a_step_from_a_stand_in_weights_file(config, mtl_root, aqa_roots,
                                                                        tmp_path, monkeypatch):
    """One optimiser step of each paper-setting config on a generated release layout, its
    I3D loaded from a stand-in file in the layout the config's method shipped (CoRe's
    model_rgb.pth names for CoRe, pytorch-i3d's for USDL/MUSDL)."""
    from i3d_manifests import CORE, PIERGIAJ, stand_in_file
    from mmengine.registry import init_default_scope

    init_default_scope("pisa")
    method = config.parent.name
    layout = CORE if method == "core" else PIERGIAJ
    weights = stand_in_file(tmp_path / "weights.pth", layout)
    monkeypatch.setenv("PISA_BACKBONE_WEIGHTS", str(tmp_path / "weights.pth"))
    root = mtl_root if "_mtl-aqa-" in config.name else aqa_roots["finediving"]
    options = {"train_dataloader.batch_size": 2, "train_dataloader.num_workers": 0,
               "test_dataloader.num_workers": 0, "train_dataloader.dataset.check_media": False,
               "test_dataloader.dataset.check_media": False}
    if method == "core":
        options.update({"test_dataloader.dataset.num_exemplars": 3})
    cfg = load_config(config, options, str(root))
    _small_pixels(cfg)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    backbone = model.backbone if method == "core" else model.video_backbone
    stem = "conv3d_1a_7x7.conv3d.weight" if method == "core" else "Conv3d_1a_7x7.conv3d.weight"
    assert torch.equal(backbone.Conv3d_1a_7x7.conv3d.weight, weights[stem])  # the file's tensors
    assert type(backbone).__name__ == "I3D" and backbone.out_features == 1024
    train = DATASETS.build(cfg.train_dataloader.dataset)
    sample = train[0]
    clips = sample["inputs"]["video"]
    sampler = cfg.train_dataloader.dataset.clip_sampler
    assert clips.shape[:3] == (len(sampler.starts), 3, sampler.clip_len) and clips.shape[-2:] == (32, 32)
    if method == "core":
        model.set_groups(train.pair_differences(divide_by=model.divide_by))
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    for step in range(int(cfg.optim_wrapper.get("accumulative_counts", 1))):
        batch = default_collate([train[(2 * step + i) % len(train)] for i in range(2)])
        assert all(np.isfinite(float(torch.as_tensor(v).detach())) for v in model.train_step(batch, optim).values())
    changed = {k.split(".")[0] for k, v in model.named_parameters() if not torch.equal(v, before[k])}
    assert ({"backbone", "tree"} if method == "core" else {"video_backbone", "heads"}) <= changed, changed
    test = DATASETS.build(cfg.test_dataloader.dataset)
    preds = model.val_step(default_collate([test[i] for i in range(min(2, len(test)))]))
    assert all(np.isfinite(p["pred_score"]) for p in preds)


@pytest.mark.parametrize("config,pil_size,crop", [
    # torchvideotransforms' Resize((455, 256)) on PIL frames: PIL size (w, h) = (256, 455)
    ("core/core_i3d_1xb1-16x1x10-200e_mtl-aqa-video-score.py", (256, 455), 224),
    # MUSDL: image.resize(input_resize = (455, 256)), PIL's (w, h)
    ("usdl/usdl_i3d_1xb4-16x1x10-100e_mtl-aqa-video-score.py", (455, 256), 224),
    ("musdl/musdl_i3d_1xb4-16x1x9-100e_finediving-video-score.py", (112, 200), 112),
    ("core/core_i3d_1xb8-16x1x9-200e_finediving-video-score.py", (112, 200), 112),
])
def test_i3d_configs_resize_and_crop_as_the_reference_loaders(config, pil_size, crop):
    """The test pipeline's frames against the reference's PIL resize and centre crop
    (bilinear both; PIL's and cv2's bilinear differ by rounding, so a tolerance)."""
    from PIL import Image
    from torchvision.transforms import functional as TF

    from pisa.registry import TRANSFORMS

    cfg = load_config(REPO / "configs" / config)
    resize = next(t for t in cfg.test_dataloader.dataset.pipeline if t["type"] == "CropResize")
    y, x = np.mgrid[0:180, 0:320]  # a smooth 320 x 180 frame, not symmetric
    frame = np.stack([(x * 0.7) % 256, (y * 1.3) % 256, (x + y) * 0.4 % 256], axis=-1).astype(np.uint8)
    got = TRANSFORMS.build(resize)({"imgs": frame[None, None], "sample_id": "s"})["imgs"][0, 0]
    ref = np.asarray(TF.center_crop(Image.fromarray(frame).resize(pil_size, Image.BILINEAR), crop))
    assert got.shape == ref.shape == (crop, crop, 3)
    assert np.abs(got.astype(float) - ref.astype(float)).mean() < 4.0
