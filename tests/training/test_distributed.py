"""Two CPU processes (gloo) train one model: shared initial weights, averaged gradients, rank 0 writes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from .toy_setup import read_records

WORKER = Path(__file__).resolve().parent / "ddp_worker.py"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_together(out: Path, prefix: Path, steps: int, *mode: str) -> list[str]:
    """Two ranks of one training launch, each in its own process on a fresh port; both must succeed.

    Returns what each rank printed."""
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "WORLD_SIZE": "2",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(out), str(prefix), str(steps), *mode],
                              env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for rank in range(2)]
    outputs = []
    for proc in procs:
        try:
            outputs.append(proc.communicate(timeout=120)[0])
        except subprocess.TimeoutExpired:
            for other in procs:
                other.kill()
            printed = [f"--- rank {rank} ---\n{other.communicate()[0][-4000:]}" for rank, other in enumerate(procs)]
            pytest.fail(f"the two processes training to step {steps} did not finish in 120 s\n" + "\n".join(printed))
    assert [proc.returncode for proc in procs] == [0, 0], "\n".join(outputs)
    return outputs


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_two_processes_train_and_resume_together(tmp_path):
    from safetensors.torch import load_file

    out, prefix = tmp_path / "run", tmp_path / "weights"
    assert all("resumed from None" in printed for printed in train_together(out, prefix, 4))
    resumed = train_together(out, prefix, 6, "resume")  # a second launch, as `torchrun ... --resume` would be
    assert all("resumed from 4" in printed for printed in resumed), resumed
    ranks = [load_file(f"{prefix}-{rank}.st") for rank in range(2)]
    for name in ranks[0]:  # each rank saw other images, so equal weights mean the gradients were averaged
        assert torch.equal(ranks[0][name], ranks[1][name]), name
    assert [record["step"] for record in read_records(out)] == [1, 2, 3, 4, 5, 6]  # rank 0 alone logs
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-00000002", "step-00000004",
                                                                      "step-00000006"]
    assert (out / "model.json").is_file()
