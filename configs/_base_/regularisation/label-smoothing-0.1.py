# Label smoothing 0.1 in the cross-entropy of every branch (torch's
# cross_entropy(label_smoothing=0.1): the target puts 0.9 + 0.1 / C on the true level and
# 0.1 / C on each other one); the other losses and every weight stay as the model has them.
#
# Use: in place of '../_base_/models/pisa_multimodal.py' in a config's _base_ list.
# The model's losses are a list, which mmengine replaces as a whole when a config sets it
# (it merges dicts, not lists), so the list is rebuilt here from the inherited one with
# label_smoothing added to each CrossEntropyLoss. mmengine refuses two bases of one config
# that define the same key (model); a config wanting this over another model, or beside
# head-dropout-0.5.py, writes the same line in its body, after its own _base_ list:
#     model = dict(losses=[dict(loss, label_smoothing=0.1) if loss.type == 'CrossEntropyLoss'
#                          else loss for loss in _base_.model.losses])
# or gives --cfg-options model.losses.0.label_smoothing=0.1 (the CE loss's position).
_base_ = ['../models/pisa_multimodal.py']
model = dict(losses=[dict(loss, label_smoothing=0.1) if loss.type == 'CrossEntropyLoss'
                     else loss for loss in _base_.model.losses])
