"""Ordinal training options: the cumulative-link head (OrdinalHead) and the CORAL loss,
class-weighted cross-entropy, and the level-balanced DataLoader sampler, alone and inside
mmengine's Runner, plus the configs that switch them on."""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
import torch
from engine_helpers import REPO, TINY_CONFIG, render_tiny_dataset
from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmengine.hooks import Hook

from pisa.data.core.balanced_sampler import ClassBalancedSampler
from pisa.registry import DATA_SAMPLERS, DATASETS, HEADS, LOSSES, MODELS

ABLATIONS = REPO / "configs" / "pisa" / "ablations"
SYNTHETIC = REPO / "configs" / "synthetic"
PISA_BASE = REPO / "configs" / "pisa" / "pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py"
SMALL_BASE = SYNTHETIC / "pisa_c3d-r18-small_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py"
ORDINAL_CONFIGS = {
    "pisa-coral": (ABLATIONS / "pisa_c3d-r18-coral_1xb4-16x1x10-100e_pisa-multimodal-unidist.py", PISA_BASE),
    "pisa-balanced": (ABLATIONS / "pisa_c3d-r18-balanced_1xb4-16x1x10-100e_pisa-multimodal-unidist.py", PISA_BASE),
    "small-coral": (SYNTHETIC / "pisa_c3d-r18-small-coral_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py", SMALL_BASE),
    "small-balanced": (SYNTHETIC / "pisa_c3d-r18-small-balanced_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py", SMALL_BASE),
}


def _cumulative_class_probs(ordinal: torch.Tensor) -> torch.Tensor:
    """P(y = k) from P(y > k) = sigmoid(ordinal_k), as the CORAL paper derives them."""
    above = torch.sigmoid(ordinal.double())
    ones, zeros = torch.ones_like(above[:, :1]), torch.zeros_like(above[:, :1])
    padded = torch.cat([ones, above, zeros], dim=1)  # P(y > -1) = 1, P(y > C-1) = 0
    return padded[:, :-1] - padded[:, 1:]


def _scrambled_head(num_classes: int = 6, in_features: int = 5) -> torch.nn.Module:
    torch.manual_seed(3)
    head = HEADS.build(dict(type="OrdinalHead", in_features=in_features, hidden=16,
                            num_classes=num_classes))
    with torch.no_grad():  # arbitrary parameters: rank consistency must not rely on the init
        for param in head.parameters():
            param.copy_(torch.randn_like(param) * 3)
    return head.eval()


