"""pisa plugin: a small transformer-encoder clip aggregator.

``TransformerAggregator``: clip features ``(B, K, D)`` -> optional Linear to
``embed_dim`` -> learned position embeddings -> ``num_layers`` transformer-encoder
layers -> the output at a learned CLS token (``pool='cls'``) or the mean over clips
(``pool='mean'``): ``(B, embed_dim)`` (``embed_dim`` defaults to ``D``).
"""
from __future__ import annotations

from pisa.plugin_api import hookimpl
from pisa_transformer_aggregator.aggregator import TransformerAggregator

__version__ = "0.1.0"


@hookimpl
def pisa_register_components(register) -> None:
    register("aggregator", TransformerAggregator)
