# Dropout with p = 0.5 in every branch head (LevelHead: after its 128-unit hidden layer,
# before the classifier and the regressor); nothing else of the model changes.
#
# Use: in place of '../_base_/models/pisa_multimodal.py' in a config's _base_ list.
# mmengine refuses two bases of one config that define the same key (model), so this file
# inherits the reference model and changes its head; label-smoothing-0.1.py is the other
# model preset, and a config wanting both takes one as its base and writes the other in
# its body: here model = dict(head=dict(dropout=0.5)), which mmengine merges into the
# inherited model (also over pisa_video.py or pisa_audio.py).
_base_ = ['../models/pisa_multimodal.py']
model = dict(head=dict(dropout=0.5))
