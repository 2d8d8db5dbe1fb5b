# The PISA visual branch alone: the reference model (pisa_multimodal.py) without the
# audio backbone and the fusion: C3D (16x112x112 clips -> 4096-d), averaged over clips, a
# 128-d head with 10 level classes and one regression value; CE x 1 + (L1 + L2) x 0.1.
_base_ = ['pisa_multimodal.py']
model = dict(
    audio_backbone=None,
    audio_aggregator=None,
    fusion=None,
    branches=('video', ),
    decision_branch='video')
