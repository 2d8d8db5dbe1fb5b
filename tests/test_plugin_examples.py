"""A third-party plugin's components are tested by pisa's own generated tests
(``tests/test_component_examples.py``) from the ``example`` they declare, with no edit to
pisa: a throwaway distribution (an aggregator; a transform, a clip sampler and a metric;
a broken transform and sampler; one without an example) is pip-installed for real and
pisa's suite is run on it.

Each run is a fresh interpreter, because plugins load once per process.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO

DIST = "pisa-throwaway-plugin"
PACKAGE = "pisa_throwaway_plugin"
#: entry-point name -> module: one distribution, two plugins, chosen by PISA_TEST_PLUGINS
ENTRY_POINTS = {"throwaway_mean": f"{PACKAGE}.mean", "throwaway_noexample": f"{PACKAGE}.noexample",
                "throwaway_parts": f"{PACKAGE}.parts", "throwaway_broken": f"{PACKAGE}.broken"}

MEAN = '''
import torch
from pisa.plugin_api import hookimpl


class ThrowawayMeanAggregator(torch.nn.Module):
    """Mean over clips, then a Linear: (B, K, in_features) -> (B, out_features)."""

    example = dict(args=dict(out_features=4), input_shape=(2, 3, 6))

    def __init__(self, in_features, out_features=8):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.proj = torch.nn.Linear(in_features, out_features)

    def forward(self, feats):
        if feats.dim() != 3 or feats.shape[-1] != self.in_features:
            raise ValueError(f"ThrowawayMeanAggregator expects clip features "
                             f"(B, K, {self.in_features}), got {tuple(feats.shape)}")
        return self.proj(feats.mean(dim=1))


@hookimpl
def pisa_register_components(register):
    register("aggregator", ThrowawayMeanAggregator)
'''

NO_EXAMPLE = '''
import torch
from pisa.plugin_api import hookimpl


class ThrowawayNoExampleAggregator(torch.nn.Module):
    """Sum over clips; declares no example."""

    def __init__(self, in_features):
        super().__init__()
        self.in_features = self.out_features = in_features

    def forward(self, feats):
        return feats.sum(dim=1)


@hookimpl
def pisa_register_components(register):
    register("aggregator", ThrowawayNoExampleAggregator)
'''

PARTS = '''
import numpy as np
from mmengine.evaluator import BaseMetric
from pisa.plugin_api import hookimpl


class ThrowawayInvert:
    """Invert the frames: reads ``imgs`` uint8; replaces it; adds ``inverted``."""

    example = dict(args=dict(), input=lambda: {"imgs": np.zeros((1, 2, 4, 4, 3), np.uint8)},
                   adds=("imgs", "inverted"))

    def __call__(self, results):
        results["imgs"] = 255 - results["imgs"]
        results["inverted"] = True
        return results


class ThrowawayEveryOtherSampler:
    """One sample of ``num_clips`` clips of every other frame from the start."""

    example = dict(args=dict(num_clips=2, clip_len=3), num_frames=16)
    random = False

    def __init__(self, num_clips=1, clip_len=4):
        self.num_clips, self.clip_len = num_clips, clip_len

    def __call__(self, num_frames, rng=None):
        return (2 * np.arange(self.num_clips * self.clip_len, dtype=np.int64)).reshape(
            1, self.num_clips, self.clip_len)


class ThrowawayScoreMAE(BaseMetric):
    """``score_mae``: the mean absolute error of ``pred_score``."""

    default_prefix = ""
    example = dict(args=dict(), dataset_meta=dict(),
                   predictions=lambda: [dict(pred_score=float(i), gt_score=float(i) + 0.5) for i in range(4)],
                   keys=("score_mae",),
                   perfect=dict(predictions=lambda: [dict(pred_score=1.0, gt_score=1.0)],
                                values=dict(score_mae=0.0)))

    def process(self, data_batch, data_samples):
        self.results.extend(abs(s["pred_score"] - s["gt_score"]) for s in data_samples)

    def compute_metrics(self, results):
        return {"score_mae": float(np.mean(results))}


@hookimpl
def pisa_register_components(register):
    register("transform", ThrowawayInvert)
    register("clip_sampler", ThrowawayEveryOtherSampler)
    register("metric", ThrowawayScoreMAE)
'''

BROKEN = '''
import numpy as np
from pisa.plugin_api import hookimpl


class ThrowawayBrokenTransform:
    """Promises ``flip`` but never adds it."""

    example = dict(args=dict(), input=lambda: {"imgs": np.zeros((1, 1, 2, 2, 3), np.uint8)},
                   adds=("imgs", "flip"))

    def __call__(self, results):
        return results


class ThrowawayBrokenSampler:
    """Reaches one frame past the end."""

    example = dict(args=dict(), num_frames=8)

    def __call__(self, num_frames, rng=None):
        return np.arange(1, num_frames + 1, dtype=np.int64).reshape(1, 2, -1)


@hookimpl
def pisa_register_components(register):
    register("transform", ThrowawayBrokenTransform)
    register("clip_sampler", ThrowawayBrokenSampler)
'''


def _write_distribution(root: Path) -> Path:
    src = root / DIST
    (src / PACKAGE).mkdir(parents=True)
    (src / PACKAGE / "__init__.py").write_text("")
    (src / PACKAGE / "mean.py").write_text(textwrap.dedent(MEAN))
    (src / PACKAGE / "noexample.py").write_text(textwrap.dedent(NO_EXAMPLE))
    (src / PACKAGE / "parts.py").write_text(textwrap.dedent(PARTS))
    (src / PACKAGE / "broken.py").write_text(textwrap.dedent(BROKEN))
    entry_points = "".join(f"    {name} = {module}\n" for name, module in ENTRY_POINTS.items())
    (src / "setup.cfg").write_text(
        f"[metadata]\nname = {DIST}\nversion = 0.1.0\n\n"
        f"[options]\npackages = {PACKAGE}\n\n"
        f"[options.entry_points]\npisa =\n{entry_points}"
    )
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64", "wheel"]\n'
        'build-backend = "setuptools.build_meta"\n'
    )
    return src


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The throwaway distribution, pip-installed (offline, nothing else) into a folder."""
    root = tmp_path_factory.mktemp("throwaway")
    src = _write_distribution(root)
    target = root / "site"
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(src)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(target.glob(f"{PACKAGE}-*.dist-info"))
    return target


