# Ablation (aggregator): clip features max-pooled instead of averaged.
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
model = dict(
    video_aggregator=dict(type='MaxAggregator'),
    audio_aggregator=dict(type='MaxAggregator'))
