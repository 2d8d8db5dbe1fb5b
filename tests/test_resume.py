"""Resume after an interruption trains exactly like an uninterrupted run; checkpoints are
written atomically; a checkpoint holding code is refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from engine_helpers import (TINY_CONFIG, assert_same_weights, checkpoint_weights, render_tiny_dataset,
                            tiny_train_args)

from pisa.engine.checkpoint import find_last_complete_checkpoint, is_complete_checkpoint
from pisa.io.atomic import AtomicLocalBackend
from pisa.io.safe_load import (
    CHECKPOINT_SAFE_GLOBALS,
    CheckpointRefusedError,
    install_checkpoint_safety,
    load_checkpoint_file,
)
from pisa.engine.runner import RunOptions, train

EPOCHS = 3


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return render_tiny_dataset(tmp_path_factory.mktemp("synth"))


def _opts(work_dir: Path, data_root: Path, epochs: int = EPOCHS, **kwargs) -> RunOptions:
    return RunOptions(
        work_dir=str(work_dir),
        data_root=str(data_root),
        seed=3,
        deterministic=True,
        cfg_options={"train_cfg.max_epochs": epochs},
        **kwargs,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_root) -> Path:
    """An uninterrupted run of EPOCHS epochs; returns its work dir."""
    work_dir = tmp_path_factory.mktemp("reference")
    train(TINY_CONFIG, _opts(work_dir, data_root))
    return work_dir


def test_resumed_run_has_the_same_weights_as_an_uninterrupted_one(tmp_path, data_root, reference):
    # stopped after the first epoch, then resumed to the end
    train(TINY_CONFIG, _opts(tmp_path, data_root, epochs=1))
    after_first = checkpoint_weights(tmp_path / "epoch_1.pth")
    results = train(TINY_CONFIG, _opts(tmp_path, data_root, resume=True))
    assert results["flags"]["resume"] is True
    resumed = checkpoint_weights(tmp_path / f"epoch_{EPOCHS}.pth")
    assert_same_weights(resumed, checkpoint_weights(reference / f"epoch_{EPOCHS}.pth"))
    # the resumed epochs did train, so the equality above means something
    assert any(not torch.equal(after_first[k], resumed[k]) for k in resumed)


def test_every_global_in_a_training_checkpoint_is_allowlisted(reference):
    from torch.serialization import get_unsafe_globals_in_checkpoint

    install_checkpoint_safety()
    allowed = set(torch.serialization._weights_only_unpickler._get_user_allowed_globals())
    for path in reference.glob("*.pth"):
        unsafe = set(get_unsafe_globals_in_checkpoint(str(path)))
        assert unsafe <= allowed, f"{path.name}: {sorted(unsafe - allowed)}"
        assert load_checkpoint_file(str(path))["meta"]["seed"] == 3


def _spawn_training(work_dir: Path, data_root: Path, *extra: str, epochs: int = EPOCHS,
                    cfg_options: tuple = ()) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pisa.cli", *tiny_train_args(
        work_dir, data_root, "--seed", "3", "--cfg-options", f"train_cfg.max_epochs={epochs}",
        *cfg_options, *extra)]
    # same thread count as this process: CPU kernels reduce in thread-dependent order
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_gives_the_same_weights(tmp_path, data_root, reference):
    proc = _spawn_training(tmp_path, data_root)
    pointer = tmp_path / "last_checkpoint"
    deadline = time.time() + 120
    while not pointer.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    time.sleep(0.3)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / f"epoch_{EPOCHS}.pth").exists(), "killed too late to test anything"
    # whatever the kill interrupted, every file that looks like a checkpoint is complete
    for path in tmp_path.glob("*.pth"):
        assert is_complete_checkpoint(path), path
    last = find_last_complete_checkpoint(tmp_path)
    assert last is not None and Path(last).name.startswith("epoch_")

    resumed = _spawn_training(tmp_path, data_root, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()[-3000:]
    assert_same_weights(
        checkpoint_weights(tmp_path / f"epoch_{EPOCHS}.pth"),
        checkpoint_weights(reference / f"epoch_{EPOCHS}.pth"),
    )


#: the PISA configs' loaders: worker processes that live through the whole run
PERSISTENT_WORKERS = ("train_dataloader.num_workers=2", "train_dataloader.persistent_workers=True")


def _finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-3000:]


def test_resume_with_persistent_workers_gives_the_same_weights(tmp_path, data_root):
    # 2 epochs: the reference's workers go on from epoch 0 to 1, the resumed run's start at 1
    reference, resumed, epochs = tmp_path / "reference", tmp_path / "resumed", 2
    # the uninterrupted run and the first epoch of the interrupted one side by side
    runs = [_spawn_training(reference, data_root, epochs=epochs, cfg_options=PERSISTENT_WORKERS),
            _spawn_training(resumed, data_root, epochs=1, cfg_options=PERSISTENT_WORKERS)]
    for proc in runs:
        _finish(proc)
    after_first = checkpoint_weights(resumed / "epoch_1.pth")
    _finish(_spawn_training(resumed, data_root, "--resume", epochs=epochs,
                            cfg_options=PERSISTENT_WORKERS))
    weights = checkpoint_weights(resumed / f"epoch_{epochs}.pth")
    assert_same_weights(weights, checkpoint_weights(reference / f"epoch_{epochs}.pth"))
    assert any(not torch.equal(after_first[k], weights[k]) for k in weights)


# What the training loader's workers hand out per epoch, as in training: the tiny config's
# train dataset and mmengine's loader (2 persistent workers, mmengine's worker_init_fn);
# before each epoch the sampler's epoch is set (DistSamplerSeedHook) and, unless "off",
# published to the workers as EpochSeedHook does. "fresh" is a new loader started at
# epoch 1, as a resumed run starts it. Prints {sampler: {mode: {run: {sample_id: crc}}}}.
_WORKER_DRAWS = """
import json, sys, zlib
from mmengine.runner import Runner
from pisa.data.core.seeding import WorkerEpochSeeds
from pisa.engine.config_loader import load_config
from pisa.engine.hooks.run_hooks import epoch_seeded_datasets
from pisa.registry import DATASETS

