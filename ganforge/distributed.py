"""torch.distributed glue: the process group from torchrun's environment, each rank's share of
global random draws, and reductions of logged values.

Every rank is seeded alike, so the global RNG streams stay identical on all ranks: noise is
drawn for the whole global batch and each rank keeps its slice. A run on N ranks therefore sees
the same noise, the same data and the same losses as one process with the same global batch,
and rank 0's RNG state in a checkpoint is every rank's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.distributed as dist

from ganforge._deprecated import renamed
from ganforge.errors import GanforgeError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def current_world() -> World:
    """This process's place in the process group (rank 0 of 1 when not distributed)."""
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rendezvous_args(nproc: int, nnodes: int | None, node_rank: int | None, master_addr: str | None,
                    master_port: int | None, rdzv_id: str | None, name: str, env: Mapping[str, str]) -> list[str]:
    """torchrun's arguments for this machine's ``nproc`` ranks: alone (``--standalone``), or one
    of ``nnodes`` machines meeting at ``master_addr`` (numbered by ``node_rank``, else as they join
    through c10d). What is not given comes from a Slurm allocation's environment when there is one."""
    slurm = "SLURM_JOB_ID" in env and int(env.get("SLURM_NNODES", "1")) > 1
    nnodes = nnodes or (int(env["SLURM_NNODES"]) if slurm else 1)
    if nnodes < 1 or nproc < 1:
        raise GanforgeError("--nnodes and --nproc-per-node must be at least 1")
    if nnodes == 1:
        return ["--standalone", f"--nproc-per-node={nproc}"]
    if node_rank is None and slurm:
        node_rank = int(env["SLURM_NODEID"])
    host = master_addr or env.get("MASTER_ADDR") or (first_host(env["SLURM_JOB_NODELIST"]) if slurm else None)
    if host is None:
        raise GanforgeError(f"--nnodes {nnodes}: give --master-addr HOST, a host every machine reaches (the same on "
                            "each), or run inside a Slurm allocation")
    port = master_port or int(env.get("MASTER_PORT", 29400))
    if node_rank is not None:
        if not 0 <= node_rank < nnodes:
            raise GanforgeError(f"--node-rank {node_rank} is outside 0..{nnodes - 1}")
        return [f"--nnodes={nnodes}", f"--nproc-per-node={nproc}", f"--node-rank={node_rank}",
                f"--master-addr={host}", f"--master-port={port}"]
    run_id = rdzv_id or (env["SLURM_JOB_ID"] if slurm else name)
    return [f"--nnodes={nnodes}", f"--nproc-per-node={nproc}", "--rdzv-backend=c10d",
            f"--rdzv-endpoint={host}:{port}", f"--rdzv-id={run_id}"]


def first_host(nodelist: str) -> str:
    """The first host of a Slurm node list (``gpu[03-05,09],cpu1`` -> ``gpu03``): where rank 0's machine is."""
    import re

    match = re.match(r"([^,\[]+)(?:\[([0-9]+))?", nodelist.strip())
    if match is None:
        raise GanforgeError(f"cannot read the Slurm node list {nodelist!r}; give --master-addr")
    return match.group(1) + (match.group(2) or "")


def init_from_env(device: str) -> World:
    """Join the process group torchrun describes (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``...):
    NCCL when training on CUDA, gloo otherwise. Returns this process's :class:`World`."""
    if not launched_by_torchrun():
        return World()
    if dist.is_initialized():
        return current_world()
    cuda = device in ("auto", "cuda") and torch.cuda.is_available()
    if device == "cuda" and not cuda:
        raise GanforgeError("train.device is 'cuda' but no GPU is visible to this rank; use --set train.device=cpu")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl" if cuda else "gloo")
    return current_world()


def device_for(world: World, requested: str) -> str | None:
    """The device of this rank: ``cuda:<local rank>`` on GPUs, else the recipe's choice."""
    if world.size > 1 and requested in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{world.local_rank}"
    return None


def rank_randn(n: int, *shape: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Standard normal noise for this rank's ``n`` items: its slice of the global draw."""
    world = current_world()
    if world.size == 1:
        return torch.randn(n, *shape, device=device)
    return torch.randn(n * world.size, *shape, device=device)[world.rank * n:(world.rank + 1) * n]


def rank_rand(n: int, *shape: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Uniform [0, 1) draws for this rank's ``n`` items: its slice of the global draw."""
    world = current_world()
    if world.size == 1:
        return torch.rand(n, *shape, device=device)
    return torch.rand(n * world.size, *shape, device=device)[world.rank * n:(world.rank + 1) * n]


def shared_rand(*shape: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Uniform [0, 1) draws that are the same on every rank (a decision made for the whole
    global batch, such as whether this step mixes styles): the ranks' generators are seeded
    alike and every rank draws alike."""
    return torch.rand(*shape, device=device)


def mean_across(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average logged values over ranks (every rank calls this with the same keys)."""
    world = current_world()
    if world.size == 1 or not values:
        return values
    stacked = torch.tensor([values[k] for k in values], dtype=torch.float64, device=device)
    dist.all_reduce(stacked)
    return dict(zip(values, (stacked / world.size).tolist()))


def any_across(flag: bool, device: torch.device) -> bool:
    """Whether any rank says yes (keeps stop requests in step across ranks)."""
    if current_world().size == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value)
    return bool(value.item() > 0)


def my_rows(n: int) -> slice:
    """This rank's contiguous share of ``n`` rows (shares differ in size by at most one)."""
    world = current_world()
    base, extra = divmod(n, world.size)
    start = world.rank * base + min(world.rank, extra)
    return slice(start, start + base + (world.rank < extra))


def gather_rows(local: torch.Tensor, n: int) -> torch.Tensor:
    """Every rank's share (see :func:`my_rows`) of an ``n``-row tensor, concatenated in rank order."""
    world = current_world()
    if world.size == 1:
        return local
    base, extra = divmod(n, world.size)
    longest = base + (extra > 0)
    padded = local.new_zeros((longest, *local.shape[1:]))
    padded[: len(local)] = local
    parts = [torch.empty_like(padded) for _ in range(world.size)]
    dist.all_gather(parts, padded.contiguous())
    return torch.cat([part[: base + (rank < extra)] for rank, part in enumerate(parts)])


def barrier() -> None:
    if current_world().size > 1:
        dist.barrier()


def shutdown() -> None:
    """Leave the process group once every rank is done."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def exit_rank(code: int) -> None:
    """End a torchrun rank whose work is written: leave the group, flush, and exit without the
    interpreter's finalisation, during which gloo's worker threads can still abort the process
    ("terminate called without an active exception") after a run that succeeded."""
    import sys

    shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


__getattr__ = renamed(__name__, {"randn": "rank_randn", "rand": "rank_rand", "current": "current_world"})
