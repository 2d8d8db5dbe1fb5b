"""Every registered component of a kind that declares examples (backbones, aggregators,
fusions, heads, sequence heads, losses, transforms, clip samplers, metrics, decision rules,
baselines, datasets and transcribers; :data:`pisa.registry.EXAMPLE_KEYS`), plugins included, is built from the
``example`` it declares and checked against its kind's contract by
:func:`pisa.component_checks.check_component`: the model kinds forward and backward with
their documented shapes (gradients to every parameter), a transform's output holds the
keys it promises, a clip sampler's indices are in range (and repeat when it is not
random), a metric gives finite numbers (and the right ones for perfect predictions), a
decision rule gives levels, a baseline gives one predict-output dict per record, a
transcriber gives valid note arrays.

The tests are generated from the registrations, so a plugin's component is tested here
as soon as it is installed and admitted by ``PISA_PLUGINS``: nothing in this file names
it. A component without a well-formed ``example`` fails ``test_component_declares_an_example``
(and its behavioural test) with a message that names it."""
from __future__ import annotations

import pytest

from pisa.component_checks import (ComponentCheckError, check_aggregator, check_backbone,
                                   check_baseline, check_clip_sampler, check_component,
                                   check_dataset,
                                   check_decision_rule, check_example, check_fusion, check_head,
                                   check_loss, check_metric, check_sequence_head, check_transcriber,
                                   check_transform)
from pisa.plugin_loader import registrations
from pisa.registry import EXAMPLE_KEYS


def _components(kind):
    return [pytest.param(r, id=r.name) for r in registrations(kind)]


def _names(kind):
    return [r.name for r in registrations(kind)]


@pytest.mark.parametrize("reg", [pytest.param(r, id=f"{kind}-{r.name}")
                                 for kind in EXAMPLE_KEYS for r in registrations(kind)])
def test_component_declares_an_example(reg):
    # raises, naming the component, when it is missing a key or a value has the wrong form
    check_example(reg.kind, reg.obj, reg.name)


def test_every_kind_with_examples_has_components_and_a_check():
    for kind in EXAMPLE_KEYS:
        assert registrations(kind), f"no registered {kind} to test"
    with pytest.raises(ValueError, match="no check for kind 'hook'"):
        check_component("hook", object)


def test_plugin_components_are_among_those_tested():
    assert {"TorchvisionR3D18", "TorchvisionMC318", "TorchvisionR2Plus1D18"} <= set(_names("backbone"))
    assert "TransformerAggregator" in _names("aggregator")
    assert {"USDLHead", "MUSDLHead"} <= set(_names("head"))
    assert {"USDLLoss", "MUSDLLoss"} <= set(_names("loss"))
    assert "BasicPitchTranscriber" in _names("transcriber") and "LoadNotes" in _names("transform")


@pytest.mark.parametrize("reg", _components("backbone"))
def test_backbone_forward_backward(reg):
    check_backbone(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("aggregator"))
def test_aggregator_forward_backward(reg):
    check_aggregator(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("fusion"))
def test_fusion_forward_backward(reg):
    check_fusion(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("head"))
def test_head_forward_backward(reg):
    check_head(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("sequence_head"))
def test_sequence_head_forward_backward(reg):
    check_sequence_head(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("loss"))
def test_loss_is_a_differentiable_scalar(reg):
    check_loss(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("transform"))
def test_transform_adds_what_it_promises(reg):
    check_transform(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("clip_sampler"))
def test_clip_sampler_gives_frame_indices_in_range(reg):
    check_clip_sampler(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("metric"))
def test_metric_gives_finite_numbers(reg):
    check_metric(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("decision_rule"))
def test_decision_rule_gives_levels(reg):
    check_decision_rule(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("baseline"))
def test_baseline_predicts_every_record(reg):
    check_baseline(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("transcriber"))
def test_transcriber_gives_note_arrays(reg):
    check_transcriber(reg.obj, reg.name)


@pytest.mark.parametrize("reg", _components("dataset"))
def test_dataset_items_follow_the_sample_contract(reg, tmp_path):
    # make_data writes its released layout in little; items follow the sample contract,
    # alike on two test-mode builds
    check_dataset(reg.obj, reg.name, str(tmp_path))


# -- the checks fail where a component breaks its contract ------------------------------
def _levels(n):
    import numpy as np

    return [dict(pred_label=i % n, probs=list(np.eye(n)[i % n]), pred_score=float(i % n),
                 gt_label=i % n, gt_score=float(i % n), sample_id=str(i), group=str(i)) for i in range(6)]