config, data_root = sys.argv[1:3]
options = dict(o.split("=") for o in sys.argv[3:])
options = {k: (v == "True" if v in ("True", "False") else int(v)) for k, v in options.items()}
cfg = load_config(config, options, data_root)
samplers = {"uniform": cfg.train_dataloader.dataset.clip_sampler,
            "random_clips": dict(type="RandomClipSampler", num_clips=2, clip_len=4)}

def epochs(dataset, seeded, numbers):
    loader = Runner.build_dataloader(dict(cfg.train_dataloader, dataset=dataset), seed=3)
    seeds = WorkerEpochSeeds(3) if seeded else None
    for inner in epoch_seeded_datasets(loader.dataset):
        inner.set_worker_epoch_seeds(seeds)
    draws = {}
    for epoch in numbers:
        loader.sampler.set_epoch(epoch)
        if seeds is not None:
            seeds.set_epoch(epoch)
        draws[epoch] = {sid: zlib.crc32(video.numpy().tobytes()) for batch in loader
                        for sid, video in zip(batch["data_samples"]["sample_id"],
                                              batch["inputs"]["video"])}
    return draws

out = {}
for name, sampler in samplers.items():
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, clip_sampler=sampler))
    out[name] = {}
    for mode in ("on", "off") if name == "uniform" else ("on",):
        persistent = epochs(dataset, mode == "on", [0, 1])
        fresh = epochs(dataset, mode == "on", [1])
        out[name][mode] = {"epoch0": persistent[0], "epoch1": persistent[1], "fresh1": fresh[1]}
