# GDLT on the released Fis-V features, target TES, 320 epochs, dropout 0.7 and triplet
# weight 0.5 (the settings the public GDLT forks run Fis-V with); Spearman's rho on the
# test split.
_base_ = [
    '../_base_/models/gdlt.py',
    '../_base_/datasets/fisv_features.py',
    '../_base_/schedules/sgd_1e-2_cos.py',
    '../_base_/default_runtime.py',
]
_dataset = dict(score_type='TES')
train_dataloader = dict(dataset=_dataset)
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)
model = dict(sequence_head=dict(dropout=0.7, triplet_weight=0.5))
train_cfg = dict(max_epochs=320)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=320, eta_min=1e-4, by_epoch=True)]
default_hooks = dict(checkpoint=dict(save_best='spearman', rule='greater'))
# the classical-feature baseline reads media; released features come without them
baselines = [dict(type='MajorityBaseline')]
