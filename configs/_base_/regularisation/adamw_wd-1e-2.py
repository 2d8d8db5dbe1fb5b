# AdamW (decoupled weight decay, Loshchilov & Hutter 2019) with weight decay 1e-2 on the
# weights, none on biases and normalisation layers; everything else of the schedule kept.
#
# Use: in place of '../_base_/schedules/adam_1e-4_100e.py' in a config's _base_ list.
# The lr: mmengine merges this partial optim_wrapper into the one of the schedule it
# inherits, so that schedule's lr (1e-4) stays, and so does an lr a config sets in its own
# body (optim_wrapper = dict(optimizer=dict(lr=1e-3))). It cannot be put beside another
# schedule: mmengine refuses two bases of one config that define the same key
# (optim_wrapper), and a base only changes what it inherits; small-data.py inherits this
# file.
_base_ = ['../schedules/adam_1e-4_100e.py']
optim_wrapper = dict(
    optimizer=dict(type='AdamW', weight_decay=1e-2),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0))
