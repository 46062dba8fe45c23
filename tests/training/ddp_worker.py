"""One process of the two-process training test, started with torchrun's environment (RANK, WORLD_SIZE, ...).

    python ddp_worker.py OUT_DIR WEIGHTS_PREFIX SECOND_PORT

Trains 4 steps, then resumes to 6 on a fresh process group (on SECOND_PORT), and saves this rank's live G
weights as WEIGHTS_PREFIX-RANK.safetensors.
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


def main(out_dir: str, weights_prefix: str, second_port: str) -> None:
    torch.set_num_threads(1)
    options = {"device": "cpu", "deterministic": True, "batch_size": 4, "sample_count": 4, "log_every": 1,
               "checkpoint_every": 2, "seed": 3}
    first = fit(toy_spec(), {}, ToyDataset(), out_dir, steps=4, **options)
    assert first.steps == 4, first
    os.environ["MASTER_PORT"] = second_port
    second = fit(toy_spec(), {}, ToyDataset(), out_dir, steps=6, resume=True, **options)
    assert (second.steps, second.resumed_from) == (6, 4), second
    G = ToyTrainer.last_task.modules["G"]
    save_file({k: v.contiguous() for k, v in G.state_dict().items()}, f"{weights_prefix}-{os.environ['RANK']}.st")


if __name__ == "__main__":
    main(*sys.argv[1:4])