# ---------------------------------------------------------------- OrdinalHead
def test_ordinal_head_class_probabilities_are_the_cumulative_differences():
    head = _scrambled_head()
    out = head(torch.randn(64, 5))
    assert set(out) == {"cls", "reg", "ordinal"}
    assert out["cls"].shape == (64, 6) and out["ordinal"].shape == (64, 5) and out["reg"].shape == (64,)
    above = torch.sigmoid(out["ordinal"])
    # rank consistency: P(y > k) does not rise with k, for every input
    assert torch.all(above[:, :-1] >= above[:, 1:])
    probs = torch.softmax(out["cls"], dim=1).double()
    assert torch.allclose(probs.sum(dim=1), torch.ones(64, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(probs, _cumulative_class_probs(out["ordinal"]), atol=1e-5)
    # reg is the expected 0-based level, sum_k P(y > k) = sum_k k P(y = k)
    expected_level = (probs * torch.arange(6, dtype=torch.float64)).sum(dim=1)
    assert torch.allclose(out["reg"].double(), expected_level, atol=1e-4)


def test_ordinal_head_saturated_probabilities_stay_finite_and_normalised():
    out = _scrambled_head()(torch.randn(8, 5) * 1e4)
    assert torch.isfinite(out["cls"]).all()
    assert torch.allclose(torch.softmax(out["cls"], dim=1).sum(dim=1), torch.ones(8), atol=1e-6)


def test_ordinal_head_starts_uniform_and_refuses_fewer_than_two_classes():
    head = HEADS.build(dict(type="OrdinalHead", in_features=4, hidden=8, num_classes=5))
    with torch.no_grad():
        head.score.weight.zero_()  # f(x) = 0: the biases alone
    probs = torch.softmax(head(torch.randn(3, 4))["cls"], dim=1)
    assert torch.allclose(probs, torch.full((3, 5), 0.2), atol=1e-6)
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        HEADS.build(dict(type="OrdinalHead", in_features=4, num_classes=1))


# ---------------------------------------------------------------- CoralLoss
LOGITS = torch.tensor([[2.0, 0.5, -1.0, -3.0],
                       [0.3, 0.2, 0.1, -0.4],
                       [4.0, 3.0, 2.5, 1.0],
                       [-1.0, 1.0, 2.0, 3.0],  # labelled -1: ignored
                       [1.5, -0.5, -0.7, -2.0]])
LABELS = torch.tensor([1, 2, 4, -1, 0])


def _paper_coral_loss(logits, labels, task_weights=None):
    """Cao et al. 2020, Eq. 4: -1/N sum_n sum_k w_k [y_nk log s_nk + (1 - y_nk) log(1 - s_nk)],
    y_nk = [label_n > k], s = sigmoid(logits), over labelled samples only."""
    total, count = 0.0, 0
    for row, label in zip(logits.double().tolist(), labels.tolist()):
        if label == -1:
            continue
        count += 1
        for k, z in enumerate(row):
            s = 1.0 / (1.0 + math.exp(-z))
            y = 1.0 if label > k else 0.0
            w = 1.0 if task_weights is None else task_weights[k]
            total -= w * (y * math.log(s) + (1 - y) * math.log(1 - s))
    return total / count


def test_coral_loss_is_the_papers_loss_over_the_labelled_samples():
    head_out = {"cls": torch.zeros(5, 5), "reg": torch.zeros(5), "ordinal": LOGITS.clone().requires_grad_()}
    loss = LOSSES.build(dict(type="CoralLoss", weight=2.0))
    value = loss(head_out, {"label": LABELS, "score": LABELS.float()})
    assert float(value.detach()) == pytest.approx(2.0 * _paper_coral_loss(LOGITS, LABELS), abs=1e-5)
    value.backward()
    assert torch.all(head_out["ordinal"].grad[3] == 0) and head_out["ordinal"].grad[0].abs().sum() > 0

    weights = [0.5, 1.0, 2.0, 0.25]
    weighted = LOSSES.build(dict(type="CoralLoss", importance_weights=weights))
    got = weighted({"ordinal": LOGITS}, {"label": LABELS})
    assert float(got) == pytest.approx(_paper_coral_loss(LOGITS, LABELS, weights), abs=1e-5)
    # the example published with the reference implementation (coral_pytorch.losses.coral_loss)
    published = torch.tensor([[2.1, 1.8, -2.1, -1.8], [1.9, -1., -1.5, -1.3], [1.9, 1.8, 1.7, 1.6]])
    value = LOSSES.build(dict(type="CoralLoss"))({"ordinal": published}, {"label": torch.tensor([2, 1, 4])})
    assert round(float(value), 4) == 0.6920


def test_coral_loss_names_the_missing_cumulative_logits_and_bad_labels():
    loss = LOSSES.build(dict(type="CoralLoss"))
    level_head = HEADS.build(dict(type="LevelHead", in_features=4, hidden=8, num_classes=5))
    with pytest.raises(KeyError, match=r"head_out\['ordinal'\].*OrdinalHead.*head contract"):
        loss(level_head(torch.randn(2, 4)), {"label": torch.tensor([0, 1])})
    with pytest.raises(ValueError, match=r"label 5 is outside the levels 0\.\.4"):
        loss({"ordinal": torch.zeros(2, 4)}, {"label": torch.tensor([5, 1])})
    with pytest.raises(ValueError, match="importance_weights has 3 values.*4 level thresholds"):
        LOSSES.build(dict(type="CoralLoss", importance_weights=[1, 1, 1]))(
            {"ordinal": torch.zeros(2, 4)}, {"label": torch.tensor([0, 1])})


def test_cross_entropy_class_weight_weights_each_sample_by_its_class():
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 3), torch.tensor([0, 0, 0, 1, 2, -1])
    class_weight = [0.2, 1.0, 3.0]
    loss = LOSSES.build(dict(type="CrossEntropyLoss", class_weight=class_weight))
    nll = -torch.log_softmax(logits[:5], dim=1)[torch.arange(5), labels[:5]]
    w = torch.tensor(class_weight)[labels[:5]]
    assert torch.allclose(loss({"cls": logits}, {"label": labels}), (w * nll).sum() / w.sum(), atol=1e-6)
    with pytest.raises(ValueError, match="class_weight has 3 values, the head has 4 classes"):
        loss({"cls": torch.randn(2, 4)}, {"label": torch.tensor([0, 1])})


def test_ordinal_head_and_coral_loss_learn_separable_levels():
    torch.manual_seed(0)
    levels = torch.arange(4).repeat(10)
    feats = torch.stack([levels.float() + 0.1 * torch.randn(40), torch.randn(40), torch.randn(40)], dim=1)
    head = HEADS.build(dict(type="OrdinalHead", in_features=3, hidden=16, num_classes=4))
    losses = [LOSSES.build(dict(type="CoralLoss")), LOSSES.build(dict(type="L1L2Loss", weight=0.1))]
    optimizer = torch.optim.Adam(head.parameters(), lr=0.05)
    targets = {"label": levels, "score": levels.float()}

    def step() -> float:
        optimizer.zero_grad()
        total = sum(loss(head(feats), targets) for loss in losses)
        total.backward()
        optimizer.step()
        return float(total)

    first = step()
    for _ in range(80):
        last = step()
    assert last < 0.3 * first, (first, last)
    with torch.no_grad():
        out = head(feats)
    assert torch.equal(out["cls"].argmax(dim=1), levels)
    assert torch.all((out["reg"] - levels).abs() < 0.5)


# ---------------------------------------------------------------- ClassBalancedSampler
class LevelRecords(BaseDataset):
    """Flat sample records (label, group) in mmengine's serialised data list, no media."""

    def __init__(self, records):
        self._records = records
        super().__init__(serialize_data=True, lazy_init=False)

    def load_data_list(self):
        return [dict(r) for r in self._records]


#: level -> samples of each of its performances: level 0 has 80 of the 118 samples,
#: level 3 one long performance (20 samples) beside three short ones
TOY_LEVELS = {0: [10] * 8, 1: [3, 3], 2: [1], 3: [20, 2, 2, 2], 4: [5]}


def _toy_records(levels=TOY_LEVELS):
    return [dict(label=level, group=f"L{level}P{p}", sample_id=f"L{level}P{p}/{s}")
            for level, perfs in levels.items() for p, n in enumerate(perfs) for s in range(n)]


@pytest.fixture(scope="module")
def toy():
    return LevelRecords(_toy_records())


def _draws(sampler, epochs):
    out = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        out.extend(sampler)
    return out


def test_balanced_sampler_draws_every_level_equally_often(toy):
    records = [toy.get_data_info(i) for i in range(len(toy))]
    assert Counter(r["label"] for r in records)[0] / len(toy) > 0.6  # the toy is imbalanced
    # 100 epochs x 118 draws: a level's share (1/5) has std sqrt(0.2 * 0.8 / 11800) = 0.0037,
    # a level-3 performance's share (1/20 by performance) 0.0020; the tolerances are > 5 std
    for by in ("performance", "sample"):
        sampler = DATA_SAMPLERS.build(dict(type="ClassBalancedSampler", dataset=toy, seed=11, by=by))
        draws = _draws(sampler, 100)
        assert len(draws) == 100 * len(toy)
        level_share = Counter(records[i]["label"] for i in draws)
        for level in TOY_LEVELS:
            assert abs(level_share[level] / len(draws) - 0.2) < 0.02, (by, level_share)
        long_share = sum(records[i]["group"] == "L3P0" for i in draws) / len(draws)
        expected = 0.2 / 4 if by == "performance" else 0.2 * 20 / 26
        assert abs(long_share - expected) < 0.015, (by, long_share, expected)


def test_balanced_sampler_is_reproducible_per_seed_and_epoch(toy):
    def draw(seed, epoch, shuffle=True):
        sampler = ClassBalancedSampler(toy, shuffle=shuffle, seed=seed)
        sampler.set_epoch(epoch)
        return list(sampler)

    assert draw(5, 3) == draw(5, 3)
    assert draw(5, 3) != draw(5, 4) and draw(5, 3) != draw(6, 3)
    unshuffled = draw(5, 0, shuffle=False)
    assert unshuffled == draw(5, 7, shuffle=False) == sorted(unshuffled)


@pytest.mark.parametrize("round_up", [True, False])
def test_balanced_sampler_shards_are_disjoint_and_cover_the_epoch(round_up):
    dataset = LevelRecords(_toy_records({0: [9] * 3, 1: [2], 2: [4, 3], 3: [1]}))  # 37: odd
    whole = ClassBalancedSampler(dataset, seed=2, round_up=round_up, rank=0, world_size=1)
    shards = [ClassBalancedSampler(dataset, seed=2, round_up=round_up, rank=r, world_size=2)
              for r in (0, 1)]
    for epoch in (0, 1):
        for sampler in [whole, *shards]:
            sampler.set_epoch(epoch)
        parts = [list(s) for s in shards]
        assert [len(p) for p in parts] == [len(s) for s in shards]
        assert [len(p) for p in parts] == ([19, 19] if round_up else [19, 18])
        # positions r, r + 2, ... of the one epoch draw: together exactly that draw
        interleaved = [i for pair in zip(*parts) for i in pair] + parts[0][len(parts[1]):]
        assert interleaved[:len(dataset)] == list(whole)
        if round_up:  # the one extra index repeats the draw's first, as DefaultSampler does
            assert interleaved[len(dataset):] == list(whole)[:1]


def test_balanced_sampler_refuses_unlabelled_samples_and_bad_settings(toy):
    unlabelled = LevelRecords([dict(label=-1, group="a", sample_id="a/0"), dict(label=0, group="b")])
    with pytest.raises(ValueError, match=r"1 of 2 samples of LevelRecords have no level \(label -1, first: a/0\)"):
        ClassBalancedSampler(unlabelled, seed=0)
    with pytest.raises(KeyError, match=r"sample 0 of LevelRecords has no \['group'\]"):
        ClassBalancedSampler(LevelRecords([dict(label=0)]), seed=0)
    with pytest.raises(ValueError, match="by must be one of"):
        ClassBalancedSampler(toy, seed=0, by="level")
    with pytest.raises(ValueError, match="rank must be in 0..world_size-1"):
        ClassBalancedSampler(toy, seed=0, rank=2, world_size=2)


class _SampleIds(Hook):
    """Records the sample ids of every training batch."""

    def __init__(self):
        self.ids = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.ids.extend(data_batch["data_samples"]["sample_id"])


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory) -> Path:
    return render_tiny_dataset(tmp_path_factory.mktemp("synth"))


