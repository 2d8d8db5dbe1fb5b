# Early stopping: the default runtime (../default_runtime.py) plus mmengine's
# EarlyStoppingHook, as pisa's ResumableEarlyStoppingHook (the same hook with its state
# saved in checkpoints), which ends training once the metric the run selects its
# checkpoint on (default_hooks.checkpoint.save_best, 'accuracy', with its rule, 'greater')
# has not improved on its best by at least min_delta for `patience` validations in a row.
# The checkpoint tested is still the best one on validation; results.json records the stop
# under `early_stop` (stopped, epochs trained, reason).
#
# Use: in place of '../_base_/default_runtime.py' in a config's _base_ list. mmengine
# refuses two bases of one config that define the same key ("Duplicate key is not allowed
# among bases": custom_hooks here and in default_runtime.py), so this file inherits the
# runtime and extends its hook list; every hook the runtime lists stays. A config that
# writes custom_hooks in its own body replaces the list: it extends it instead,
# custom_hooks = _base_.custom_hooks + [dict(type='ChannelsLastHook')].
# The monitor follows save_best as the runtime sets it; a config that selects on another
# metric sets the hook's monitor too. A resumed run goes on with the best value and wait
# count of its checkpoint and repeats the validation that ran after that checkpoint was
# written, so it stops where an uninterrupted run stops. `pisa test` leaves the hook out
# (it reads the training loop, which a test run does not build).
_base_ = ['../default_runtime.py']
custom_hooks = _base_.custom_hooks + [
    dict(type='ResumableEarlyStoppingHook',
         monitor=_base_.default_hooks.checkpoint.save_best,
         rule=_base_.default_hooks.checkpoint.rule,
         min_delta=0.001,  # mmengine's default (0.1) is ten accuracy points
         patience=10,  # a third of small-data.py's 30 epochs: a slow start is not a plateau
         strict=True),  # a monitor missing from the validation metrics is an error
]
