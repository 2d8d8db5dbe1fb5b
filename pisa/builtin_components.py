"""The framework's own components, registered through the same hook as any plugin.

Each component is marked where it is defined (``@component(kind)`` from
:mod:`pisa.registry`); this plugin imports every module of the packages below and
registers what they mark, so adding a component needs no list edited anywhere.
"""
from __future__ import annotations

import pkgutil
from importlib import import_module
from typing import Iterator

from pisa.hookspecs import hookimpl

#: packages whose modules define components
BUILTIN_PACKAGES = ("pisa.data", "pisa.models", "pisa.evaluation", "pisa.engine")


def builtin_modules() -> Iterator[str]:
    """Every module of :data:`BUILTIN_PACKAGES` and their subpackages, imported, in name
    order."""
    for package in BUILTIN_PACKAGES:
        pkg = import_module(package)
        yield package
        modules = pkgutil.walk_packages(pkg.__path__, package + ".")
        for info in sorted(modules, key=lambda m: m.name):
            import_module(info.name)
            yield info.name


@hookimpl
def pisa_register_components(register) -> None:
    from pisa.registry import marked_components

    for module in builtin_modules():
        for kind, name, obj in marked_components(module):
            register(kind, obj, name=name)
