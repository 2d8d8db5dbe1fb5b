# The CPU demo model trained with augmentations of both modalities, for small datasets:
# clip positions jittered by up to a quarter clip, a random resized crop (60-100 % of the
# area) and colour jitter of the frames (the same for every frame of a sample), the audio
# moved up to 50 ms against the picture and scaled by -6..+6 dB saturating at full scale,
# SpecAugment masks on the mel images, and mixup of the training batches. Validation and
# test read exactly what the un-augmented config reads (test_mode: no jitter).
_base_ = ['pisa_c3d-r18-small_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py']
num_clips, clip_len = {{_base_.num_clips}}, {{_base_.clip_len}}
train_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size={{_base_.frame_size}}),
    dict(type='RandomResizedCrop', scale=(0.6, 1.0), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05),
    dict(type='LoadAudio', sample_rate={{_base_.sample_rate}}),
    dict(type='RandomAudioShift', max_shift_s=0.05),
    dict(type='RandomGain', min_db=-6.0, max_db=6.0, clip=True),
    dict(type='MelSpectrogram', size={{_base_.mel_size}}),
    dict(type='SpecAugment', freq_masks=2, freq_width=8, time_masks=2, time_width=8),
    dict(type='PackAQAInputs', modalities=('video', 'audio')),
]
train_dataloader = dict(dataset=dict(
    pipeline=train_pipeline,
    clip_sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len, max_samples=3,
                      jitter=2)))  # frames: a quarter of the 8-frame clips
model = dict(mixup=dict(alpha=0.2, prob=1.0))
