"""Training across machines: two torchrun launchers on 127.0.0.1 meeting through c10d (one rank
each, gloo) train what one machine with two ranks trains; the launch arguments come from the
command line or from a Slurm allocation's environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from safetensors.torch import load_file

from conftest import REPO, write_recipe
from ganforge.distributed import first_host, rendezvous_args
from ganforge.errors import GanforgeError
from test_distributed import launch, ring


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node(recipe, port: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "ganforge", "train", str(recipe), "--nproc-per-node", "1", "--nnodes", "2",
               "--master-addr", "127.0.0.1", "--master-port", str(port), "--rdzv-id", f"test-{port}", *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_nodes_train_what_one_node_with_two_ranks_trains(tmp_path):
    one_node = launch(write_recipe(tmp_path / "one.yaml", ring(tmp_path / "one")))
    assert one_node.returncode == 0, one_node.stderr[-3000:]
    recipe = write_recipe(tmp_path / "two.yaml", ring(tmp_path / "two"))
    port = free_port()
    nodes = [node(recipe, port), node(recipe, port)]
    outputs = [n.communicate(timeout=300) for n in nodes]
    for n, (out, err) in zip(nodes, outputs):
        assert n.returncode == 0, err[-3000:]
    assert sum(out.count("done: run folder") for out, _ in outputs) == 1  # rank 0, on one of the nodes
    a = load_file(tmp_path / "one" / "run" / "checkpoints" / "step_00000010" / "nets.safetensors")
    b = load_file(tmp_path / "two" / "run" / "checkpoints" / "step_00000010" / "nets.safetensors")
    assert all((a[k] == b[k]).all() for k in a), "two nodes of one rank differ from one node of two ranks"
    import json

    assert json.loads((tmp_path / "two" / "run" / "manifest.json").read_text())["world_size"] == 2


def test_launch_arguments_from_the_command_line():
    assert rendezvous_args(2, None, None, None, None, None, "ring", {}) == ["--standalone", "--nproc-per-node=2"]
    assert rendezvous_args(8, 2, None, "node0", 29400, None, "ring", {}) == [
        "--nnodes=2", "--nproc-per-node=8", "--rdzv-backend=c10d", "--rdzv-endpoint=node0:29400", "--rdzv-id=ring"]
    assert rendezvous_args(8, 2, 1, "node0", None, None, "ring", {"MASTER_PORT": "1234"}) == [
        "--nnodes=2", "--nproc-per-node=8", "--node-rank=1", "--master-addr=node0", "--master-port=1234"]
    with pytest.raises(GanforgeError, match="give --master-addr HOST"):
        rendezvous_args(1, 2, None, None, None, None, "ring", {})
    with pytest.raises(GanforgeError, match="--node-rank 2 is outside 0..1"):
        rendezvous_args(1, 2, 2, "node0", None, None, "ring", {})


def test_launch_arguments_from_a_slurm_allocation():
    env = {"SLURM_JOB_ID": "777", "SLURM_NNODES": "4", "SLURM_NODEID": "3", "SLURM_JOB_NODELIST": "gpu[07-10]"}
    assert rendezvous_args(8, None, None, None, None, None, "ring", env) == [
        "--nnodes=4", "--nproc-per-node=8", "--node-rank=3", "--master-addr=gpu07", "--master-port=29400"]
    assert first_host("a100-[3,5-6],cpu1") == "a100-3" and first_host("login1,login2") == "login1"
    one = {"SLURM_JOB_ID": "778", "SLURM_NNODES": "1"}
    assert rendezvous_args(4, None, None, None, None, None, "ring", one) == ["--standalone", "--nproc-per-node=4"]
