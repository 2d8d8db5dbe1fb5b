# CoRe's model and schedule (the pisa-core plugin; Yu et al., ICCV 2021) over the
# framework's C3D: query and exemplar through one C3D (16x112x112 clips, 4096-d, clip
# features averaged), the group-aware regression tree (depth 5: 16 groups, hidden 256) on
# [exemplar, query, exemplar score / 30]; Adam 1e-3 with the backbone at 0.1x, no weight
# decay, batch 1 with gradients accumulated over 2 steps, 200 epochs (CoRe's
# MTL_CoRe.yaml). CoReGroupHook builds the tree's groups from the training pairs.
_base_ = ['../_base_/default_runtime.py']
model = dict(
    type='CoReModel',
    data_preprocessor=dict(
        type='ExemplarDataPreprocessor',
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225]),
    backbone=dict(
        type='C3D', widths=(64, 128, 256, 256, 256), feature_dim=None,
        clip_len=16, size=112, dropout=0.0, pretrained=None),
    aggregator=dict(type='AvgAggregator'),
    tree_depth=5,
    tree_hidden=256,
    score_range=30.0,
    divide_by='difficulty')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.0),
    accumulative_counts=2,
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200, val_interval=1)
test_cfg = dict(type='TestLoop')
custom_hooks = _base_.custom_hooks + [dict(type='CoReGroupHook')]
default_hooks = dict(checkpoint=dict(save_best=None))