class _DropsItsKey:
    example = dict(args=dict(), input=lambda: {"imgs": 1}, adds=("flip",))

    def __init__(self):
        pass

    def __call__(self, results):
        return dict(results)


class _OutOfRange:
    example = dict(args=dict(), num_frames=8)
    random = False

    def __call__(self, num_frames, rng=None):
        import numpy as np

        return np.arange(num_frames + 1, dtype=np.int64).reshape(1, 1, -1)


class _Unsteady:
    example = dict(args=dict(), num_frames=8)
    random = False

    def __init__(self):
        self.calls = 0

    def __call__(self, num_frames, rng=None):
        import numpy as np

        self.calls += 1
        return np.full((1, 1, 2), self.calls % num_frames, dtype=np.int64)


class _AlwaysZero:
    example = dict(args=dict(), num_classes=3)

    def __call__(self, probs, reg):
        import numpy as np

        return np.zeros(len(probs), dtype=np.int64)


class _WrongWhenPerfect:
    example = dict(args=dict(), predictions=lambda: _levels(3), dataset_meta=dict(num_classes=3),
                   keys=("accuracy",), perfect=dict(predictions=lambda: _levels(3), values=dict(accuracy=1.0)))

    def __init__(self):
        self.results = []
        self.dataset_meta = None

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return {"accuracy": 0.5, "nan_value": float("nan")}


class _DropsARecord:
    example = dict(args=dict(), records=lambda: ([dict(perf_id="a", label=0, score=0.0)],
                                                 [dict(perf_id="b", label=1, score=1.0),
                                                  dict(perf_id="c", label=0, score=0.0)]))

    def fit(self, records):
        return self

    def predict(self, records):
        return [dict(pred_label=0, probs=[1.0, 0.0], pred_score=0.0, gt_label=1, gt_score=1.0,
                     sample_id="b", group="b")]


class _LabelAsText:
    """Items whose label is the level's text, not its class index."""

    example = dict(args=dict(), make_data=lambda root: dict(root=root))

    def __init__(self, root, test_mode=False):
        self.performances = [dict(perf_id="a")]

    def __len__(self):
        return 1

    def __getitem__(self, index):
        import torch

        return {"inputs": {"audio": torch.zeros(1, 1, 8, 8)},
                "data_samples": {"label": "3", "score": 3.0, "sample_id": "a", "group": "a"}}

    def level_counts(self):
        return {"3": 1}

    def bad_sample_records(self):
        return []


@pytest.mark.parametrize("kind, obj, message", [
    ("dataset", _LabelAsText, r"dataset _LabelAsText .*: data_samples label must be an int, got '3'"),
    ("transform", _DropsItsKey, r"transform _DropsItsKey .*: output lacks \['flip'\]"),
    ("clip_sampler", _OutOfRange, r"clip_sampler _OutOfRange .*: indices 0\.\.8 are outside 0\.\.7"),
    ("clip_sampler", _Unsteady, r"clip_sampler _Unsteady .*: not random, but gave different indices"),
    ("decision_rule", _AlwaysZero, r"decision_rule _AlwaysZero .*: one-hot probs with reg at the same level"),
    ("metric", _WrongWhenPerfect, r"metric _WrongWhenPerfect .*: gave numbers that are not finite: \{'nan_value'"),
    ("baseline", _DropsARecord, r"baseline _DropsARecord .*: predict gave 1 predictions for 2 records"),
], ids=["dataset-label-as-text", "transform-lacks-key", "sampler-out-of-range", "sampler-unsteady", "rule-ignores-certainty",
        "metric-not-finite", "baseline-drops-record"])
def test_a_broken_component_is_reported_naming_it(kind, obj, message):
    with pytest.raises(ComponentCheckError, match=message):
        check_component(kind, obj)


def test_a_metric_wrong_on_perfect_predictions_is_reported():
    class Finite(_WrongWhenPerfect):
        def compute_metrics(self, results):
            return {"accuracy": 0.5}

    with pytest.raises(ComponentCheckError, match=r"perfect predictions gave \{'accuracy': 0\.5\}, "
                                                  r"expected \{'accuracy': 1\.0\}"):
        check_component("metric", Finite)


def test_an_example_of_the_wrong_form_is_reported_naming_it():
    class NoCallable:
        example = dict(args=dict(), input={"imgs": 1}, adds=("imgs",))

    with pytest.raises(ComponentCheckError, match="transform NoCallable .*: example input must be a callable"):
        check_component("transform", NoCallable)
    with pytest.raises(ValueError, match=r"decision_rule object .*declares no example"):
        check_component("decision_rule", object)
