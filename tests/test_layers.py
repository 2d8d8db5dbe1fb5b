"""The one-way layers (setup.cfg, ``[importlinter]``) hold, name every part of the
package, and are enforced: a wrong-way import is reported."""
from __future__ import annotations

import configparser
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pisa

REPO = Path(__file__).resolve().parents[1]
SETUP_CFG = REPO / "setup.cfg"


def _lint_imports(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='setup.cfg', no_cache=True, no_logo=True))")
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _layer_modules() -> set:
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    layers = parser["importlinter:contract:layers"]["layers"]
    names = set()
    for line in layers.split("\n"):
        for part in line.replace("|", " ").replace(":", " ").split():
            names.add(part)
    return names


def test_the_layer_contracts_hold():
    result = _lint_imports(REPO, REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_every_part_of_the_package_is_in_a_layer():
    # pisa.registry is installed from registry/ (outside pisa/): the contract every
    # layer may use, checked by its own single import (pisa.plugins)
    parts = {f"pisa.{m.name}" for m in pkgutil.iter_modules(pisa.__path__)}
    assert parts - _layer_modules() == set(), "add these to the layers in setup.cfg"
    assert {"pisa.io", "pisa.data", "pisa.models", "pisa.evaluation", "pisa.engine",
            "pisa.apis", "pisa.commands"} <= parts


def test_a_wrong_way_import_is_reported(tmp_path):
    shutil.copytree(REPO / "pisa", tmp_path / "pisa",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SETUP_CFG, tmp_path / "setup.cfg")
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
