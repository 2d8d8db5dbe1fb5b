"""The engine, above data, models and evaluation: the one config path
(:mod:`.config`, :mod:`.validate`), train/test/seed runs on mmengine's Runner
(:mod:`.runner`), crash-safe checkpoints (:mod:`.checkpoint`), framework hooks
(:mod:`.hooks`) and CPU autocast (:mod:`.optim`)."""
