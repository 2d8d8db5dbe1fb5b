"""Annotation adapters: one released dataset layout per module."""
