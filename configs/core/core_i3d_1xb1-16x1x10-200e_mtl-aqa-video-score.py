# CoRe on MTL-AQA in its paper's setting, with the Kinetics I3D (github.com/yuxumin/CoRe:
# MTL_CoRe.yaml, datasets/MTLPair.py, tools/builder.py, models/Backbone.py):
# - frames: the 103 frames before each dive's annotated end frame (`frame_length: 103`;
#   MTLPair.load_video: end_frame - 103 .. end_frame - 1), moved by -3..3 frames in
#   training (`temporal_shift_min/max`); 10 clips of 16 starting at 0, 10, ..., 80, 86
#   (Backbone.py `start_idx`), features averaged. (A shift past the annotated end
#   repeats the end frame: CoRe reads on into the recording, a trimmed dive stops there.)
# - pixels: resized to 455 high x 256 wide (torchvideotransforms' Resize((455, 256)) on
#   PIL frames passes (256, 455) to PIL's (width, height) resize), a random 224 x 224 crop
#   and a horizontal flip in training, the centre crop in testing, ImageNet mean/std;
# - exemplars: a training dive of the same difficulty (`usingDD`), 10 voters in testing;
#   execution score (final / difficulty), score_range 30, groups from the training pairs;
# - split: the released train_split_0 / test_split_0; no validation split, the last
#   epoch is tested. Optimiser and epochs: _core_i3d.py.
_base_ = ['../_base_/datasets/mtl_aqa.py', '_core_i3d.py']
meta_keys = ('difficulty', )
window = dict(_delete_=True, type='WindowClipSampler', window=103, starts=(0, 10, 20, 30, 40, 50, 60, 70, 80, 86),
              clip_len=16, anchor='end', offset=-1)  # replaces the base's sampler
train_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(455, 256)),
    dict(type='RandomCrop', size=(224, 224)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackAQAInputs', modalities=('video', ), meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(224, 224), resize=(455, 256)),
    dict(type='PackAQAInputs', modalities=('video', ), meta_keys=meta_keys),
]
pairs = dict(type='ExemplarDataset', dataset_type='MTLAQADataset', same=('difficulty', ),
             fallback='self')
train_dataloader = dict(
    batch_size=1,
    dataset=dict(pairs, num_exemplars=1, pipeline=train_pipeline,
                 clip_sampler=dict(window, shift=(-3, 3))))
test_dataloader = dict(
    batch_size=1,
    dataset=dict(pairs, num_exemplars=10, pipeline=test_pipeline, clip_sampler=window))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
