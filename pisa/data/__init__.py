"""Data: clip samplers, annotation adapters (PISA, generic CSV/JSON lines, MTL-AQA),
pipeline transforms, mel images, the prepared cache and the bad-sample report. Each
component is registered where it is defined (``@component``)."""
