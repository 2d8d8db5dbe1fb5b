# GDLT on the released Rhythmic Gymnastics features, apparatus Ball, 250 epochs (GDLT's
# README: 250/400/500/150 for Ball/Clubs/Hoop/Ribbon); Spearman's rho on the test split.
_base_ = [
    '../_base_/models/gdlt.py',
    '../_base_/datasets/rg_features.py',
    '../_base_/schedules/sgd_1e-2_cos.py',
    '../_base_/default_runtime.py',
]
_dataset = dict(action_type='Ball')
train_dataloader = dict(dataset=_dataset)
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)
train_cfg = dict(max_epochs=250)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=250, eta_min=1e-4, by_epoch=True)]
default_hooks = dict(checkpoint=dict(save_best='spearman', rule='greater'))
# the classical-feature baseline reads media; released features come without them
baselines = [dict(type='MajorityBaseline')]
