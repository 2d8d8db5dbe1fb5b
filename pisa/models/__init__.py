"""Backbones, aggregators, fusions, heads, losses, the AQA model and its data preprocessor,
and the video recognizer used to pretrain a video backbone."""
