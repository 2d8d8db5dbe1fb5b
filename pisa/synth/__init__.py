"""Synthetic piano performances: a PISA-like dataset rendered from a seed, for the demo,
the tests and the benchmarks (:mod:`.render`). Not part of the loading code: it writes
the files the datasets read."""
from pisa.synth.render import SynthSettings, plan_performances, synthesize_dataset

__all__ = ["SynthSettings", "plan_performances", "synthesize_dataset"]
