# C3D (the PISA video backbone) trained from scratch on UCF101 action recognition, to
# pretrain the video branch: one 16-frame clip per video (16x1x1), frames resized to
# 128x171, a random 112x112 crop and a left-right flip in training, the centre clip and
# centre crop in testing; SGD, 45 epochs. Validation is the split's test list (UCF101 has
# no separate validation set); the best checkpoint is chosen on top-1 accuracy.
# The backbone is the PISA configs' C3D (pool5 padded, the 4096-d flattened pool5 with no
# projection) normalised the same way (ImageNet mean/std, as the released PISA loader
# fed its C3D), so the exported weights are exactly what the PISA video branch runs.
#
#   pisa train configs/pretrain/c3d_16x1x1-ucf101-split1.py --data-root data/ucf101
#   pisa export-backbone work_dirs/.../best_top1_epoch_N.pth --prefix backbone. --out c3d_ucf101.pth
#   then set video_backbone.pretrained='c3d_ucf101.pth' in a PISA config.
#
# The data root holds the class folders (ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi, ...)
# and classInd.txt with the split lists, unless the datasets' split_dir names another
# folder (--cfg-options train_dataloader.dataset.split_dir=DIR val_dataloader.dataset.split_dir=DIR).
# Splits 2 and 3: UCF101_SPLIT=2, or --cfg-options train_dataloader.dataset.split=2
# val_dataloader.dataset.split=2 test_dataloader.dataset.split=2.
_base_ = ['../_base_/default_runtime.py']

data_root = '{{$PISA_DATA_ROOT:data/ucf101}}'
split_dir = None  # classInd.txt and the lists are in data_root
ucf101_split = '{{$UCF101_SPLIT:1}}'
num_classes = 101
clip_len = 16
resize = (128, 171)
crop = 112

model = dict(
    type='VideoRecognizer',
    data_preprocessor=dict(
        type='AQADataPreprocessor',
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225]),
    backbone=dict(
        type='C3D', widths=(64, 128, 256, 256, 256), feature_dim=None,
        clip_len=clip_len, size=crop, dropout=0.5),
    aggregator=dict(type='AvgAggregator'),
    num_classes=num_classes,
    dropout=0.5,
    loss=dict(type='CrossEntropyLoss'))

train_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=resize),
    dict(type='RandomCrop', size=crop),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackAQAInputs', modalities=('video', )),
]
test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=resize),
    dict(type='CenterCrop', size=crop),
    dict(type='PackAQAInputs', modalities=('video', )),
]
dataset = dict(type='UCF101Dataset', data_root=data_root, split=ucf101_split,
               split_dir=split_dir, modalities=('video', ))

train_dataloader = dict(
    batch_size=30, num_workers=2, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, subset='train', pipeline=train_pipeline,
                 clip_sampler=dict(type='RandomClipSampler', num_clips=1, clip_len=clip_len)))
val_dataloader = dict(
    batch_size=30, num_workers=2, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, subset='test', pipeline=test_pipeline, test_mode=True,
                 clip_sampler=dict(type='CenterClipSampler', num_clips=1, clip_len=clip_len)))
test_dataloader = val_dataloader
val_evaluator = dict(type='TopKAccuracy', topk=(1, 5))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[20, 40], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=45, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=5, save_best='top1', rule='greater'))
baselines = []  # action recognition, not assessment: no level or score baselines
