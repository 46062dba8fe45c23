"""Two CPU processes (gloo) train one model: shared initial weights, averaged gradients, rank 0 writes."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from .toy_setup import read_records

WORKER = Path(__file__).resolve().parent / "ddp_worker.py"
REPO = Path(__file__).resolve().parents[2]


def ephemeral_floor() -> int:
    """The lowest port the kernel hands out as a connection's local port (Linux's default range starts here)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count: int) -> list[str]:
    """`count` distinct free ports below the ephemeral range.

    Not bind(0)'s ports: those lie in the ephemeral range, and while one rank keeps retrying a connect to a
    port nobody listens on yet (rank 1 waits there while rank 0 writes the first run's model), Linux can pick
    that very port as the connect's local port and connect the socket to itself (TCP simultaneous open). The
    rank then talks to itself, holds the port, and both ranks hang (seen once in CI, after 120 s).
    """
    floor = min(ephemeral_floor(), 32768)
    candidates = random.sample(range(20000, floor), k=min(200, floor - 20000))
    ports = []
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(str(port))
        if len(ports) == count:
            return ports
    pytest.skip(f"no {count} free ports between 20000 and {floor}")


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_two_processes_train_and_resume_together(tmp_path):
    from safetensors.torch import load_file

    out, prefix = tmp_path / "run", tmp_path / "weights"
    first_port, second_port = free_ports(2)
    base = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": first_port, "WORLD_SIZE": "2",
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(out), str(prefix), second_port],
                              env={**base, "RANK": str(rank), "LOCAL_RANK": str(rank)},
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
            pytest.fail("the two training processes did not finish in 120 s\n" + "\n".join(printed))
    assert [proc.returncode for proc in procs] == [0, 0], "\n".join(outputs)
    ranks = [load_file(f"{prefix}-{rank}.st") for rank in range(2)]
    for name in ranks[0]:  # each rank saw other images, so equal weights mean the gradients were averaged
        assert torch.equal(ranks[0][name], ranks[1][name]), name
    assert [record["step"] for record in read_records(out)] == [1, 2, 3, 4, 5, 6]  # rank 0 alone logs
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-00000002", "step-00000004",
                                                                      "step-00000006"]
    assert (out / "model.json").is_file()
