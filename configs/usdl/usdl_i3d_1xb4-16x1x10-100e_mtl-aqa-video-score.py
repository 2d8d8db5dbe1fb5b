# USDL on MTL-AQA in its authors' setting, with the Kinetics I3D (github.com/nzl-thu/MUSDL,
# MTL-AQA/: opts.py, config.py, dataset.py, main.py, run.sh):
# - frames: the dive's first 103 frames (`num_frames`), moved by 0..6 frames in training
#   (`--temporal_aug 6`); 10 clips of 16 starting at 0, 10, ..., 80 and the last 16
#   (87; main.py), features averaged;
# - pixels: resized to 256 high x 455 wide (`input_resize = 455, 256`, PIL's (width,
#   height)), the centre 224 x 224 in training and testing (`CenterCrop(H)`), a
#   horizontal flip in training, ImageNet mean/std. (The reference picks one of four PIL
#   interpolations at random per frame, in testing too; this reads bilinear.)
# - the final score as a Gaussian over 101 bins of 0..104.5 (sigma 5 bins, `--std 5`),
#   KL divergence, argmax decoding (_usdl_c3d.py);
# - optimiser: Adam 1e-4 over the I3D and the evaluator alike, no weight decay (run.sh
#   `--type USDL --lr 1e-4 --weight_decay 0`), batches of 4 (`train_batch_size`), 20 in
#   testing, 100 epochs (`num_epochs`);
# - split: train_split_0 / test_split_0; no validation split, the last epoch is tested.
_base_ = [
    '../_base_/datasets/mtl_aqa.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
    '_usdl_i3d.py',
]
window = dict(_delete_=True, type='WindowClipSampler', window=103,
              starts=(0, 10, 20, 30, 40, 50, 60, 70, 80, 87), clip_len=16, anchor='start')
train_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(224, 224), resize=(256, 455)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackAQAInputs', modalities=('video', )),
]
test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(224, 224), resize=(256, 455)),
    dict(type='PackAQAInputs', modalities=('video', )),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline,
                                                   clip_sampler=dict(window, shift=(0, 6))))
test_dataloader = dict(batch_size=20, dataset=dict(pipeline=test_pipeline, clip_sampler=window))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
default_hooks = dict(checkpoint=dict(save_best=None))