def test_balanced_sampler_feeds_the_runners_training_loop(synthetic_root, tmp_path):
    from mmengine.runner import Runner

    from pisa.engine.runner import RunOptions, build_run_config

    # what `pisa train TINY --seed 1 --cfg-options train_dataloader.sampler.type=...` runs
    options = {"train_dataloader.sampler.type": "ClassBalancedSampler", "train_cfg.max_epochs": 1}
    cfg = build_run_config(TINY_CONFIG, RunOptions(work_dir=str(tmp_path), data_root=str(synthetic_root),
                                                   seed=1, cfg_options=options))
    runner = Runner.from_cfg(cfg)
    seen = _SampleIds()
    runner.register_hook(seen, priority="LOWEST")
    runner.train()
    sampler = runner.train_dataloader.sampler
    assert isinstance(sampler, ClassBalancedSampler) and sampler.seed == 1
    dataset = runner.train_dataloader.dataset
    sampler.set_epoch(0)
    drawn = [BaseDataset.get_data_info(dataset, i)["sample_id"] for i in sampler]
    assert seen.ids == drawn and len(drawn) == len(dataset)


# ---------------------------------------------------------------- configs
def _flat(cfg: Config) -> dict:
    out = {}

    def walk(node, prefix):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else key)
        else:
            out[prefix] = node

    walk(cfg.to_dict(), "")
    return out


