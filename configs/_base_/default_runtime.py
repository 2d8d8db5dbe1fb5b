# Runtime shared by every config: the framework's registries, crash-safe checkpoints with
# the best one chosen on the VALIDATION accuracy, per-epoch reseeding (exact resume), the
# report of samples whose media fail (work_dir/bad_samples.jsonl, listed in results.json),
# and reproducible randomness (seed 0 unless --seed / --seeds says otherwise).
default_scope = 'pisa'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2,
        save_best='accuracy', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# After training (pisa.engine.hooks), each phase writing its own output, so leaving a hook out
# of this list leaves its output out: the reports (confusion matrix, reliability diagram
# and metrics table per split, training curves), the calibration of the selected
# checkpoint on the validation split (what the config's `calibration` section asks for;
# the first evaluation after training fits it), and the baselines scored beside the test
# metrics (the config's `baselines`).
custom_hooks = [dict(type='EpochSeedHook'), dict(type='BadSampleHook'), dict(type='DataWaitHook'),
                dict(type='AQAReportHook'), dict(type='CalibrationHook'),
                dict(type='BaselineComparisonHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
# Scored beside the model after every test pass, on the same training and test
# performances (BaselineComparisonHook; `baselines = []` turns them off): the majority
# level, hand-made audio/motion features with a linear model, and, where the
# pisa-transcription plugin is installed (optional=True), the descriptors of the notes a
# transcriber hears with an ordinal model (a dataset without audio reports it as an error).
baselines = [dict(type='MajorityBaseline'),
             dict(type='ClassicalFeatureBaseline', missing_modality='skip'),
             dict(type='TranscriptionBaseline', optional=True)]
