"""Learning from small datasets: the regularisation presets (each changes what it says
in the merged config and nothing else), early stopping recorded in results.json, nested
training fractions (grouped, stratified, reproducible, val/test untouched) and the
learning curve of ``pisa train --train-fraction``."""

from __future__ import annotations

import ast
import json
import math
import random
import struct
from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest
from engine_helpers import REPO, TINY_CONFIG, render_tiny_dataset, tiny_train_args
from test_configs import _diff, _flatten

from pisa.cli import main
from pisa.data.core.splits import nested_fraction, performer_of
from pisa.engine.config_loader import load_config
from pisa.engine.validate import ConfigError

CONFIGS = REPO / "configs"
PRESETS = CONFIGS / "_base_" / "regularisation"
RUNTIME = CONFIGS / "_base_" / "default_runtime.py"
SCHEDULE = CONFIGS / "_base_" / "schedules" / "adam_1e-4_100e.py"
MODEL = CONFIGS / "_base_" / "models" / "pisa_multimodal.py"
SMALLDATA = CONFIGS / "synthetic" / "pisa_c3d-r18-small-smalldata_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py"
CSV_SMALLDATA = CONFIGS / "_base_" / "datasets" / "aqa_csv_smalldata.py"


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return render_tiny_dataset(tmp_path_factory.mktemp("tiny"))


def swap_base(config: Path, swaps: Dict[Path, Path], out: Path, body: str = "") -> Path:
    """Write ``config`` to ``out`` with its ``_base_`` entries as absolute paths, each
    base in ``swaps`` replaced by its value (the one-line change a preset is used by),
    and ``body`` appended."""
    text = config.read_text()
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.Assign)
                and getattr(n.targets[0], "id", None) == "_base_")
    bases = [(config.parent / b).resolve() for b in ast.literal_eval(node.value)]
    swaps = {old.resolve(): new for old, new in swaps.items()}
    missing = [old for old in swaps if old not in bases]
    assert not missing, f"{config.name} does not list {missing}"
    bases = [swaps.get(b, b) for b in bases]
    new = "_base_ = [" + ", ".join(repr(str(b)) for b in bases) + "]"
    out.write_text(text.replace(ast.get_source_segment(text, node), new) + "\n" + body)
    return out


def flat(config: Path, **kwargs) -> Dict:
    return _flatten(load_config(config, **kwargs)._cfg_dict.to_dict())


# -- presets ----------------------------------------------------------------------------

def test_each_preset_changes_what_it_says_over_the_base_it_wraps_and_nothing_else():
    expected = {
        "adamw_wd-1e-2.py": (SCHEDULE, {
            "optim_wrapper.optimizer.type": ("Adam", "AdamW"),
            "optim_wrapper.optimizer.weight_decay": ("<absent>", 0.01),
            "optim_wrapper.paramwise_cfg.bias_decay_mult": ("<absent>", 0.0),
            "optim_wrapper.paramwise_cfg.norm_decay_mult": ("<absent>", 0.0)}),
        "head-dropout-0.5.py": (MODEL, {"model.head.dropout": (0.0, 0.5)}),
        "label-smoothing-0.1.py": (MODEL, {"model.losses[0].label_smoothing": ("<absent>", 0.1)}),
    }
    for name, (base, changes) in expected.items():
        before, after = flat(base), flat(PRESETS / name)
        got = {k: (before.get(k, "<absent>"), after.get(k, "<absent>")) for k in _diff(before, after)}
        assert got == changes, name
    # the other loss of the list and the weights stay as the model has them
    assert load_config(PRESETS / "label-smoothing-0.1.py").model.losses[1] == \
        load_config(MODEL).model.losses[1]


def test_early_stopping_extends_the_runtime_hooks_and_monitors_the_selection_metric(tmp_path):
    swapped = swap_base(TINY_CONFIG, {RUNTIME: PRESETS / "early-stopping.py"}, tmp_path / "c.py")
    plain, early = load_config(TINY_CONFIG), load_config(swapped)
    n = len(plain.custom_hooks)
    assert _diff(_flatten(plain._cfg_dict.to_dict()), _flatten(early._cfg_dict.to_dict())) == {
        f"custom_hooks[{n}].{k}" for k in ("type", "monitor", "rule", "min_delta", "patience", "strict")}
    assert early.custom_hooks[:n] == plain.custom_hooks  # every runtime hook stays
    hook = early.custom_hooks[n]
    assert hook.type == "ResumableEarlyStoppingHook"
    assert (hook.monitor, hook.rule) == (plain.default_hooks.checkpoint.save_best,
                                         plain.default_hooks.checkpoint.rule)