@pytest.mark.parametrize("name", sorted(ORDINAL_CONFIGS))
def test_ordinal_configs_change_only_their_option(name):
    config, base = ORDINAL_CONFIGS[name]
    got, want = _flat(Config.fromfile(str(config))), _flat(Config.fromfile(str(base)))
    changed = {k for k in set(got) | set(want) if got.get(k, "<absent>") != want.get(k, "<absent>")}
    if name.endswith("coral"):
        assert changed == {"model.head.type", "model.losses"}
        assert got["model.head.type"] == "OrdinalHead"
        assert [loss["type"] for loss in got["model.losses"]] == ["CoralLoss", "L1L2Loss"]
    else:
        assert changed == {"train_dataloader.sampler.type", "train_dataloader.sampler.round_up",
                           "train_dataloader.sampler.by"}
        assert got["train_dataloader.sampler.type"] == "ClassBalancedSampler"


def test_synthetic_ordinal_configs_build_and_train_a_step(synthetic_root):
    from mmengine.registry import init_default_scope

    from pisa.engine.config_loader import load_config

    init_default_scope("pisa")
    balanced = load_config(ORDINAL_CONFIGS["small-balanced"][0], data_root=str(synthetic_root))
    dataset = DATASETS.build(balanced.train_dataloader.dataset)
    sampler = DATA_SAMPLERS.build(balanced.train_dataloader.sampler, default_args=dict(dataset=dataset, seed=0))
    assert isinstance(sampler, ClassBalancedSampler) and len(list(sampler)) == len(dataset)

    cfg = load_config(ORDINAL_CONFIGS["small-coral"][0], data_root=str(synthetic_root))
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    inputs = {"video": torch.randn(2, 4, 3, 8, 56, 56), "audio": torch.rand(2, 4, 1, 64, 64)}
    samples = {"label": [1, 7], "score": [1.0, 7.0]}
    losses = model(inputs, samples, mode="loss")
    assert {k for k in losses if k.endswith("_coral")} == {f"loss_{b}_coral" for b in cfg.model.branches}
    sum(losses.values()).backward()
    assert all(torch.isfinite(v) for v in losses.values())
    assert model.heads["multimodal"].first_bias.grad is not None
