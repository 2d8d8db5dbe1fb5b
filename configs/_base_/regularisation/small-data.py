# A schedule for small training sets: AdamW with weight decay 1e-2 (adamw_wd-1e-2.py,
# inherited), 30 epochs instead of the paper's 100, a peak lr of 5e-5 (half the paper's
# 1e-4), reached by a linear warm-up over the first epoch from a tenth of it, then a cosine
# decay to a hundredth of it at the last epoch (mmengine ends the cosine at the run's
# max_epochs, so a config that changes train_cfg.max_epochs keeps the shape; it needs
# max_epochs >= 2), updated every iteration. Validation every epoch (checkpoint selection,
# early stopping). Pair it with early-stopping.py and the model presets.
#
# Use: in place of '../_base_/schedules/adam_1e-4_100e.py' in a config's _base_ list. An
# lr a config sets in its body (optim_wrapper = dict(optimizer=dict(lr=...))) replaces the
# peak; the warm-up and the cosine follow it (they scale the lr they find).
_base_ = ['./adamw_wd-1e-2.py']
optim_wrapper = dict(optimizer=dict(lr=5e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, end_factor=1.0, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.01, by_epoch=True, begin=1,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=30, val_interval=1)
