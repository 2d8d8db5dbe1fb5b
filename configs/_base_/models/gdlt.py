# GDLT (Xu et al., CVPR 2022) on 1024-d clip features, its README's settings: a 256-d
# transformer (1 head, 1 encoder and 2 decoder layers), 4 grade queries, dropout 0.3; the
# MSE on the scaled score plus its triplet term on the queries (alpha 1.0, margin 1.0).
model = dict(
    type='FeatureAQAModel',
    in_features=1024,
    sequence_head=dict(type='GDLTHead', hidden=256, num_heads=1, num_encoder_layers=1,
                       num_decoder_layers=2, num_queries=4, dropout=0.3,
                       score_range=(0.0, 1.0), num_classes=0, triplet_weight=1.0, margin=1.0),
    losses=[dict(type='L1L2Loss', weight=1.0, l1=0.0, l2=1.0, loss_name='mse')],
    branches=('video', ),
    decision_branch='video')
