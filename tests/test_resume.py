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


def _spawn_training(work_dir: Path, data_root: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pisa.cli", *tiny_train_args(
        work_dir, data_root, "--seed", "3", "--cfg-options", f"train_cfg.max_epochs={EPOCHS}", *extra)]
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
