"""The options of one training run (the keywords of `fit`), checked before any work starts."""

from __future__ import annotations

from dataclasses import dataclass

from genstudio.errors import UserError
from genstudio.training.context import AMP_CHOICES
from genstudio.training.samples import parse_sample_every


@dataclass(frozen=True)
class FitOptions:
    steps: int | None = None  # stop after this global step (mutually exclusive with epochs)
    epochs: int | None = None  # or after this many passes over the data
    batch_size: int = 64  # images per step (per process under torchrun)
    seed: int = 0  # seeds the weights, the data order, the noise and the sample grid
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    resume: bool = False  # continue from the newest checkpoint in out_dir/checkpoints
    checkpoint_every: int = 500  # steps between checkpoints (one is always written at the end and on cancel)
    keep_checkpoints: int = 3  # how many recent checkpoints to keep
    sample_every: int | str = "auto"  # N steps, "Ns" seconds or "auto" (first within a minute, then adaptive)
    sample_count: int = 64  # images in a sample grid; 0 draws none
    ema_decay: float = 0.999  # weight of the old average per step; 0 disables the EMA copy
    grad_clip: float | None = None  # max gradient norm per optimizer, None = no clipping
    amp: str = "auto"  # auto | off | bf16 | fp16; auto: bf16 on CUDA if supported, else fp16; fp32 on the CPU
    channels_last: bool | str = "auto"  # auto: on for CUDA networks with 2-d convolutions
    log_every: int = 10  # steps between metrics records and progress events
    deterministic: bool = False  # deterministic kernels (bit-exact resume on the CPU)

    def __post_init__(self) -> None:
        if (self.steps is None) == (self.epochs is None):
            raise UserError("give the length of training as either steps or epochs (exactly one of them)")
        for name in ("steps", "epochs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise UserError(f"{name} must be a whole number >= 0, not {value!r}")
        for name in ("batch_size", "checkpoint_every", "keep_checkpoints", "log_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"{name.replace('_', ' ')} must be a whole number >= 1, not {value!r}")
        try:
            parse_sample_every(self.sample_every)
        except (TypeError, ValueError):
            raise UserError(f"sample every must be a number of steps >= 1, seconds like 30s, or auto; not "
                            f"{self.sample_every!r}") from None
        if self.sample_count < 0:
            raise UserError(f"sample count must be >= 0, not {self.sample_count!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise UserError(f"ema decay must be in [0, 1), not {self.ema_decay!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise UserError(f"grad clip must be a positive norm (or off), not {self.grad_clip!r}")
        if self.amp not in AMP_CHOICES:
            raise UserError(f"unknown amp mode {self.amp!r}; use one of {', '.join(AMP_CHOICES)}")
        if self.channels_last not in (True, False, "auto", "on", "off"):
            raise UserError(f"channels_last must be auto, on or off, not {self.channels_last!r}")
