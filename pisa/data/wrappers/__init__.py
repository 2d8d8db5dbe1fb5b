"""Datasets over another dataset: exemplar pairs, extracted clip features."""
