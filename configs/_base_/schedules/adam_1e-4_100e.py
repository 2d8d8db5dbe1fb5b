# The paper's schedule (Sec. 5): Adam, learning rate 1e-4, 100 epochs, constant rate.
# (Its batch size of 4 belongs to the dataloaders, in the dataset configs.)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
