"""Plugin loading: pluggy over setuptools entry points in group ``pisa``.

Plugins load once, lazily, the first time a registry is looked up (this module installs
:func:`load_plugins` with :func:`pisa.registry.before_first_lookup`; importing :mod:`pisa`
imports it) or :func:`load_plugins` is called. The framework's own components register through the same hook as a plugin
named ``builtin``.

``PISA_PLUGINS`` limits what loads: unset loads every installed plugin; an empty value
or ``0``/``none`` loads none; otherwise a comma-separated list of entry-point names.
"""
from __future__ import annotations

import importlib.metadata as importlib_metadata
import os
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import pluggy

from pisa import hookspecs
from pisa.registry import KINDS, before_first_lookup

ENTRY_POINT_GROUP = "pisa"
ENV_VAR = "PISA_PLUGINS"
BUILTIN = "built-in"


class PluginError(RuntimeError):
    """A plugin broke the registry's rules (a clashing name, an unknown kind)."""


class PluginWarning(UserWarning):
    """A plugin failed to load; the other plugins still load."""


@dataclass(frozen=True)
class Registration:
    kind: str
    name: str
    obj: Any
    source: str  # "built-in" or "<distribution> <version>"
    plugin: str  # entry-point name, or "builtin"


_lock = threading.RLock()
_loaded = False
_registrations: Dict[Tuple[str, str], Registration] = {}
_failures: Dict[str, str] = {}


def _selected(names: List[str]) -> Optional[set]:
    """The entry-point names ``PISA_PLUGINS`` admits, or None for all."""
    value = os.environ.get(ENV_VAR)
    if value is None:
        return None
    value = value.strip()
    if value.lower() in ("", "0", "none", "off", "false"):
        return set()
    return {v.strip() for v in value.split(",") if v.strip()}


def _make_register(plugin: str, source: str, undo: Dict[Tuple[str, str], Any]):
    def register(kind: str, obj: Any, name: Optional[str] = None, override: bool = False) -> None:
        if kind not in KINDS:
            raise PluginError(
                f"plugin {plugin!r} registers unknown kind {kind!r}; kinds: {', '.join(KINDS)}"
            )
        name = name or obj.__name__
        previous = _registrations.get((kind, name))
        if previous is not None and previous.obj is not obj and not override:
            raise PluginError(
                f"plugin {plugin!r} ({source}) registers {kind} {name!r}, which "
                f"{previous.plugin!r} ({previous.source}) already registered; choose another "
                "name or register with override=True"
            )
        undo.setdefault((kind, name), previous)
        KINDS[kind].register_module(name=name, module=obj, force=True)
        _registrations[(kind, name)] = Registration(kind, name, obj, source, plugin)

    return register


def _entry_points() -> List[importlib_metadata.EntryPoint]:
    eps = importlib_metadata.entry_points(group=ENTRY_POINT_GROUP)
    unique = {}
    for ep in eps:  # the same distribution can be seen twice on sys.path
        unique.setdefault(ep.name, ep)
    return sorted(unique.values(), key=lambda ep: ep.name)


def load_plugins() -> None:
    """Load the built-in components and the admitted entry-point plugins, once."""
    global _loaded
    with _lock:
        if _loaded:
            return
        _loaded = True  # set first: registering builds nothing, but guards re-entry
        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)
        from pisa import builtin_components

        plugins: List[Tuple[str, str, Any]] = [("builtin", BUILTIN, builtin_components)]
        eps = _entry_points()
        admitted = _selected([ep.name for ep in eps])
        for ep in eps:
            if admitted is not None and ep.name not in admitted:
                continue
            dist = getattr(ep, "dist", None)
            source = f"{dist.name} {dist.version}" if dist is not None else ep.value
            try:
                module = ep.load()
            except Exception as err:  # a broken plugin must not break the others
                _failures[ep.name] = f"{type(err).__name__}: {err}"
                warnings.warn(
                    f"pisa plugin {ep.name!r} ({source}) failed to import: "
                    f"{type(err).__name__}: {err}",
                    PluginWarning,
                    stacklevel=2,
                )
                continue
            plugins.append((ep.name, source, module))
        for name, _, module in plugins:
            manager.register(module, name=name)
        for name, source, module in plugins:
            caller = manager.subset_hook_caller(
                "pisa_register_components",
                remove_plugins=[m for n, _, m in plugins if n != name],
            )
            if name == "builtin":  # the framework's own errors are bugs: raise
                caller(register=_make_register(name, source, {}))
                continue
            undo: Dict[Tuple[str, str], Optional[Registration]] = {}
            try:
                caller(register=_make_register(name, source, undo))
            except Exception as err:  # report it by name; the others keep working
                _rollback(undo)
                _failures[name] = f"{type(err).__name__}: {err}"
                warnings.warn(
                    f"pisa plugin {name!r} ({source}) failed while registering and was "
                    f"not loaded: {type(err).__name__}: {err}",
                    PluginWarning,
                    stacklevel=2,
                )


def _rollback(undo: Dict[Tuple[str, str], Optional[Registration]]) -> None:
    """Take back what a failed plugin registered, restoring what it overrode."""
    for (kind, name), previous in undo.items():
        if previous is None:
            KINDS[kind]._module_dict.pop(name, None)
            _registrations.pop((kind, name), None)
        else:
            KINDS[kind].register_module(name=name, module=previous.obj, force=True)
            _registrations[(kind, name)] = previous


def registrations(kind: Optional[str] = None) -> List[Registration]:
    """Every registered component (of ``kind``), sorted by kind and name."""
    load_plugins()
    items = [r for r in _registrations.values() if kind is None or r.kind == kind]
    return sorted(items, key=lambda r: (r.kind, r.name.lower()))


def failures() -> Dict[str, str]:
    """Plugins that failed to load: entry-point name -> error."""
    load_plugins()
    return dict(_failures)


before_first_lookup(load_plugins)
