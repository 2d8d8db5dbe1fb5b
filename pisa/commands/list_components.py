"""``pisa list [KIND]``: every registered component, with where it came from."""
from __future__ import annotations

import argparse

from pisa.commands import CLIError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", help="only this kind (backbone, aggregator, ...)")


def run(args: argparse.Namespace) -> int:
    from pisa.plugin_loader import failures, registrations
    from pisa.registry import KINDS

    if args.kind is not None and args.kind not in KINDS:
        raise CLIError(f"unknown kind {args.kind!r}; kinds: {', '.join(KINDS)}")
    rows = registrations(args.kind)
    width_kind = max([len(r.kind) for r in rows] + [4])
    width_name = max([len(r.name) for r in rows] + [4])
    print(f"{'KIND':<{width_kind}}  {'NAME':<{width_name}}  SOURCE")
    for r in rows:
        print(f"{r.kind:<{width_kind}}  {r.name:<{width_name}}  {r.source}")
    for name, error in failures().items():
        print(f"(plugin {name!r} failed to load: {error})")
    return 0
