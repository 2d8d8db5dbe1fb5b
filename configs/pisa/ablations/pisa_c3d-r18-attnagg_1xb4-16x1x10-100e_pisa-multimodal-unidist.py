# Ablation (aggregator): clip features pooled with learned attention weights instead of
# averaged.
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
model = dict(
    video_aggregator=dict(type='AttentionPoolAggregator'),
    audio_aggregator=dict(type='AttentionPoolAggregator'))
