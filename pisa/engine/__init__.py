"""The runner around mmengine: crash-safe checkpoints that load with ``weights_only=True``
(:mod:`.checkpoint`), framework hooks (:mod:`.hooks`), CPU autocast (:mod:`.optim`),
config validation (:mod:`.validate`) and train/test/seed runs (:mod:`.runner`)."""


def register_components(register) -> None:
    """Register this package's components through the plugin hook's callback."""
    from pisa.engine.checkpoint import AtomicCheckpointHook, install_checkpoint_safety
    from pisa.engine.hooks import BadSampleHook, ChannelsLastHook, EpochSeedHook, SampleIdLogHook
    from pisa.engine.optim import AutocastOptimWrapper

    install_checkpoint_safety()
    register("optim_wrapper", AutocastOptimWrapper)
    for hook in (AtomicCheckpointHook, EpochSeedHook, SampleIdLogHook, ChannelsLastHook,
                 BadSampleHook):
        register("hook", hook)
