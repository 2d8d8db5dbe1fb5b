# The PISA visual branch on frozen reference-C3D features (16x112x112 clips -> 4096-d,
# 10 clips per sample, unidist) of the synthetic dataset: clip features averaged, the
# paper's 128-d head with 10 levels and one regression value, CE x 1 + (L1 + L2) x 0.1,
# Adam 1e-4 for 100 epochs. `pisa extract-features CONFIG` first (the C3D weights:
# $PISA_BACKBONE_WEIGHTS), then `pisa train CONFIG`.
_base_ = [
    '_synthetic_features.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='FeatureAQAModel',
    in_features=4096,
    video_aggregator=dict(type='AvgAggregator'),
    head=dict(type='LevelHead', hidden=128, num_classes=10, dropout=0.0),
    losses=[dict(type='CrossEntropyLoss', weight=1.0), dict(type='L1L2Loss', weight=0.1)],
    branches=('video', ),
    decision_branch='video')
