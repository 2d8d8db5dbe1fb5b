# GDLT's schedule: SGD (lr 1e-2, momentum 0.9, weight decay 1e-4), the rate cosine-annealed
# to 1 % of itself over the run (`--lr-decay cos --decay-rate 0.01`); a config sets
# max_epochs and the scheduler's T_max together.
max_epochs = 250
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-2, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-4, by_epoch=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
