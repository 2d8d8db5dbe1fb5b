"""The one-way layers (setup.cfg, ``[importlinter]``) hold, name every part of the
package, and are enforced: a wrong-way import is reported. The plugin distributions in
plugins/ import pisa only through ``pisa.plugin_api`` (a plugin importing an internal is
reported), and no module of pisa is part of an import cycle.

The contracts are checked on the installed layout (``pisa.registry`` inside ``pisa``, the
plugin packages beside it), laid out in a temporary folder, so that imports of
``pisa.registry`` are seen too."""
from __future__ import annotations

import configparser
import json
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pisa

REPO = Path(__file__).resolve().parents[1]
SETUP_CFG = REPO / "setup.cfg"


def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    return parser


def _listed(value: str) -> list:
    return [v.strip() for v in value.split("\n") if v.strip()]


def _plugin_packages() -> dict:
    """Plugin distribution folder -> the packages its setup.cfg ships."""
    found = {}
    for cfg in sorted(REPO.glob("plugins/*/setup.cfg")):
        parser = configparser.ConfigParser()
        parser.read(cfg)
        found[cfg.parent] = _listed(parser["options"]["packages"])
    return found


def _installed_layout(dest: Path) -> Path:
    """pisa as it installs (``registry/`` as ``pisa/registry``), the plugin packages
    beside it and setup.cfg, in ``dest``."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "pisa", dest / "pisa", ignore=ignore)
    shutil.copytree(REPO / "registry", dest / "pisa" / "registry", ignore=ignore)
    for folder, packages in _plugin_packages().items():
        for package in packages:
            shutil.copytree(folder / package, dest / package, ignore=ignore)
    config = _config()
    contract = config["importlinter:contract:plugin-api"]
    contract["forbidden_modules"] += "\npisa.registry"  # a folder of its own in the repository
    with open(dest / "setup.cfg", "w") as f:
        config.write(f)
    return dest


def _lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='setup.cfg', no_cache=True, no_logo=True))")
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _layer_modules() -> set:
    layers = _config()["importlinter:contract:layers"]["layers"]
    names = set()
    for line in layers.split("\n"):
        for part in line.replace("|", " ").replace(":", " ").split():
            names.add(part)
    return names


def test_the_layer_contracts_hold(tmp_path):
    layout = _installed_layout(tmp_path)
    result = _lint_imports(layout, layout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout
    assert "Plugins import pisa only through pisa.plugin_api KEPT" in result.stdout


def test_every_part_of_the_package_is_in_a_layer():
    # pisa.registry is installed from registry/ (outside pisa/): the contract every
    # layer may use; it imports nothing of pisa (the cycle test below sees it)
    parts = {f"pisa.{m.name}" for m in pkgutil.iter_modules(pisa.__path__)}
    assert parts - _layer_modules() == set(), "add these to the layers in setup.cfg"
    assert {"pisa.io", "pisa.data", "pisa.models", "pisa.evaluation", "pisa.engine",
            "pisa.apis", "pisa.commands"} <= parts


def test_the_plugin_contract_covers_every_plugin_and_every_part_but_the_api():
    config = _config()
    contract = config["importlinter:contract:plugin-api"]
    packages = sorted(p for ps in _plugin_packages().values() for p in ps)
    assert packages, "no plugin distributions found in plugins/"
    assert sorted(_listed(contract["source_modules"])) == packages
    assert sorted(_listed(config["importlinter"]["root_packages"])) == sorted(["pisa"] + packages)
    # pisa.registry is added on the installed layout (_installed_layout)
    parts = {f"pisa.{m.name}" for m in pkgutil.iter_modules(pisa.__path__)}
    assert set(_listed(contract["forbidden_modules"])) == parts - {"pisa.plugin_api"}


def test_the_contracts_run_from_the_repository_root():
    result = _lint_imports(REPO, REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_a_wrong_way_import_is_reported(tmp_path):
    _installed_layout(tmp_path)
    # data may not reach up into the engine, not even lazily inside a function
    (tmp_path / "pisa" / "data" / "wrong_way.py").write_text(
        "def helper():\n    from pisa.engine.config_loader import load_config\n    return load_config\n")
    result = _lint_imports(tmp_path, tmp_path)
    assert result.returncode != 0
    assert "pisa.data is not allowed to import pisa.engine" in result.stdout
    assert "pisa.data.wrong_way -> pisa.engine.config_loader" in result.stdout
    # and side by side: evaluation may not import models
    (tmp_path / "pisa" / "data" / "wrong_way.py").unlink()
    (tmp_path / "pisa" / "evaluation" / "wrong_way.py").write_text("import pisa.models.heads\n")
    result = _lint_imports(tmp_path, tmp_path)
    assert result.returncode != 0
    assert "pisa.evaluation is not allowed to import pisa.models" in result.stdout


def test_a_plugin_importing_an_internal_is_reported(tmp_path):
    layout = _installed_layout(tmp_path)
    # the registries, even lazily inside a function
    (layout / "pisa_core" / "wrong_way.py").write_text(
        "def helper():\n    from pisa.registry import MODELS\n    return MODELS\n")
    result = _lint_imports(layout, layout)
    assert result.returncode != 0
    assert "pisa_core is not allowed to import pisa.registry" in result.stdout
    assert "pisa_core.wrong_way -> pisa.registry" in result.stdout
    # and a module under the public one
    (layout / "pisa_core" / "wrong_way.py").unlink()
    (layout / "pisa_usdl" / "wrong_way.py").write_text("from pisa.models.batch import sample_column\n")
    result = _lint_imports(layout, layout)
    assert result.returncode != 0
    assert "pisa_usdl is not allowed to import pisa.models" in result.stdout
    assert "pisa_usdl.wrong_way -> pisa.models.batch" in result.stdout


def _import_cycles(root: Path) -> list:
    """The strongly connected components (more than one module) of pisa's module
    imports, lazy imports inside functions included, found in the tree at ``root``."""
    code = ("import json, grimp; g = grimp.build_graph('pisa'); "
            "print(json.dumps({m: sorted(g.find_modules_directly_imported_by(m)) "
            "for m in g.modules}))")
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    imports = json.loads(proc.stdout)
    index: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    cycles = []
    for start in sorted(imports):  # Tarjan's algorithm, iteratively
        if start in index:
            continue
        work = [(start, iter(imports[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(imports.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_module_is_part_of_an_import_cycle(tmp_path):
    layout = _installed_layout(tmp_path)
    assert _import_cycles(layout) == []


def test_an_import_cycle_is_found(tmp_path):
    layout = _installed_layout(tmp_path)
    # a lazy import back up the chain apis.inference -> apis.assessor closes a cycle
    with open(layout / "pisa" / "apis" / "assessor.py", "a") as f:
        f.write("\n\ndef _back():\n    from pisa.apis import inference\n    return inference\n")
    cycles = _import_cycles(layout)
    assert len(cycles) == 1
    assert {"pisa.apis.assessor", "pisa.apis.inference"} <= set(cycles[0])
