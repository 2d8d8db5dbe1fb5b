"""The engine, above data, models and evaluation, by job: the one config path
(:mod:`.config_loader`, :mod:`.validate`), one run on mmengine's Runner (:mod:`.runner`)
under a protocol (:mod:`.protocols`) and launcher (:mod:`.launch`), the experiments of
several runs (:mod:`.experiment`, :mod:`.table1`), the files they write
(:mod:`.results`), crash-safe checkpoints (:mod:`.checkpoint`), the hooks a config lists
(:mod:`.hooks`) and CPU autocast (:mod:`.optim`)."""
