# USDL's model (the pisa-usdl plugin; Tang et al., CVPR 2020) over the framework's C3D:
# C3D on 16x112x112 clips (the PISA reference widths, 4096-d), clip features averaged,
# the authors' evaluator MLP (256, 128) to 101 score bins, the score as a Gaussian over
# the bins (sigma 5 bins) learned with a KL divergence and decoded as the argmax bin.
# The range (score_min..score_max, 0..104.5 on MTL-AQA) is set in both the head and the
# loss; frames are normalised with the ImageNet mean/std, as the authors' loader does.
model = dict(
    type='ScoreDistributionModel',
    data_preprocessor=dict(
        type='AQADataPreprocessor',
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225]),
    video_backbone=dict(
        type='C3D', widths=(64, 128, 256, 256, 256), feature_dim=None,
        clip_len=16, size=112, dropout=0.0, pretrained=None),
    video_aggregator=dict(type='AvgAggregator'),
    fusion=None,
    branches=('video', ),
    head=dict(type='USDLHead', num_bins=101, score_min=0.0, score_max=104.5, hidden=(256, 128)),
    losses=[dict(type='USDLLoss', score_min=0.0, score_max=104.5, sigma=5.0)])
