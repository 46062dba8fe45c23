"""One process of the two-process training test, started with torchrun's environment (RANK, WORLD_SIZE, ...).

    python ddp_worker.py OUT_DIR WEIGHTS_PREFIX STEPS [resume]

Trains (or with `resume`, resumes) to STEPS, saves this rank's live G weights as WEIGHTS_PREFIX-RANK.st and
prints the step it resumed from. One training per process, as under torchrun: a process that destroys its
process group and initialises another can hang (pytorch/pytorch#55967, #74666, #114585).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from safetensors.torch import save_file  # noqa: E402
from toy_setup import ToyDataset, toy_spec  # noqa: E402
from toy_trainer import ToyTrainer  # noqa: E402

from genstudio.training import fit  # noqa: E402


def main(out_dir: str, weights_prefix: str, steps: str, *mode: str) -> None:
    torch.set_num_threads(1)
    options = {"device": "cpu", "deterministic": True, "batch_size": 4, "sample_count": 4, "log_every": 1,
               "checkpoint_every": 2, "seed": 3}
    resume = mode == ("resume",)
    summary = fit(toy_spec(), {}, ToyDataset(), out_dir, steps=int(steps), resume=resume, **options)
    assert summary.steps == int(steps), summary
    print(f"resumed from {summary.resumed_from}")
    G = ToyTrainer.last_task.modules["G"]
    save_file({k: v.contiguous() for k, v in G.state_dict().items()}, f"{weights_prefix}-{os.environ['RANK']}.st")


if __name__ == "__main__":
    main(*sys.argv[1:])
