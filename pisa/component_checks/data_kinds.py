"""Checks of the data kinds: transform, clip sampler, dataset."""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from pisa.component_checks.common import called, check_example, label_of, require


def check_transform(obj: Any, name: Optional[str] = None) -> Dict[str, Any]:
    """Built from its example, called on a fresh ``input()``: returns a dict holding
    every key of ``adds``. Returns that output."""
    label, example = label_of("transform", obj, name), check_example("transform", obj, name)
    transform = obj(**example["args"])
    results = called(example["input"], label, "input")
    require(isinstance(results, dict), label, f"example input() must return a dict, got {type(results).__name__}")
    out = transform(results)
    require(isinstance(out, dict), label, f"output must be a dict, got {type(out).__name__}")
    missing = [k for k in example["adds"] if k not in out]
    require(not missing, label, f"output lacks {missing} (its example promises adds={tuple(example['adds'])}); "
                                 f"output keys: {sorted(out)}")
    return out


def check_clip_sampler(obj: Any, name: Optional[str] = None) -> np.ndarray:
    """``sampler(num_frames)`` -> ``(S, K, T)`` int64 in ``0..num_frames-1`` with
    ``S >= 1``; the same indices on every call unless the sampler is ``random``; with
    an ``rng`` seeded alike, the same indices either way. Returns the indices."""
    label, example = label_of("clip_sampler", obj, name), check_example("clip_sampler", obj, name)
    sampler = obj(**example["args"])
    num_frames = example["num_frames"]

    def draw(rng: Optional[np.random.Generator] = None) -> np.ndarray:
        inds = sampler(num_frames) if rng is None else sampler(num_frames, rng=rng)
        require(isinstance(inds, np.ndarray) and inds.dtype == np.int64 and inds.ndim == 3, label,
                 f"must return an int64 array (S, K, T), got {type(inds).__name__} "
                 f"{getattr(inds, 'dtype', '')} {getattr(inds, 'shape', '')}")
        require(inds.shape[0] >= 1 and inds.shape[1] >= 1 and inds.shape[2] >= 1, label,
                 f"gave no sample of {num_frames} frames: shape {inds.shape}")
        require(inds.min() >= 0 and inds.max() < num_frames, label,
                 f"indices {int(inds.min())}..{int(inds.max())} are outside 0..{num_frames - 1}")
        return inds

    steady = not getattr(sampler, "random", False)
    first = draw()
    if steady:
        require(np.array_equal(first, draw()), label, "not random, but gave different indices on two calls")
    seeded = draw(np.random.default_rng(0))
    require(np.array_equal(seeded, draw(np.random.default_rng(0))), label,
             "two rngs seeded alike gave different indices")
    if steady:
        require(np.array_equal(first, seeded), label, "not random, but gave other indices with an rng")
    return first


#: modality -> (dtype name, rank) of a packed clip input ``(K, ...)``; clip features are
#: float32 ``(K, D)`` (the feature datasets); an ``exemplar_`` input has one rank more
CLIP_INPUTS = {"video": ("torch.uint8", 5), "audio": ("torch.float32", 4)}
FEATURE_INPUT = ("torch.float32", 2)


def _check_input(label: str, key: str, value: Any) -> None:
    exemplar = key.startswith("exemplar_")
    modality = key[len("exemplar_"):] if exemplar else key
    require(hasattr(value, "dtype") and hasattr(value, "dim"), label,
             f"inputs[{key!r}] is {type(value).__name__}, not a tensor")
    allowed = [FEATURE_INPUT] + ([CLIP_INPUTS[modality]] if modality in CLIP_INPUTS else [])
    shapes = [(dtype, rank + exemplar) for dtype, rank in allowed]
    require((str(value.dtype), value.dim()) in shapes, label,
             f"inputs[{key!r}] is {value.dtype} of rank {value.dim()}, the contract says one of {shapes}")
    require(all(n > 0 for n in value.shape), label, f"inputs[{key!r}] has an empty axis {tuple(value.shape)}")


def _same(a: Any, b: Any) -> bool:
    if hasattr(a, "dtype") and hasattr(a, "shape") and hasattr(a, "equal"):
        return type(a) is type(b) and a.shape == b.shape and bool(a.equal(b))
    return a == b


def check_dataset(obj: Any, name: Optional[str] = None, root: Optional[str] = None) -> Any:
    """``make_data(root)`` writes the example's tiny layout into ``root`` (an empty folder;
    a temporary one when None, removed afterwards); the dataset built on it holds samples
    that follow the sample contract (DEVELOPERS.md) and the interface the engine reads
    (``performances``, ``level_counts``, ``bad_sample_records``), and two test-mode builds
    give the same first and last items. Returns the (training-mode) dataset's first item."""
    import copy
    import tempfile

    label, example = label_of("dataset", obj, name), check_example("dataset", obj, name)
    require(callable(example["make_data"]), label, "example make_data must be a callable (root) -> dict")
    if root is None:
        with tempfile.TemporaryDirectory(prefix="pisa-dataset-example-") as folder:
            return check_dataset(obj, name, folder)
    added = example["make_data"](str(root))
    require(isinstance(added, dict), label, f"make_data must return a dict of arguments, got {type(added).__name__}")

    def build(**extra: Any) -> Any:
        return obj(**copy.deepcopy(dict(example["args"], **added)), **extra)

    dataset = build()
    require(len(dataset) > 0, label, "the example's data gave no samples")
    item = dataset[0]
    require(isinstance(item, dict) and set(item) == {"inputs", "data_samples"}, label,
             f"an item must be {{'inputs', 'data_samples'}}, got {sorted(item) if isinstance(item, dict) else item!r}")
    inputs, samples = item["inputs"], item["data_samples"]
    require(any(k in inputs for k in ("video", "audio")), label, f"no video or audio input: {sorted(inputs)}")
    for key, value in inputs.items():
        _check_input(label, key, value)
    require(isinstance(samples.get("label"), int) and not isinstance(samples["label"], bool), label,
             f"data_samples label must be an int, got {samples.get('label')!r}")
    require(isinstance(samples.get("score"), float), label,
             f"data_samples score must be a float, got {samples.get('score')!r}")
    for key in ("sample_id", "group"):
        require(isinstance(samples.get(key), str) and samples[key], label,
                 f"data_samples {key} must be a non-empty str, got {samples.get(key)!r}")
    require(len(dataset.performances) > 0 and sum(dataset.level_counts().values()) >= 0, label,
             "no performances, or no level counts")
    require(dataset.bad_sample_records() == [], label,
             f"the example's own data gave bad samples: {dataset.bad_sample_records()}")
    first, second = build(test_mode=True), build(test_mode=True)
    require(len(first) == len(second) > 0, label, "two test-mode builds differ in length")
    for index in sorted({0, len(first) - 1}):
        a, b = first[index], second[index]
        for part in ("inputs", "data_samples"):
            require(a[part].keys() == b[part].keys(), label, f"test-mode item {index}: {part} keys differ")
            differ = [k for k in a[part] if not _same(a[part][k], b[part][k])]
            require(not differ, label, f"two test-mode builds gave other {part} {differ} at item {index}")
    return item