def test_small_data_schedule_is_adamw_with_warmup_cosine_and_fewer_epochs():
    adamw, small = flat(PRESETS / "adamw_wd-1e-2.py"), load_config(PRESETS / "small-data.py")
    changed = _diff(adamw, _flatten(small._cfg_dict.to_dict()))
    assert all(k.startswith(("param_scheduler", "train_cfg.max_epochs", "optim_wrapper.optimizer.lr"))
               for k in changed), sorted(changed)
    assert small.optim_wrapper.optimizer.type == "AdamW"
    assert small.optim_wrapper.optimizer.lr < load_config(SCHEDULE).optim_wrapper.optimizer.lr
    assert small.train_cfg.max_epochs < load_config(SCHEDULE).train_cfg.max_epochs
    warmup, cosine = small.param_scheduler
    assert (warmup.type, cosine.type) == ("LinearLR", "CosineAnnealingLR")
    assert "end" not in cosine and "T_max" not in cosine  # ends at the run's max_epochs


def test_a_preset_keeps_the_lr_of_the_config_it_is_swapped_into(tmp_path):
    # the tiny config sets lr 1e-3 in its body; AdamW in place of its schedule keeps it
    swapped = swap_base(TINY_CONFIG, {SCHEDULE: PRESETS / "adamw_wd-1e-2.py"}, tmp_path / "c.py")
    before, after = flat(TINY_CONFIG), flat(swapped)
    assert {k for k in _diff(before, after)} == {
        "optim_wrapper.optimizer.type", "optim_wrapper.optimizer.weight_decay",
        "optim_wrapper.paramwise_cfg.bias_decay_mult", "optim_wrapper.paramwise_cfg.norm_decay_mult"}
    assert after["optim_wrapper.optimizer.lr"] == before["optim_wrapper.optimizer.lr"] == 1e-3


def test_a_preset_beside_the_base_it_changes_is_refused_by_mmengine(tmp_path):
    # why presets inherit the base they change: two bases may not define one key
    config = tmp_path / "beside.py"
    config.write_text(f"_base_ = [{str(SCHEDULE)!r}, {str(PRESETS / 'adamw_wd-1e-2.py')!r}]\n")
    with pytest.raises(ConfigError, match="Duplicate key"):
        load_config(config)


def test_smalldata_configs_use_the_presets(tiny_root, tmp_path):
    from mmengine.registry import init_default_scope

    from pisa.registry import DATASETS, MODELS

    init_default_scope("pisa")
    cfg = load_config(SMALLDATA, data_root=str(tiny_root))
    assert cfg.optim_wrapper.optimizer.type == "AdamW"
    assert cfg.model.head.dropout == 0.5 and cfg.model.losses[0].label_smoothing == 0.1
    assert [h.type for h in cfg.custom_hooks] == [
        "EpochSeedHook", "BadSampleHook", "DataWaitHook", "AQAReportHook", "CalibrationHook",
        "BaselineComparisonHook", "ResumableEarlyStoppingHook"]
    sample = DATASETS.build(cfg.train_dataloader.dataset)[0]  # the augmentations run
    assert sample["inputs"]["video"].shape[-2:] == tuple(cfg.frame_size)
    assert MODELS.build(cfg.model).heads["multimodal"].fc[2].p == 0.5

    csv = tmp_path / "ann.csv"
    csv.write_text("id,split,video,target\n")
    csv_cfg = load_config(CSV_SMALLDATA, {"train_dataloader.dataset.ann_file": str(csv)})
    assert csv_cfg.train_dataloader.dataset.type == "AQACSVDataset"
    assert csv_cfg.model.losses[0].label_smoothing == 0.1 and csv_cfg.model.head.dropout == 0.5
    assert csv_cfg.optim_wrapper.optimizer.type == "AdamW"
    assert any(h.type == "ResumableEarlyStoppingHook" for h in csv_cfg.custom_hooks)
    assert csv_cfg.val_dataloader.dataset.pipeline == load_config(
        CONFIGS / "_base_" / "datasets" / "aqa_csv.py").val_dataloader.dataset.pipeline
    MODELS.build(csv_cfg.model)


# -- nested fractions --------------------------------------------------------------------

def _perfs(seed: int = 0) -> List[Dict]:
    """30 performances over 4 levels (12, 8, 6, 4), some performers with two."""
    rng = random.Random(seed)
    perfs = []
    for level, n in enumerate((12, 8, 6, 4)):
        for i in range(n):
            performer = f"L{level}-p{i // 2}" if i < 4 else f"L{level}-solo{i}"
            perfs.append(dict(perf_id=f"{level}-{i}", label=level, performer=performer))
    rng.shuffle(perfs)
    return perfs


def ids(perfs: List[Dict]) -> set:
    return {p["perf_id"] for p in perfs}


