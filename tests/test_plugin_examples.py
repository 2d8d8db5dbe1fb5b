"""A third-party plugin's components are tested by pisa's own generated tests
(``tests/test_models_registry.py``) from the ``example`` they declare, with no edit to
pisa: a throwaway distribution is pip-installed for real and pisa's suite is run on it.

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
ENTRY_POINTS = {"throwaway_mean": f"{PACKAGE}.mean", "throwaway_noexample": f"{PACKAGE}.noexample"}

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


def _write_distribution(root: Path) -> Path:
    src = root / DIST
    (src / PACKAGE).mkdir(parents=True)
    (src / PACKAGE / "__init__.py").write_text("")
    (src / PACKAGE / "mean.py").write_text(textwrap.dedent(MEAN))
    (src / PACKAGE / "noexample.py").write_text(textwrap.dedent(NO_EXAMPLE))
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
        [sys.executable, "-m", "pytest", "tests/test_models_registry.py", "-q", "-rA",
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
