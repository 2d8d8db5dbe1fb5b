"""Plugin discovery end to end: real distributions, entry points, failures, collisions,
and the environment variable that limits loading.

Each case runs ``pisa`` in a fresh interpreter, because plugins load once per process;
the cases of the public plugin API (``pisa.plugin_api``) run in this one.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch


from conftest import REPO

from pisa import hookspecs, plugin_api


def _run(args, pythonpath=(), env_plugins=None, check=True):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(p) for p in pythonpath] + [env.get("PYTHONPATH", "")])
    if env_plugins is None:
        env.pop("PISA_PLUGINS", None)
    else:
        env["PISA_PLUGINS"] = env_plugins
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _fake_installed_plugin(site: Path, dist: str, module: str, ep_name: str, body: str) -> None:
    """Install a one-module distribution into ``site`` the way pip lays one out:
    the module plus a ``.dist-info`` with METADATA and entry_points.txt."""
    (site / f"{module}.py").write_text(textwrap.dedent(body))
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[pisa]\n{ep_name} = {module}\n")
    (info / "RECORD").write_text("")


GOOD = """
import torch
from pisa.plugin_api import hookimpl

class SumAggregator(torch.nn.Module):
    def __init__(self, in_features):
        super().__init__()
        self.out_features = in_features
    def forward(self, x):
        return x.sum(dim=1)

@hookimpl
def pisa_register_components(register):
    register("aggregator", SumAggregator)