print(json.dumps(out))
"""


def test_workers_draw_per_epoch_from_the_seed_not_from_their_history(data_root):
    import json

    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    proc = subprocess.run([sys.executable, "-c", _WORKER_DRAWS, str(TINY_CONFIG), str(data_root),
                           *PERSISTENT_WORKERS], env=env, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    draws = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    for sampler, modes in draws.items():
        on = modes["on"]
        assert len(on["epoch1"]) >= 3, sampler  # the tiny data: 3 training performances
        # a loader started at epoch 1 (a resume) hands out what persistent workers do there
        assert on["fresh1"] == on["epoch1"], sampler
        # and epochs differ: with the uniform sampler only the flips can differ
        assert on["epoch0"] != on["epoch1"], sampler
    # seeded once at start (mmengine's worker_init_fn alone), workers started at epoch 1
    # draw the flips of their first epoch again, not epoch 1's: the check above sees that
    off = draws["uniform"]["off"]
    assert off["fresh1"] != off["epoch1"]


_WRITER = """
import sys
from pisa.io.atomic import AtomicLocalBackend
payload = bytes([7]) * (200 * 1024 * 1024)
AtomicLocalBackend().put(payload, sys.argv[1])
"""


def test_sigkill_during_a_checkpoint_write_keeps_the_previous_checkpoint(tmp_path):
    target = tmp_path / "epoch_2.pth"
    previous = tmp_path / "epoch_1.pth"
    state = {"state_dict": {"w": torch.arange(10.0)}, "meta": {"epoch": 1}}
    install_checkpoint_safety()
    torch.save(state, previous)
    AtomicLocalBackend().put(previous.read_bytes(), target)
    original = target.read_bytes()
    (tmp_path / "last_checkpoint").write_text(str(target))

    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)])
    deadline = time.time() + 60
    while not list(tmp_path.glob(".epoch_2.pth.*.part*")) and time.time() < deadline:
        assert proc.poll() is None, "the write finished before it could be interrupted"
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the half-written temporary file is left behind, but the checkpoint is untouched
    assert list(tmp_path.glob(".epoch_2.pth.*.part*"))
    assert target.read_bytes() == original
    assert find_last_complete_checkpoint(tmp_path) == str(target)
    assert torch.equal(
        load_checkpoint_file(str(target))["state_dict"]["w"], torch.arange(10.0)
    )


def test_truncated_checkpoint_is_skipped_when_resuming(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "epoch_1.pth")
    good = (tmp_path / "epoch_1.pth").read_bytes()
    (tmp_path / "epoch_2.pth").write_bytes(good[: len(good) // 2])
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "epoch_2.pth"))
    assert find_last_complete_checkpoint(tmp_path) == str(tmp_path / "epoch_1.pth")
    with pytest.raises(ValueError, match="epoch_2.pth is truncated or corrupt"):
        load_checkpoint_file(str(tmp_path / "epoch_2.pth"))


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _malicious_checkpoint(path: Path, marker: Path) -> Path:
    torch.save({"state_dict": {"w": torch.zeros(2)}, "meta": {"x": _Payload(marker)}}, path)
    return path


def test_malicious_checkpoint_is_refused_and_its_payload_does_not_run(tmp_path):
    marker = tmp_path / "payload_ran"
    evil = _malicious_checkpoint(tmp_path / "epoch_1.pth", marker)
    with pytest.raises(CheckpointRefusedError) as err:
        load_checkpoint_file(str(evil))
    assert "system" in str(err.value) and str(evil) in str(err.value)
    assert not marker.exists()


def test_getattr_in_a_checkpoint_reaches_only_history_buffer_methods(tmp_path):
    from mmengine.logging.history_buffer import HistoryBuffer

    class _Lookup:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, "__init__"))

    path = tmp_path / "lookup.pth"
    torch.save({"meta": _Lookup()}, path)
    with pytest.raises(CheckpointRefusedError, match="__init__"):
        load_checkpoint_file(str(path))
    assert HistoryBuffer in CHECKPOINT_SAFE_GLOBALS


@pytest.mark.slow
def test_resume_and_test_commands_refuse_a_malicious_checkpoint(tmp_path, data_root):
    from pisa.cli import main

    marker = tmp_path / "payload_ran"
    evil = _malicious_checkpoint(tmp_path / "evil.pth", marker)
    base = ["--work-dir", str(tmp_path / "w"), "--data-root", str(data_root)]
    assert main(["train", str(TINY_CONFIG), "--resume", str(evil), *base]) == 2
    assert main(["test", str(TINY_CONFIG), str(evil), *base]) == 2
    assert not marker.exists()
