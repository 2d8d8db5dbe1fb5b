# The PISA reference model (pisa_multimodal.py) with a third branch on the notes a
# transcriber hears (the pisa-transcription plugin): per clip a piano roll through a small
# CNN (PianoRollEncoder, 128-d) beside the clip's 21 note descriptors, averaged over clips,
# then the whole performance's 21 descriptors beside them (each standardised by a
# BatchNorm: hand-made features come in unrelated units). The multimodal branch fuses
# video, audio and notes by the same concatenation; every branch has its own head and
# Eq. 1's terms. Derived configs pick the branches (the ablations in configs/pisa/ablations).
_base_ = ['pisa_multimodal.py']
required_plugins = ['pisa-transcription']
model = dict(
    notes_backbone=dict(type='PianoRollEncoder', in_channels=3, width=16, feature_dim=128),
    notes_aggregator=dict(type='AvgAggregator'),
    extra_features=dict(notes=dict(clip=21, sample=21)),
    fusion_modalities=('video', 'audio', 'notes'),
    branches=('video', 'audio', 'notes', 'multimodal'),
    decision_branch='multimodal')
