"""Benchmarks of pisa-aqa: every figure is a ratio between the framework's way and a
baseline measured side by side in the same run (``python -m benchmarks [--quick]``; see
``benchmarks/README.md``)."""
