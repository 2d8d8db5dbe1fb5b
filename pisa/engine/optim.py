"""Mixed precision by autocast without loss scaling, on any device.

mmengine's ``AmpOptimWrapper`` refuses to run without CUDA (it asserts a GPU), yet
``torch.autocast`` with bfloat16 works on CPU and, having float32's exponent range, needs
no loss scaling. Config: ``optim_wrapper=dict(type='AutocastOptimWrapper',
dtype='bfloat16', optimizer=...)``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Union

import torch
from mmengine.optim import OptimWrapper

from pisa.registry import component

#: dtypes autocast accepts without a gradient scaler
AUTOCAST_DTYPES = ("bfloat16",)


@component("optim_wrapper")
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass (``optim_context``) runs under
    ``torch.autocast(<device of the model's parameters>, dtype)``; backward and the step
    are mmengine's, in float32 parameters."""

    def __init__(self, dtype: Union[str, torch.dtype] = "bfloat16", **kwargs) -> None:
        name = dtype if isinstance(dtype, str) else str(dtype).replace("torch.", "")
        if name not in AUTOCAST_DTYPES:
            raise ValueError(
                f"optim_wrapper.dtype: {name!r} is not supported by AutocastOptimWrapper "
                f"(choose from {', '.join(AUTOCAST_DTYPES)}; float16 needs loss scaling, "
                "use mmengine's AmpOptimWrapper on a GPU)"
            )
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, name)

    @contextmanager
    def optim_context(self, model: torch.nn.Module) -> Iterator[None]:
        param = next(model.parameters(), None)
        device_type = param.device.type if param is not None else "cpu"
        with (
            super().optim_context(model),
            torch.autocast(device_type=device_type, dtype=self.cast_dtype),
        ):
            yield
