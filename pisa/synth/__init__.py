"""Synthetic piano performances: a PISA-like dataset rendered from a seed, for the demo,
the tests and the benchmarks (:mod:`.plan`, :mod:`.render`, :mod:`.dataset`). Not part of the loading code: it writes
the files the datasets read."""
from pisa.synth.dataset import synthesize_dataset
from pisa.synth.plan import SynthSettings, plan_performances

__all__ = ["SynthSettings", "plan_performances", "synthesize_dataset"]