def test_nested_fraction_is_nested_grouped_stratified_and_reproducible():
    perfs = _perfs()
    by_performer = Counter(performer_of(p) for p in perfs)
    levels = Counter(p["label"] for p in perfs)
    for seed in (0, 1, 2):
        subsets = [nested_fraction(perfs, f, seed) for f in (0.25, 0.5, 0.75, 1.0)]
        assert ids(subsets[-1]) == ids(perfs)
        for small, large in zip(subsets, subsets[1:]):
            assert ids(small) < ids(large)  # nested
        for f, subset in zip((0.25, 0.5, 0.75), subsets):
            assert len(subset) >= math.ceil(f * len(perfs))
            taken = Counter(performer_of(p) for p in subset)
            assert all(taken[g] == by_performer[g] for g in taken)  # whole performers
            got = Counter(p["label"] for p in subset)
            for level, n in levels.items():  # each level about its share (2 = a performer)
                assert abs(got[level] - f * n) <= 2, (seed, f, level, got)
        # the same performances in another order: the same subset, in their order
        shuffled = _perfs(seed=7)
        again = nested_fraction(shuffled, 0.5, seed)
        assert ids(again) == ids(subsets[1])
        assert [p["perf_id"] for p in again] == [p["perf_id"] for p in shuffled if p["perf_id"] in ids(again)]
    assert len({frozenset(ids(nested_fraction(perfs, 0.5, s))) for s in range(5)}) > 1


@pytest.mark.parametrize("bad", [0, 0.0, -0.5, 1.5, True, "0.5", None])
def test_nested_fraction_refuses_a_fraction_outside_0_1(bad):
    with pytest.raises(ValueError, match=r"train_fraction must be a number in \(0, 1\]"):
        nested_fraction(_perfs(), bad)


def _split_ids(tiny_root: Path, split: str, **kwargs) -> List[str]:
    from pisa.registry import DATASETS

    cfg = load_config(TINY_CONFIG, data_root=str(tiny_root))
    dataset = DATASETS.build(dict(cfg[f"{split}_dataloader"].dataset, check_media=False, **kwargs))
    return [p["perf_id"] for p in dataset.performances]


def test_train_fraction_cuts_only_the_training_split_of_a_dataset(tiny_root):
    full = {s: _split_ids(tiny_root, s) for s in ("train", "val", "test")}
    for seed in (0, 1):
        cut = {s: _split_ids(tiny_root, s, train_fraction=0.5, train_fraction_seed=seed)
               for s in ("train", "val", "test")}
        assert cut["val"] == full["val"] and cut["test"] == full["test"]
        assert set(cut["train"]) < set(full["train"])
        assert len(cut["train"]) == math.ceil(0.5 * len(full["train"]))
    with pytest.raises(ValueError, match=r"PISADataset: train_fraction must be a number in \(0, 1\]"):
        _split_ids(tiny_root, "train", train_fraction=1.5)


# -- training runs -----------------------------------------------------------------------

def _val_steps(work_dir: Path) -> List[int]:
    scalars = next(work_dir.rglob("vis_data/scalars.json"))
    rows = [json.loads(line) for line in scalars.read_text().splitlines() if line.strip()]
    return [r["step"] for r in rows if not any(k.startswith("loss") for k in r)]


def test_early_stopping_ends_the_run_and_results_json_says_so(tiny_root, tmp_path):
    # min_delta=2 on an accuracy in [0, 1]: no validation can beat the first by that much,
    # so with patience=1 the second one stops training, whatever the model learns
    body = ("custom_hooks = [dict(h, patience=1, min_delta=2.0) if h.type == 'ResumableEarlyStoppingHook'"
            " else h for h in _base_.custom_hooks]\ntrain_cfg = dict(max_epochs=4)\n")
    config = swap_base(TINY_CONFIG, {RUNTIME: PRESETS / "early-stopping.py"},
                       tmp_path / "tiny_early.py", body)
    work = tmp_path / "work"
    args = tiny_train_args(work, tiny_root, "--cfg-options", "log_level=WARNING")
    args[1] = str(config)
    assert main(args) == 0
    results = json.loads((work / "results.json").read_text())
    stop = results["early_stop"]
    assert stop["stopped"] is True and (stop["epoch"], stop["max_epochs"]) == (2, 4)
    assert stop["monitor"] == results["select_metric"] == "accuracy" and stop["patience"] == 1
    assert "did not improve" in stop["reason"]
    # the tested checkpoint is the one selected on val, from an epoch that was trained
    assert results["selected_on"] == "val" and 1 <= results["epoch"] <= stop["epoch"] < 4
    assert Path(results["checkpoint"]).is_file()
    assert not list(work.glob("epoch_3.pth")) and not list(work.glob("epoch_4.pth"))
    assert max(_val_steps(work)) == 2


