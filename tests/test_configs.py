"""Every config builds (model, datasets, metrics), the six Table 1 configs differ only in
modality and sampling, and the configs README lists them all."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Dict

import pytest
from engine_helpers import REPO, render_tiny_dataset
from pisa.registry import DATASETS, METRICS, MODELS

from pisa.engine.config_loader import load_config

CONFIG_DIR = REPO / "configs"
CONFIGS = sorted(
    p for p in CONFIG_DIR.rglob("*.py") if "_base_" not in p.parts and not p.name.startswith("_")
)
TABLE1 = {
    (m, s): CONFIG_DIR / "pisa" / f"pisa_{b}_1xb4-16x1x10-100e_pisa-{m}-{s}.py"
    for m, b in (("video", "c3d"), ("audio", "r18"), ("multimodal", "c3d-r18"))
    for s in ("unidist", "consecutive")
}
LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    return render_tiny_dataset(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="module")
def mtl_aqa_root(tmp_path_factory) -> Path:
    """MTL-AQA annotation pickles (difficulty and the seven judges' scores included, and
    MUSDL's augmented annotation file) for six dives, two of each difficulty in train."""
    import numpy as np
    from media import make_video

    root = tmp_path_factory.mktemp("mtl_aqa")
    make_video(root / "01.mp4", frames=80, size=(64, 48))
    judges = np.array([6.0, 6.5, 7.0, 7.0, 7.5, 8.0, 8.5])
    dives = {
        (1, i): {"start_frame": 6 * i, "end_frame": 6 * i + 40, "final_score": 40.0 + i,
                 "difficulty": 2.0 + i % 2, "judge_scores": judges}
        for i in range(6)
    }
    for name, obj in (
        ("final_annotations_dict.pkl", dives),
        ("augmented_final_annotations_dict.pkl", dives),
        ("train_split_0.pkl", [(1, i) for i in range(4)]),
        ("test_split_0.pkl", [(1, 4), (1, 5)]),
    ):
        (root / name).write_bytes(pickle.dumps(obj, protocol=3))
    return root


@pytest.fixture(scope="module")
def score_roots(tmp_path_factory) -> Dict[str, Path]:
    """AQA-7 (all six actions), FineDiving and JIGSAWS in their released layouts."""
    from aqa_layouts import make_score_roots

    return make_score_roots(tmp_path_factory.mktemp, actions=(
        "diving", "gym_vault", "ski_big_air", "snowboard_big_air", "sync_diving_3m",
        "sync_diving_10m"))


@pytest.fixture(scope="module")
def ucf101_root(tmp_path_factory) -> Path:
    from media import make_ucf101_tree

    root = tmp_path_factory.mktemp("ucf101")
    make_ucf101_tree(root)
    return root


#: the dataset token of a config's name (configs/README.md naming) -> its data root's key
DATASET_TOKENS = {"_mtl-aqa-": "mtl_aqa", "_aqa7-": "aqa7", "_finediving-": "finediving",
                  "_jigsaws-": "jigsaws"}


def _data_root(config: Path, tmp_path: Path, roots: Dict[str, Path]) -> Path:
    for token, key in DATASET_TOKENS.items():
        if token in config.name:
            return roots[key]
    # PISA: the shipped table and no media
    return roots.get(config.relative_to(CONFIG_DIR).parts[0], tmp_path)


def test_there_are_configs_for_every_table1_cell_and_the_ablations():
    assert all(path.is_file() for path in TABLE1.values()), [
        p.name for p in TABLE1.values() if not p.is_file()
    ]
    assert len(list((CONFIG_DIR / "pisa" / "ablations").glob("*.py"))) >= 6


@pytest.mark.parametrize("config", CONFIGS, ids=[str(p.relative_to(CONFIG_DIR)) for p in CONFIGS])
def test_config_builds(config, tmp_path, synthetic_root, mtl_aqa_root, ucf101_root, score_roots,
                       monkeypatch):
    from mmengine.registry import init_default_scope

    init_default_scope("pisa")
    roots = {"synthetic": synthetic_root, "mtl_aqa": mtl_aqa_root, "pretrain": ucf101_root,
             **score_roots}
    root = _data_root(config, tmp_path, roots)
    if root == mtl_aqa_root:
        monkeypatch.setenv("MTL_AQA_DATA_ROOT", str(root))
    if config.relative_to(CONFIG_DIR).parts[0] == "aqa_csv":
        # the one-CSV route: the synthetic set's generic annotation file
        root = synthetic_root
        monkeypatch.setenv("AQA_ANN_FILE", str(synthetic_root / "annotations.csv"))
    cfg = load_config(config, data_root=str(root))
    backbone_key = "backbone" if "backbone" in cfg.model else "video_backbone"
    pretrained = (cfg.model.get(backbone_key) or {}).get("pretrained")
    if pretrained:  # a backbone loaded from $PISA_BACKBONE_WEIGHTS: give it a weights file
        import torch

        from pisa.registry import BACKBONES

        backbone_cfg = dict(cfg.model[backbone_key], pretrained=None)
        torch.save(BACKBONES.build(backbone_cfg).state_dict(), tmp_path / "backbone.pth")
        monkeypatch.setenv("PISA_BACKBONE_WEIGHTS", str(tmp_path / "backbone.pth"))
        cfg = load_config(config, data_root=str(root))
    for name in LOADERS:
        if cfg.get(name) is None:
            continue
        if "features" in config.parts:
            # a feature dataset needs extracted features (or GDLT's released files):
            # tests/test_features.py and tests/test_long_form.py build those; here the
            # dataset type must at least be a registered one
            assert DATASETS.get(cfg[name].dataset.type) is not None
            continue
        if "pisa" in config.parts:
            # no PISA media here: build the datasets from the annotations alone
            cfg[name].dataset.check_media = False
        sampler = cfg[name].dataset.get("clip_sampler") or {}
        if root == synthetic_root and sampler.get("num_clips", 1) * sampler.get("clip_len", 1) > 48:
            # the fixture's performances are 2 s (53-60 frames): shorter clips, same pipeline
            sampler["clip_len"] = 48 // sampler["num_clips"]
        dataset = DATASETS.build(cfg[name].dataset)
        assert len(dataset) > 0, f"{name} of {config.name} is empty"
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    if hasattr(model, "heads"):
        assert set(model.heads) == set(cfg.model.branches)
    for name in ("val_evaluator", "test_evaluator"):
        if cfg.get(name) is not None:
            METRICS.build(cfg[name])
    hooks = cfg.default_hooks
    assert hooks.checkpoint.type == "AtomicCheckpointHook"
    if hooks.checkpoint.get("save_best"):
        assert cfg.get("val_dataloader") is not None


def test_table1_sample_counts_match_the_released_annotations(tmp_path):
    from mmengine.registry import init_default_scope

    init_default_scope("pisa")
    for (modality, sampling), config in TABLE1.items():
        if modality != "video":
            continue
        cfg = load_config(
            config, {f"{n}.dataset.check_media": False for n in LOADERS}, str(tmp_path)
        )
        sizes = {n: len(DATASETS.build(cfg[n].dataset)) for n in LOADERS}
        assert sizes["train_dataloader"] + sizes["val_dataloader"] == 516, (sampling, sizes)
        assert sizes["test_dataloader"] == 476, (sampling, sizes)


def _flatten(node: Any, prefix: str = "") -> Dict[str, Any]:
    if isinstance(node, dict):
        out: Dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(node, (list, tuple)) and any(isinstance(v, (dict, list, tuple)) for v in node):
        out = {}
        for i, value in enumerate(node):
            out.update(_flatten(value, f"{prefix}[{i}]"))
        return out
    return {prefix: node}


def _table1(modality: str, sampling: str) -> Dict[str, Any]:
    cfg = load_config(TABLE1[(modality, sampling)])
    return _flatten(cfg._cfg_dict.to_dict())


def _diff(a: Dict[str, Any], b: Dict[str, Any]) -> set:
    return {k for k in set(a) | set(b) if a.get(k, "<absent>") != b.get(k, "<absent>")}


SAMPLING_KEYS = ("scheme", "clip_sampler")
MODALITY_KEYS = ("model.", "pipeline", "modalities")


@pytest.mark.parametrize("modality", ["video", "audio", "multimodal"])
def test_table1_sampling_cells_differ_only_in_sampling(modality):
    diff = _diff(_table1(modality, "unidist"), _table1(modality, "consecutive"))
    assert diff, "the two sampling schemes must differ"
    assert all(any(k in key for k in SAMPLING_KEYS) for key in diff), sorted(diff)
    assert any(key.endswith("scheme") for key in diff)


@pytest.mark.parametrize("sampling", ["unidist", "consecutive"])
def test_table1_modality_cells_differ_only_in_modality(sampling):
    cells = {m: _table1(m, sampling) for m in ("video", "audio", "multimodal")}
    for a, b in (("video", "audio"), ("video", "multimodal"), ("audio", "multimodal")):
        diff = _diff(cells[a], cells[b])
        assert all(any(k in key for k in MODALITY_KEYS) for key in diff), (a, b, sorted(diff))
        assert any(key.startswith("model.") for key in diff)


@pytest.mark.parametrize(
    "cell", sorted(TABLE1), ids=lambda c: f"{c[0]}-{c[1]}" if isinstance(c, tuple) else c
)
def test_table1_cells_use_the_papers_settings(cell):
    cfg = load_config(TABLE1[cell])
    assert cfg.optim_wrapper.optimizer.type == "Adam" and cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.train_cfg.max_epochs == 100
    assert all(cfg[n].batch_size == 4 for n in LOADERS)
    assert [(loss.type, loss.weight) for loss in cfg.model.losses] == [
        ("CrossEntropyLoss", 1.0),
        ("L1L2Loss", 0.1),
    ]
    sampler = cfg.train_dataloader.dataset.clip_sampler
    assert (sampler.num_clips, sampler.clip_len) == (10, 16)
    assert cfg.default_hooks.checkpoint.save_best == "accuracy"
    assert cfg.val_dataloader.dataset.split == "val" and cfg.test_dataloader.dataset.split == "test"


def test_run_config_stacks_batches_as_the_sample_contract_says(tmp_path):
    from pisa.engine.runner import RunOptions, build_run_config

    cfg = build_run_config(TABLE1[("multimodal", "unidist")], RunOptions(work_dir=str(tmp_path)))
    assert all(cfg[n].collate_fn == {"type": "default_collate"} for n in LOADERS)
    assert cfg.work_dir == str(tmp_path) and cfg.randomness.seed == 0
    assert any(h["type"] == "EpochSeedHook" for h in cfg.custom_hooks)


def test_configs_readme_lists_every_config():
    readme = (CONFIG_DIR / "README.md").read_text()
    missing = [str(p.relative_to(CONFIG_DIR)) for p in CONFIGS if p.name not in readme]
    assert not missing, missing


def test_a_dataloader_without_collate_fn_is_refused_naming_the_key(tmp_path):
    from pisa.engine.runner import RunOptions, build_run_config
    from pisa.engine.validate import ConfigError

    config = tmp_path / "no_collate.py"
    tiny = REPO / "configs" / "synthetic" / "tiny_c3d_adam-1e-3_2e_synthetic-video-unidist.py"
    config.write_text(f"_base_ = [{str(tiny)!r}]\nval_dataloader = dict(collate_fn=None)\n")
    with pytest.raises(ConfigError, match=r"no_collate\.py: val_dataloader\.collate_fn: missing; "
                                          r".*collate_fn=dict\(type='default_collate'\)"):
        build_run_config(config, RunOptions(work_dir=str(tmp_path)))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_config_lists_the_hooks_a_run_relies_on(config):
    # nothing is added behind a config's back: crash-safe checkpoints, exact resume and
    # the bad-sample report come from the hooks it lists
    from pisa.engine.config_loader import load_config

    cfg = load_config(config)
    assert cfg.default_hooks.checkpoint.type == "AtomicCheckpointHook"
    assert {"EpochSeedHook", "BadSampleHook"} <= {h["type"] for h in cfg.custom_hooks}
