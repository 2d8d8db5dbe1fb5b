"""Every registered dataset, built from the ``example`` it declares (see pisa.registry), a
plugin's included: its ``make_data`` writes tiny media and annotations in the dataset's
released layout into an empty folder, and the dataset built on them holds samples that
follow the sample contract (DEVELOPERS.md, "The sample contract"), the same ones on
every test-mode build. Adding a dataset adapter edits nothing here."""
from __future__ import annotations

import copy

import pytest
import torch

from pisa.plugin_loader import registrations
from pisa.registry import DATASETS, EXAMPLE_KEYS, component_example

#: modality -> (dtype, rank) of a packed clip input ``(K, ...)``; clip features are
#: float32 ``(K, D)`` instead (the feature datasets)
CLIP_INPUTS = {"video": (torch.uint8, 5), "audio": (torch.float32, 4)}
FEATURE_INPUT = (torch.float32, 2)


def _datasets():
    return [pytest.param(r, id=r.name) for r in registrations("dataset")]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """name -> (example args with the written data's arguments, dataset): made once."""
    made = {}

    def build(reg, **extra):
        if reg.name not in made:
            example = component_example("dataset", reg.obj)
            root = tmp_path_factory.mktemp(reg.name)
            added = example["make_data"](str(root))
            assert isinstance(added, dict), f"{reg.name}: make_data must return a dict of arguments"
            args = dict(copy.deepcopy(example["args"]), **added)
            made[reg.name] = args
        return DATASETS.build(dict(copy.deepcopy(made[reg.name]), type=reg.name, **extra))

    return build


def test_dataset_kind_examples_have_their_keys():
    assert EXAMPLE_KEYS["dataset"] == ("args", "make_data")


@pytest.mark.parametrize("reg", _datasets())
def test_dataset_declares_an_example(reg):
    example = component_example("dataset", reg.obj)  # raises, naming the dataset
    assert isinstance(example["args"], dict), f"{reg.name}: example args must be a dict"
    assert callable(example["make_data"]), f"{reg.name}: example make_data must be callable"


def _check_input(name: str, key: str, value) -> None:
    exemplar = key.startswith("exemplar_")
    modality = key[len("exemplar_"):] if exemplar else key
    assert isinstance(value, torch.Tensor), f"{name}: inputs[{key!r}] is {type(value).__name__}"
    allowed = [FEATURE_INPUT] + ([CLIP_INPUTS[modality]] if modality in CLIP_INPUTS else [])
    shapes = [(dtype, rank + exemplar) for dtype, rank in allowed]
    assert (value.dtype, value.dim()) in shapes, (
        f"{name}: inputs[{key!r}] is {value.dtype} of rank {value.dim()}, the contract says "
        f"one of {shapes}")
    assert all(n > 0 for n in value.shape), f"{name}: inputs[{key!r}] has an empty axis {tuple(value.shape)}"


@pytest.mark.parametrize("reg", _datasets())
def test_dataset_example_items_follow_the_sample_contract(reg, built):
    dataset = built(reg)
    assert len(dataset) > 0, f"{reg.name}: the example's data gave no samples"
    item = dataset[0]
    assert set(item) == {"inputs", "data_samples"}, f"{reg.name}: item keys {sorted(item)}"
    inputs, samples = item["inputs"], item["data_samples"]
    assert any(k in inputs for k in ("video", "audio")), f"{reg.name}: no video or audio input"
    for key, value in inputs.items():
        _check_input(reg.name, key, value)
    assert isinstance(samples["label"], int) and not isinstance(samples["label"], bool), reg.name
    assert isinstance(samples["score"], float), f"{reg.name}: score is {type(samples['score']).__name__}"
    assert isinstance(samples["sample_id"], str) and samples["sample_id"], reg.name
    assert isinstance(samples["group"], str) and samples["group"], reg.name
    # the interface the engine and the commands use
    assert dataset.performances and sum(dataset.level_counts().values()) >= 0
    assert dataset.bad_sample_records() == []


@pytest.mark.parametrize("reg", _datasets())
def test_dataset_example_builds_alike_in_test_mode(reg, built):
    first, second = built(reg, test_mode=True), built(reg, test_mode=True)
    assert len(first) == len(second) > 0
    for index in {0, len(first) - 1}:
        a, b = first[index], second[index]
        for part in ("inputs", "data_samples"):
            assert a[part].keys() == b[part].keys(), f"{reg.name}: {part} keys differ"
            for key in a[part]:
                assert _same(a[part][key], b[part][key]), f"{reg.name}: {part}[{key!r}] differ"


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    return a == b
