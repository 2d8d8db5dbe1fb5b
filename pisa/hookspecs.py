"""The hooks a pisa plugin may implement.

A plugin is a module named by a setuptools entry point in group ``pisa``::

    [options.entry_points]
    pisa =
        my_backbones = my_package.pisa_plugin

and implements hooks with :data:`hookimpl`, which it imports from the public plugin
API (:mod:`pisa.plugin_api`, the one pisa module a plugin imports)::

    from pisa.plugin_api import hookimpl

    @hookimpl
    def pisa_register_components(register):
        register("backbone", MyBackbone)
"""
from __future__ import annotations

from typing import Callable

import pluggy

PROJECT = "pisa"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def pisa_register_components(register: Callable[..., None]) -> None:
    """Register components with ``register(kind, obj, name=None, override=False)``.

    ``kind`` is one of the names in :data:`pisa.registry.KINDS` (``"backbone"``,
    ``"aggregator"``, ``"fusion"``, ``"head"``, ``"loss"``, ``"model"``, ``"dataset"``,
    ``"transform"``, ``"clip_sampler"``, ``"metric"``, ``"hook"``, ...). ``name``
    defaults to ``obj.__name__``. Registering a name that another source already
    registered is an error unless ``override=True``.
    """