def test_a_resumed_run_stops_and_selects_where_an_uninterrupted_one_does(tiny_root, tmp_path):
    # patience 2 with an unbeatable min_delta: an uninterrupted run stops after its third
    # validation. Interrupted after epoch 2, the resumed run stops there too only if it
    # keeps the wait count of the epoch-1 validation (saved in the checkpoint) and repeats
    # the epoch-2 validation (run after epoch_2.pth was written); with either missing it
    # would train all 4 epochs.
    body = ("custom_hooks = [dict(h, patience=2, min_delta=2.0) if h.type == "
            "'ResumableEarlyStoppingHook' else h for h in _base_.custom_hooks]\n"
            "train_cfg = dict(max_epochs=4)\n")
    config = swap_base(TINY_CONFIG, {RUNTIME: PRESETS / "early-stopping.py"},
                       tmp_path / "tiny_early.py", body)

    def run(work: Path, *options: str, resume: bool = False) -> dict:
        args = tiny_train_args(work, tiny_root, *(["--resume"] if resume else []),
                               "--cfg-options", "log_level=WARNING", *options)
        args[1] = str(config)
        assert main(args) == 0
        return json.loads((work / "results.json").read_text())

    reference = run(tmp_path / "reference")
    assert reference["early_stop"]["stopped"] and reference["early_stop"]["epoch"] == 3
    run(tmp_path / "resumed", "train_cfg.max_epochs=2")
    resumed = run(tmp_path / "resumed", resume=True)
    assert resumed["flags"]["resume"] is True
    for key in ("stopped", "epoch", "best", "reason"):
        assert resumed["early_stop"][key] == reference["early_stop"][key], key
    # the checkpoint selected on validation is the uninterrupted run's
    assert resumed["epoch"] == reference["epoch"]
    assert resumed["val_metrics"] == reference["val_metrics"]


def png_size(path: Path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_train_fraction_writes_the_learning_curve(tiny_root, tmp_path):
    work = tmp_path / "curve"
    args = tiny_train_args(work, tiny_root, "--train-fraction", "0.5", "1.0", "--seed", "3",
                           "--cfg-options", "train_cfg.max_epochs=1", "log_level=WARNING")
    assert main(args) == 0
    curve = json.loads((work / "learning_curve.json").read_text())
    n_train = len(_split_ids(tiny_root, "train"))
    # the synthetic set has one performance per performer: the counts are exact
    assert [p["fraction"] for p in curve["fractions"]] == [0.5, 1.0] and curve["seeds"] == [3]
    assert [p["train_performances"] for p in curve["fractions"]] == [
        [math.ceil(0.5 * n_train)], [n_train]]
    runs = [json.loads((work / d / "seed3" / "results.json").read_text())
            for d in ("fraction0.5", "fraction1")]
    assert [r["seed"] for r in runs] == [3, 3] and all(r["early_stop"] is None for r in runs)
    # val and test are the same splits; training got fewer samples
    assert runs[0]["split_counts"]["val"] == runs[1]["split_counts"]["val"]
    assert runs[0]["split_counts"]["test"] == runs[1]["split_counts"]["test"]
    samples = [sum(r["split_counts"]["train"].values()) for r in runs]
    assert samples[0] < samples[1] and [p["train_samples"] for p in curve["fractions"]] == [
        [samples[0]], [samples[1]]]
    for point, run in zip(curve["fractions"], runs):
        assert point["test_metrics"]["accuracy"]["values"] == [run["test_metrics"]["accuracy"]]
        assert point["val_metrics"]["accuracy"]["values"] == [run["val_metrics"]["accuracy"]]
    width, height = png_size(work / "learning_curve.png")
    assert width > height > 0


def test_train_fraction_refuses_folds_resume_and_bad_fractions(tiny_root, tmp_path, capsys):
    for extra in (["--train-fraction", "0.5", "--folds", "2"], ["--train-fraction", "0.5", "--resume"],
                  ["--train-fraction", "0", "1"]):
        assert main(tiny_train_args(tmp_path / "w", tiny_root, *extra)) == 2, extra
    err = capsys.readouterr().err
    assert "--folds" in err and "--resume" in err and "(0, 1]" in err
    assert not (tmp_path / "w").exists()


def test_pisa_test_leaves_the_training_only_hooks_out():
    from pisa.engine.runner import RunOptions, build_run_config

    config = REPO / "configs" / "synthetic" / (
        "pisa_c3d-r18-small-smalldata_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py")
    hooks = lambda cfg: [h["type"] for h in cfg.custom_hooks]  # noqa: E731
    assert "ResumableEarlyStoppingHook" in hooks(build_run_config(config, RunOptions(work_dir="w")))
    tested = hooks(build_run_config(config, RunOptions(work_dir="w"), for_training=False))
    assert "ResumableEarlyStoppingHook" not in tested and "EpochSeedHook" in tested