"""


def test_pip_installed_plugin_is_discovered_and_built_from_config(tmp_path):
    """Install a real plugin distribution from plugins/ with pip, then build its
    component by name through the registry in a process that sees that install."""
    site = tmp_path / "site"
    plugin = REPO / "plugins" / "pisa-transformer-aggregator"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(plugin)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(site.glob("pisa_transformer_aggregator-*.dist-info"))
    code = textwrap.dedent("""
        import sys, torch
        from pisa.registry import AGGREGATORS
        from pisa.plugin_loader import registrations
        agg = AGGREGATORS.build(dict(type='TransformerAggregator', in_features=16))
        print(sys.modules[type(agg).__module__].__file__)
        print(tuple(agg(torch.randn(2, 5, 16)).shape))
        src = {r.source for r in registrations('aggregator') if r.name == 'TransformerAggregator'}
        print(src)
    """)
    # the installed copy must win over an editable one: put it first on the path
    out = _run(["-c", code], pythonpath=[site], env_plugins="transformer_aggregator").stdout.splitlines()
    assert out[0].startswith(str(site))  # the component came from the pip-installed copy
    assert out[1] == "(2, 16)"
    assert "pisa-transformer-aggregator" in out[2]


def test_pisa_list_shows_builtins_and_both_plugins():
    out = _run(["-m", "pisa.cli", "list"], env_plugins="torchvision_video,transformer_aggregator").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "SOURCE"]
    assert any(l.split()[:2] == ["backbone", "C3D"] and "built-in" in l for l in lines)
    assert any("pisa-torchvision-video" in l and l.startswith("backbone") for l in lines)
    assert any("pisa-transformer-aggregator" in l and l.startswith("aggregator") for l in lines)
    only = _run(["-m", "pisa.cli", "list", "aggregator"], env_plugins="transformer_aggregator").stdout
    assert all(l.startswith("aggregator") for l in only.splitlines()[1:])
    assert "AvgAggregator" in only


def test_plugin_that_fails_to_import_is_named_and_others_still_load(tmp_path):
    _fake_installed_plugin(tmp_path, "pisa-broken", "pisa_broken_plugin", "broken",
                           "raise ImportError('needs a library that is not installed')\n")
    _fake_installed_plugin(tmp_path, "pisa-good", "pisa_good_plugin", "good", GOOD)
    proc = _run(["-m", "pisa.cli", "list", "aggregator"], pythonpath=[tmp_path], env_plugins="broken,good")
    assert "'broken'" in proc.stderr and "pisa-broken 1.2.3" in proc.stderr
    assert "needs a library that is not installed" in proc.stderr
    assert "SumAggregator" in proc.stdout and "pisa-good 1.2.3" in proc.stdout
    assert "AvgAggregator" in proc.stdout  # built-ins unaffected


def test_name_collision_is_reported_unless_override(tmp_path):
    clash = GOOD.replace('register("aggregator", SumAggregator)',
                         'register("aggregator", SumAggregator, name="AvgAggregator")')
    _fake_installed_plugin(tmp_path, "pisa-clash", "pisa_clash_plugin", "clash", clash)
    _fake_installed_plugin(tmp_path, "pisa-good", "pisa_good_plugin", "good", GOOD)
    proc = _run(["-m", "pisa.cli", "list", "aggregator"], pythonpath=[tmp_path], env_plugins="clash,good")
    assert "'clash'" in proc.stderr and "AvgAggregator" in proc.stderr and "override=True" in proc.stderr
    avg = [l for l in proc.stdout.splitlines() if l.split()[1:2] == ["AvgAggregator"]]
    assert avg and "built-in" in avg[0]  # the built-in one is kept
    assert "SumAggregator" in proc.stdout  # the other plugin still loads

    override = clash.replace('name="AvgAggregator")', 'name="AvgAggregator", override=True)')
    (tmp_path / "pisa_clash_plugin.py").write_text(textwrap.dedent(override))
    proc = _run(["-m", "pisa.cli", "list", "aggregator"], pythonpath=[tmp_path], env_plugins="clash")
    avg = [l for l in proc.stdout.splitlines() if l.split()[1:2] == ["AvgAggregator"]]
    assert avg and "pisa-clash 1.2.3" in avg[0]
    assert "override" not in proc.stderr


def test_environment_variable_limits_and_disables_plugins(tmp_path):
    _fake_installed_plugin(tmp_path, "pisa-good", "pisa_good_plugin", "good", GOOD)
    _fake_installed_plugin(tmp_path, "pisa-broken", "pisa_broken_plugin", "broken", "raise RuntimeError('x')\n")
    everything = _run(["-m", "pisa.cli", "list"], pythonpath=[tmp_path], env_plugins=None)
    assert "SumAggregator" in everything.stdout and "'broken'" in everything.stderr
    for value in ("", "0", "none"):
        off = _run(["-m", "pisa.cli", "list"], pythonpath=[tmp_path], env_plugins=value)
        assert "SumAggregator" not in off.stdout and "broken" not in off.stderr
        assert "C3D" in off.stdout  # built-ins always load
    only = _run(["-m", "pisa.cli", "list"], pythonpath=[tmp_path], env_plugins="good")
    assert "SumAggregator" in only.stdout and "broken" not in only.stderr


def test_unknown_kind_in_register_is_reported(tmp_path):
    bad = GOOD.replace('register("aggregator", SumAggregator)', 'register("aggregators", SumAggregator)')
    _fake_installed_plugin(tmp_path, "pisa-typo", "pisa_typo_plugin", "typo", bad)
    proc = _run(["-m", "pisa.cli", "list"], pythonpath=[tmp_path], env_plugins="typo")
    assert "unknown kind 'aggregators'" in proc.stderr and "aggregator" in proc.stderr
    assert "SumAggregator" not in proc.stdout


def test_pisa_list_rejects_unknown_kind():
    proc = _run(["-m", "pisa.cli", "list", "backbones"], env_plugins="", check=False)
    assert proc.returncode == 2
    assert "unknown kind 'backbones'" in proc.stderr and "backbone" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_every_hookspec_is_documented():
    specs = [n for n in dir(hookspecs) if n.startswith("pisa_")]
    assert specs
    readme = (REPO / "README.md").read_text()
    for name in specs:
        assert getattr(hookspecs, name).__doc__, name
        assert name in readme, f"hook {name} is not documented in README.md"


def test_the_plugin_api_exports_and_documents_what_plugins_use():
    assert plugin_api.hookimpl is hookspecs.hookimpl
    assert {"hookimpl", "AQAModel", "AQADataPreprocessor", "sample_column", "build_component",
            "datasets_with", "load_backbone_weights", "StateDict"} <= set(plugin_api.__all__)
    for name in plugin_api.__all__:
        assert hasattr(plugin_api, name), name
        assert name in plugin_api.__doc__, f"{name} is not in pisa.plugin_api's docstring"


def test_the_plugin_api_builds_and_looks_up_components_by_kind():
    agg = plugin_api.build_component("aggregator", dict(type="AvgAggregator"), in_features=4)
    assert agg.out_features == 4 and agg(torch.ones(2, 3, 4)).shape == (2, 4)
    assert plugin_api.build_component("aggregator", agg) is agg  # built: taken as is
    assert plugin_api.component_class("aggregator", "AvgAggregator") is type(agg)
    assert "TransformerAggregator" in plugin_api.component_names("aggregator")  # a plugin's
    with pytest.raises(ValueError, match="unknown component kind 'aggregators'; kinds: backbone"):
        plugin_api.build_component("aggregators", dict(type="AvgAggregator"))
    with pytest.raises(KeyError, match="registered backbone types: .*C3D"):
        plugin_api.component_class("backbone", "NoSuchBackbone")
    with pytest.raises(TypeError, match="AvgAggregator.*dims.*accepted arguments: in_features"):
        plugin_api.build_component("aggregator", dict(type="AvgAggregator", dims=3), in_features=4)


def test_the_plugin_api_reads_sample_truths_and_normalises_exemplar_audio_as_audio():
    truths = plugin_api.sample_truths({"label": torch.tensor([1, 2]), "score": torch.tensor([1.5, 2.5]),
                                       "sample_id": ["a", "b"]}, 2)
    assert truths == [dict(gt_label=1, gt_score=1.5, sample_id="a", group=None),
                      dict(gt_label=2, gt_score=2.5, sample_id="b", group=None)]
    # CoRe's preprocessor normalises its exemplars' audio with the core preprocessor's own step
    prep = plugin_api.build_component("model", dict(type="ExemplarDataPreprocessor",
                                                    audio_mean=1.0, audio_std=2.0))
    audio = torch.arange(8, dtype=torch.float32).view(1, 2, 1, 2, 2)
    out = prep({"inputs": {"audio": audio, "exemplar_audio": audio[None]},
                "data_samples": {"exemplar_score": torch.tensor([[3.0]], dtype=torch.float64)}})
    torch.testing.assert_close(out["inputs"]["audio"], (audio - 1.0) / 2.0)
    torch.testing.assert_close(out["inputs"]["exemplar_audio"], ((audio - 1.0) / 2.0)[None])
    assert out["data_samples"]["exemplar_score"].dtype == torch.float32
