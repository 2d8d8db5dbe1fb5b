"""The framework's own components, registered through the same hook as any plugin."""
from __future__ import annotations

from importlib import import_module

from pisa.hookspecs import hookimpl

#: modules that define a ``register_components(register)`` function
BUILTIN_MODULES = [
    "pisa.models",
    "pisa.data",
    "pisa.engine",
    "pisa.evaluation",
]


@hookimpl
def pisa_register_components(register) -> None:
    for name in BUILTIN_MODULES:
        import_module(name).register_components(register)
