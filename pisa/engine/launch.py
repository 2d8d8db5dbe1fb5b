"""The distributed launch of a run: ``--launcher none`` or ``pytorch`` (NCCL on GPUs; on
CPU a gloo group made before mmengine's Runner, which then skips its own init), and its
teardown."""
from __future__ import annotations

import os

from mmengine.config import Config

from pisa.engine.validate import ConfigError


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Set ``cfg``'s launcher, distributed backend and model wrapper for ``launcher``."""
    import torch

    if launcher == "none":
        cfg.launcher = "none"
        return
    if launcher != "pytorch":
        raise ConfigError(f"--launcher: {launcher!r} is not supported (none, pytorch)")
    cfg.launcher = "pytorch"
    env_cfg = cfg.setdefault("env_cfg", {})
    dist_cfg = env_cfg.setdefault("dist_cfg", {})
    if torch.cuda.is_available():
        dist_cfg["backend"] = "nccl"
        return
    # mmengine's own init calls torch.cuda.set_device; on CPU the gloo group is made here,
    # before the Runner, which then sees an initialised group and skips its init
    import torch.distributed as dist

    dist_cfg["backend"] = "gloo"
    if not dist.is_initialized():
        missing = [
            k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ
        ]
        if missing:
            raise ConfigError(
                f"--launcher pytorch: environment variables {', '.join(missing)} are not set; "
                "start with torchrun --nproc-per-node N -m pisa.cli train ..."
            )
        dist.init_process_group(backend="gloo")
    wrapper = dict(cfg.get("model_wrapper_cfg") or {})
    wrapper.setdefault("type", "MMDistributedDataParallel")
    wrapper["device_ids"] = None
    wrapper.setdefault("find_unused_parameters", bool(cfg.get("find_unused_parameters", False)))
    cfg.model_wrapper_cfg = wrapper


def close_distributed() -> None:
    """Tear down the process group a ``--launcher pytorch`` run set up (no-op otherwise)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
