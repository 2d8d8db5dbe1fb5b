# GDLT's grade-query scorer (GDLTHead) on features of torchvision's R3D-18 (the
# pisa-torchvision-video plugin; 16x112x112 clips -> 512-d, Kinetics normalisation) over
# the synthetic dataset's 10-clip unidist samples: 4 grade queries, their score mapped to
# levels 0..9, a level classifier on the mean query, CE x 1 + (L1 + L2) x 0.1 and GDLT's
# triplet term on the queries. The weights: a local torchvision state dict (e.g.
# Kinetics-400, saved with torch.save) in $PISA_BACKBONE_WEIGHTS.
_base_ = [
    '_synthetic_features.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
_extractor = dict(
    backbone=dict(_delete_=True, type='TorchvisionR3D18'),
    weights='{{$PISA_BACKBONE_WEIGHTS:work_dirs/backbones/r3d_18_kinetics400.pth}}',
    data_preprocessor=dict(mean=[0.43216, 0.394666, 0.37645], std=[0.22803, 0.22145, 0.216989]))
train_dataloader = dict(dataset=dict(extractor=_extractor))
val_dataloader = dict(dataset=dict(extractor=_extractor))
test_dataloader = dict(dataset=dict(extractor=_extractor))
model = dict(
    type='FeatureAQAModel',
    in_features=512,
    sequence_head=dict(type='GDLTHead', hidden=256, num_heads=1, num_encoder_layers=1,
                       num_decoder_layers=2, num_queries=4, dropout=0.3, score_range=(0.0, 9.0),
                       num_classes=10, triplet_weight=1.0, margin=1.0),
    losses=[dict(type='CrossEntropyLoss', weight=1.0), dict(type='L1L2Loss', weight=0.1)],
    branches=('video', ),
    decision_branch='video')
