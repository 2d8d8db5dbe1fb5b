# PISA with uniformly distributed sampling (the released "unidist" annotations): each
# sample is 10 clips x 16 frames dealt out over the whole performance; video cropped with
# the table's box and resized to 112x112; audio at its native rate as one 224x224 mel image per
# clip (n_fft 2048, hop 512, 128 mels, 20-8300 Hz, top_db 80). The released 37/24 split,
# with a validation split of 5 training performances carved out (no performance on both
# sides) for choosing the checkpoint; the test split is only tested. Media under
# $PISA_DATA_ROOT (default data/pisa): <id>.mp4 (layout='video') or the authors' frame
# folders (layout='frames'). Set cache_dir to read a cache written by `pisa prepare`.
data_root = '{{$PISA_DATA_ROOT:data/pisa}}'
cache_dir = None  # a folder written by `pisa prepare` (then no decoding)
dataset_type = 'PISADataset'
layout = 'video'
scheme = 'unidist'
clip_sampler = dict(type='UniformSampler', num_clips=10, clip_len=16)
val_performances = 5  # carved from the released train split, seeded by split_seed

# Frames: the paper's text resizes to 112x112 (frame_resize None). The released loader
# resized to `c3d_input_resize` and cut the centre 112x112 (set frame_resize=(h, w) for
# that; its sizes sit in an unreleased options file, the same author's MTL-AQA code
# uses 128x171).
frame_resize = None
video_steps = [dict(type='DecodeFrames'),
               dict(type='CropResize', size=(112, 112), resize=frame_resize)]
# Sec. 5: "We apply horizontal flipping during training". The released loader's flip was a
# no-op, so its published numbers had none: the *-release.py config trains without it.
# The pipelines below are composed here, so a derived config changes the flip by replacing
# train_dataloader.dataset.pipeline (setting flip_prob alone there changes nothing).
flip_prob = 0.5
flip = [dict(type='RandomFlip', prob=flip_prob)]
audio_steps = [
    # the released loader's recipe: each track at its own rate (the authors' wavs: 44.1 kHz),
    # librosa < 0.10's reflect padding, its 8-bit PIL image (first 224 columns), fed 0..1
    # as its ToTensor did
    dict(type='LoadAudio', sample_rate=None),
    dict(type='MelSpectrogram', size=(224, 224), pad_mode='reflect', image='release',
         max_value=1.0)]
train_pipeline = video_steps + flip + audio_steps + [
    dict(type='PackAQAInputs', modalities=('video', 'audio'))]
test_pipeline = video_steps + audio_steps + [
    dict(type='PackAQAInputs', modalities=('video', 'audio'))]
# the single-modality cells of Table 1 use these (the audio pipeline decodes no frames)
video_train_pipeline = video_steps + flip + [dict(type='PackAQAInputs', modalities=('video', ))]
video_test_pipeline = video_steps + [dict(type='PackAQAInputs', modalities=('video', ))]
audio_pipeline = audio_steps + [dict(type='PackAQAInputs', modalities=('audio', ))]
# The notes a transcriber hears (the pisa-transcription plugin; a config using these sets
# required_plugins): per clip a piano roll (3 x 88 pitches x 32 time bins) and the 21 note
# descriptors, and per sample the descriptors of the whole performance. Notes are
# transcribed once per recording and stored beside the prepared cache (`pisa prepare`).
num_descriptors = 21
notes_steps = [dict(type='LoadNotes', transcriber=dict(type='BasicPitchTranscriber')),
               dict(type='PianoRoll', width=32),
               dict(type='NoteDescriptors', performance=True)]
notes_inputs = dict(notes_clip_features='note_descriptors',
                    notes_sample_features='performance_descriptors')
notes_pipeline = notes_steps + [
    dict(type='PackAQAInputs', modalities=('notes', ), extra_inputs=notes_inputs)]
video_notes_train_pipeline = video_steps + flip + notes_steps + [
    dict(type='PackAQAInputs', modalities=('video', 'notes'), extra_inputs=notes_inputs)]
video_notes_test_pipeline = video_steps + notes_steps + [
    dict(type='PackAQAInputs', modalities=('video', 'notes'), extra_inputs=notes_inputs)]
audio_notes_pipeline = audio_steps + notes_steps + [
    dict(type='PackAQAInputs', modalities=('audio', 'notes'), extra_inputs=notes_inputs)]
all_train_pipeline = video_steps + flip + audio_steps + notes_steps + [
    dict(type='PackAQAInputs', modalities=('video', 'audio', 'notes'), extra_inputs=notes_inputs)]
all_test_pipeline = video_steps + audio_steps + notes_steps + [
    dict(type='PackAQAInputs', modalities=('video', 'audio', 'notes'), extra_inputs=notes_inputs)]

loader = dict(batch_size=4, num_workers=2, persistent_workers=True,
              collate_fn=dict(type='default_collate'))
dataset = dict(type=dataset_type, data_root=data_root, layout=layout, scheme=scheme,
               clip_sampler=clip_sampler, label='player', cache_dir=cache_dir)
train_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='train', val_performances=val_performances,
                 pipeline=train_pipeline))
val_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='val', val_performances=val_performances,
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='test', pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='LevelMetrics', num_classes=10)
test_evaluator = val_evaluator
