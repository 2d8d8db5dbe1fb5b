"""Table 1 of the PISA paper, reproduced: each (modality, sampling) cell trained over
seeds under one evaluation protocol, written as one Table 1-shaped markdown table beside
the paper's numbers (``pisa reproduce``)."""
from __future__ import annotations

import os.path as osp
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Mapping, Sequence, Tuple

from mmengine.dist import is_main_process

from pisa.engine.experiment import run_experiment
from pisa.engine.protocols import PROTOCOLS
from pisa.engine.runner import RunOptions
from pisa.engine.validate import ConfigError
from pisa.evaluation.reports import format_table1
from pisa.io.atomic import atomic_write, write_json

Cell = Tuple[str, str]
MODALITIES = ("video", "audio", "multimodal")
SCHEMES = ("contiguous", "unidist")
#: the paper's Table 1: sample-level test accuracy (%), 476 test samples
PAPER_TABLE1: Dict[Cell, float] = {
    ("video", "contiguous"): 65.55, ("video", "unidist"): 73.95,
    ("audio", "contiguous"): 53.36, ("audio", "unidist"): 64.50,
    ("multimodal", "contiguous"): 61.55, ("multimodal", "unidist"): 74.60,
}
#: the six Table 1 configs, relative to the repository's configs/ folder
TABLE1_CONFIGS: Dict[Cell, str] = {
    ("video", "contiguous"): "pisa/pisa_c3d_1xb4-16x1x10-100e_pisa-video-consecutive.py",
    ("video", "unidist"): "pisa/pisa_c3d_1xb4-16x1x10-100e_pisa-video-unidist.py",
    ("audio", "contiguous"): "pisa/pisa_r18_1xb4-16x1x10-100e_pisa-audio-consecutive.py",
    ("audio", "unidist"): "pisa/pisa_r18_1xb4-16x1x10-100e_pisa-audio-unidist.py",
    ("multimodal", "contiguous"): "pisa/pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-consecutive.py",
    ("multimodal", "unidist"): "pisa/pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py",
}


def parse_cell(text: str) -> Tuple[Cell, str]:
    """``'video-unidist=CONFIG'`` -> ``(('video', 'unidist'), 'CONFIG')``."""
    name, sep, config = text.partition("=")
    modality, _, scheme = name.partition("-")
    if not sep or modality not in MODALITIES or scheme not in SCHEMES or not config:
        raise ConfigError(f"--cell {text!r}: expected MODALITY-SCHEME=CONFIG with MODALITY one "
                          f"of {', '.join(MODALITIES)} and SCHEME one of {', '.join(SCHEMES)}")
    return (modality, scheme), config


def default_cells(configs_dir: str = "configs") -> Dict[Cell, str]:
    """The six Table 1 configs under ``configs_dir``; a missing one is an error naming it."""
    cells = {cell: str(Path(configs_dir) / rel) for cell, rel in TABLE1_CONFIGS.items()}
    missing = [c for c in cells.values() if not Path(c).is_file()]
    if missing:
        raise FileNotFoundError(f"Table 1 configs not found: {', '.join(missing)} (run from the "
                                "repository root, or name each cell with --cell)")
    return cells


def reproduce(cells: Mapping[Cell, str], opts: RunOptions, seeds: Sequence[int],
              metric: str = "accuracy") -> Dict[str, Any]:
    """Train every cell over ``seeds`` in ``<work_dir>/<modality>-<scheme>/seed<N>`` under
    ``opts.protocol``; write ``<work_dir>/table1.md`` (mean ± std of the test ``metric``
    in percent per cell, the paper's number beside it) and ``<work_dir>/table1.json``.
    Returns the JSON's content."""
    if not cells:
        raise ConfigError("pisa reproduce: no cells to run")
    base = opts.work_dir or osp.join("work_dirs", "reproduce")
    summaries = {}
    for (modality, scheme), config in cells.items():
        run_opts = replace(opts, work_dir=osp.join(base, f"{modality}-{scheme}"))
        summaries[(modality, scheme)] = run_experiment(config, run_opts, seeds=seeds)
    table = format_table1({cell: s["metrics"].get(metric) for cell, s in summaries.items()},
                          PAPER_TABLE1, metric=metric, protocol=opts.protocol,
                          protocol_description=PROTOCOLS[opts.protocol].description,
                          seeds=list(seeds))
    report = {
        "protocol": opts.protocol, "metric": metric, "seeds": list(seeds),
        "cells": {f"{m}-{s}": {"config": cells[(m, s)], "paper": PAPER_TABLE1.get((m, s)),
                               "metric": summaries[(m, s)]["metrics"].get(metric),
                               "work_dirs": summaries[(m, s)]["work_dirs"]}
                  for m, s in summaries},
        "table": table,
    }
    if is_main_process():
        atomic_write(osp.join(base, "table1.md"), table + "\n")
        write_json(osp.join(base, "table1.json"), report)
    return report