def _run_registry_tests(site: Path, plugins: str, select: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    # tests/conftest.py admits the project's own plugins plus those named here, the way a
    # plugin author runs pisa's generated tests on their plugin
    env["PISA_TEST_PLUGINS"] = plugins
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_component_examples.py", "-q", "-rA",
         "-p", "no:cacheprovider", "-k", select],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=300,
    )


def test_plugin_component_is_tested_from_its_example_without_editing_pisa(site):
    proc = _run_registry_tests(site, "throwaway_mean", "ThrowawayMeanAggregator")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    passed = {line.split("::", 1)[1] for line in out.splitlines()
              if line.startswith("PASSED ") and "::" in line}
    assert {"test_component_declares_an_example[aggregator-ThrowawayMeanAggregator]",
            "test_aggregator_forward_backward[ThrowawayMeanAggregator]"} <= passed, out
    assert all("ThrowawayMeanAggregator" in test for test in passed), out


def test_plugin_component_without_example_fails_naming_it(site):
    proc = _run_registry_tests(site, "throwaway_noexample", "ThrowawayNoExampleAggregator")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # tests ran and failed (not a collection or usage error)
    failed = {line.split("::", 1)[1].split(" ", 1)[0] for line in out.splitlines()
              if line.startswith("FAILED ") and "::" in line}
    assert "test_component_declares_an_example[aggregator-ThrowawayNoExampleAggregator]" in failed, out
    assert "test_aggregator_forward_backward[ThrowawayNoExampleAggregator]" in failed, out
    # the error itself (not the traceback's source lines) names it and says what to declare
    errors = [line for line in out.splitlines() if line.startswith("E ") and "ValueError" in line]
    assert any("aggregator ThrowawayNoExampleAggregator" in line and "declares no example" in line
               and "example = dict(args=..., input_shape=...)" in line for line in errors), out


def _outcomes(out: str, word: str) -> set:
    return {line.split("::", 1)[1].split(" - ", 1)[0].strip() for line in out.splitlines()
            if line.startswith(f"{word} ") and "::" in line}


def test_plugin_transform_sampler_and_metric_are_tested_from_their_examples(site):
    proc = _run_registry_tests(site, "throwaway_parts", "Throwaway")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    passed = _outcomes(out, "PASSED")
    assert {"test_component_declares_an_example[transform-ThrowawayInvert]",
            "test_transform_adds_what_it_promises[ThrowawayInvert]",
            "test_component_declares_an_example[clip_sampler-ThrowawayEveryOtherSampler]",
            "test_clip_sampler_gives_frame_indices_in_range[ThrowawayEveryOtherSampler]",
            "test_component_declares_an_example[metric-ThrowawayScoreMAE]",
            "test_metric_gives_finite_numbers[ThrowawayScoreMAE]"} <= passed, out
    assert all("Throwaway" in test for test in passed), out


def test_plugin_components_that_break_their_contract_fail_naming_them(site):
    proc = _run_registry_tests(site, "throwaway_broken", "ThrowawayBroken")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # tests ran and failed (not a collection or usage error)
    failed = _outcomes(out, "FAILED")
    assert failed == {"test_transform_adds_what_it_promises[ThrowawayBrokenTransform]",
                      "test_clip_sampler_gives_frame_indices_in_range[ThrowawayBrokenSampler]"}, out
    # their examples are well formed: only the behaviour fails
    assert {"test_component_declares_an_example[transform-ThrowawayBrokenTransform]",
            "test_component_declares_an_example[clip_sampler-ThrowawayBrokenSampler]"} <= _outcomes(out, "PASSED"), out
    errors = [line for line in out.splitlines() if line.startswith("E ") and "ComponentCheckError" in line]
    assert any("transform ThrowawayBrokenTransform (pisa_throwaway_plugin.broken)" in line
               and "output lacks ['flip']" in line for line in errors), out
    assert any("clip_sampler ThrowawayBrokenSampler (pisa_throwaway_plugin.broken)" in line
               and "indices 1..8 are outside 0..7" in line for line in errors), out
