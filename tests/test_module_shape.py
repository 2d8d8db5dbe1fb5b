"""The package's shape: a module name says what it does, once, and no module grows past
about 400 lines unless the developer guide says why (DEVELOPERS.md, "Long modules")."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "pisa"
#: "about 400 lines": the limit a module may reach without a stated reason
LINE_LIMIT = 420


def _parts():
    """(path, name) of every module and subpackage of pisa, its commands left out: a
    command module is named after its subcommand (``pisa data`` -> ``commands/data.py``)."""
    for path in sorted(PACKAGE.rglob("*")):
        if "__pycache__" in path.parts or path.relative_to(PACKAGE).parts[0] == "commands":
            continue
        if path.is_dir() and (path / "__init__.py").is_file():
            yield path, path.name
        elif path.suffix == ".py" and path.name != "__init__.py":
            yield path, path.stem


def _long_modules_explained():
    text = (REPO / "DEVELOPERS.md").read_text()
    section = re.search(r"^## Long modules\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    return set(re.findall(r"`(pisa/[\w/]+\.py|registry/[\w/]+\.py)`", section.group(1))) if section else set()


def test_no_two_parts_of_the_package_share_a_name():
    places = defaultdict(list)
    for path, name in _parts():
        places[name].append(str(path.relative_to(REPO)))
    twins = {name: where for name, where in places.items() if len(where) > 1}
    assert not twins, f"name each once, by what it does: {twins}"


def test_long_modules_are_explained_in_the_developer_guide():
    explained = _long_modules_explained()
    long = {str(p.relative_to(REPO)): len(p.read_text().splitlines())
            for p in [*PACKAGE.rglob("*.py"), *(REPO / "registry").rglob("*.py")]
            if "__pycache__" not in p.parts}
    unexplained = {p: n for p, n in long.items() if n > LINE_LIMIT and p not in explained}
    assert not unexplained, ("split these by role, or say why not in DEVELOPERS.md under "
                             f"'## Long modules': {unexplained}")
    stale = {p for p in explained if long.get(p, 0) <= LINE_LIMIT}
    assert not stale, f"DEVELOPERS.md explains modules that are no longer long (or gone): {stale}"


def test_setup_cfg_ships_every_package_and_nothing_else():
    import configparser

    parser = configparser.ConfigParser()
    parser.read(REPO / "setup.cfg")
    listed = [p.strip() for p in parser["options"]["packages"].split("\n") if p.strip()]
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in PACKAGE.rglob("__init__.py")
               if "__pycache__" not in p.parts} | {"pisa.registry"}
    assert sorted(listed) == sorted(on_disk), (
        f"setup.cfg [options] packages: missing {sorted(on_disk - set(listed))}, "
        f"not packages {sorted(set(listed) - on_disk)}")
