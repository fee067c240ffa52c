"""The evaluation pass: stream generated samples (or output/target pairs) through every
evaluator, then gather numbers with their protocols and library versions."""

from __future__ import annotations

import time
from importlib import metadata
from typing import Any

import torch
from torch.utils.data import DataLoader

from ganforge import distributed
from ganforge.build import Run
from ganforge.capabilities import PairedOutputs, require
from ganforge.errors import GanforgeError
from ganforge.eval.evaluators import Evaluator
from ganforge.eval.session import EvalSession


def library_versions() -> dict[str, str | None]:
    out = {}
    for name in ("ganforge", "torch", "torch-fidelity", "torchmetrics"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def eval_session(run: Run, batch_size: int) -> EvalSession:
    """A session on the data evaluation compares with: ``eval.data`` when the recipe sets it
    (held-out data), else the training data."""
    params = run.recipe.eval.data
    if params is None:
        session = EvalSession(run.data, run.recipe.data, run.device, batch_size=batch_size)
        session.missing = run.ctx.data_missing
        return session
    return EvalSession(run.ctx.build("data", params), params, run.device, batch_size=batch_size,
                       split=f"eval.data ({params.type})")


def build_evaluators(run: Run, slots: list[Any]) -> dict[str, Evaluator]:
    """Build the evaluator slots, checking that the objective has what each one needs."""
    evaluators = {}
    for slot in slots:
        evaluator = run.ctx.build("evaluator", slot)
        if slot.type in evaluators:
            raise GanforgeError(f"evaluator {slot.type!r} is listed twice in eval.metrics")
        for capability in evaluator.objective_needs:
            require(run.objective, capability, f"evaluator {slot.type!r}",
                    run.ctx.describe("objective", run.recipe.objective.type))
        evaluators[slot.type] = evaluator
    return evaluators


@torch.no_grad()
def evaluate(run: Run, evaluators: dict[str, Evaluator], *, nets: dict | None = None, batch_size: int = 250,
             seed: int = 0, session: EvalSession | None = None) -> dict[str, Any]:
    """Run ``evaluators`` on ``run``'s generator (``nets`` overrides, e.g. EMA copies)."""
    started = time.perf_counter()
    session = session or eval_session(run, batch_size)
    nets = nets or run.nets
    modes = {name: net.training for name, net in nets.items()}
    for net in nets.values():
        net.eval()
    try:
        for evaluator in evaluators.values():
            evaluator.prepare(session)
        sampled = [e for e in evaluators.values() if e.needs == "samples"]
        paired = [e for e in evaluators.values() if e.needs == "pairs"]
        if isinstance(run.objective, PairedOutputs):  # a model of data -> data
            if sampled or paired:
                _data_pass(run, nets, sampled, paired, session, batch_size)
        elif paired:
            names = ", ".join(e.name for e in paired)
            verb = "compares" if len(paired) == 1 else "compare"
            raise GanforgeError(f"{names} {verb} outputs with targets, but objective {run.recipe.objective.type!r} "
                                "is not a paired task (translation, super-resolution, inpainting)")
        elif sampled:
            _sample_pass(run, nets, sampled, session, batch_size, seed)
        for evaluator in evaluators.values():
            if evaluator.needs == "nets":  # measures the nets directly (a classifier on held-out data)
                evaluator.measure(run, nets, batch_size)
        metrics: dict[str, Any] = {}
        produced_by: dict[str, str] = {}
        for name, evaluator in evaluators.items():
            values = evaluator.compute()
            metrics.update(values)
            produced_by.update(dict.fromkeys(values, name))
    finally:
        for name, net in nets.items():
            net.train(modes[name])
    return {
        "metrics": metrics,
        "protocols": {name: e.protocol() for name, e in evaluators.items()},
        "produced_by": produced_by,  # metric -> the evaluator (and so the protocol) behind it
        "seed": seed,
        "versions": library_versions(),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _sample_pass(run: Run, nets: dict, evaluators: list[Evaluator], session: EvalSession, batch_size: int,
                 seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    total, done = max(e.samples for e in evaluators), 0
    while done < total:
        n = min(batch_size, total - done)
        inputs = run.objective.sample_inputs(n, generator)
        share = distributed.my_rows(n)  # each rank generates its share; all receive the whole batch
        fake = run.objective.sample(nets, {k: v[share].to(run.device) for k, v in inputs.items()})
        fake = distributed.gather_rows(fake.contiguous(), n)
        session.new_batch()
        for evaluator in evaluators:
            need = evaluator.samples - done
            if need > 0:
                evaluator.update({"fake": fake[:need], **{k: v[:need] for k, v in inputs.items()}}, session)
        done += len(fake)


def _data_pass(run: Run, nets: dict, sampled: list[Evaluator], paired: list[Evaluator], session: EvalSession,
               batch_size: int) -> None:
    """Models that map data to data (translation, super-resolution, inpainting): every evaluator
    sees the outputs for the evaluation data's inputs, in order; paired metrics also see each
    output's target, which only paired data has."""
    data = session.require_data((sampled + paired)[0].name)
    info = data.info
    if paired and info.is_translation and not info.paired:
        names = ", ".join(e.name for e in paired)
        raise GanforgeError(f"{names} compare outputs with their targets, but this data is unpaired (its `x` is not "
                            "the source's own target); use fid or kid, or set eval.data to paired held-out data")
    translate = run.objective.paired_outputs
    everyone = sampled + paired
    total, done = min(max(e.samples for e in everyone), len(data)), 0
    loader = DataLoader(data, batch_size=batch_size, generator=torch.Generator())
    for batch in loader:
        if done >= total:
            break
        n = len(batch[next(k for k, v in batch.items() if torch.is_tensor(v))])
        share = distributed.my_rows(n)  # each rank translates its share of the batch
        output, target = translate(nets, {k: v[share].to(run.device) if torch.is_tensor(v) else v for k, v in batch.items()})
        output, target = distributed.gather_rows(output.contiguous(), n), distributed.gather_rows(target.contiguous(), n)
        session.new_batch()
        for evaluator in everyone:
            need = evaluator.samples - done
            if need > 0:
                item = {"fake": output[:need]}
                if evaluator in paired:
                    item["target"] = target[:need]
                evaluator.update(item, session)
        done += len(output)


def format_table(metrics: dict[str, Any]) -> str:
    width = max((len(k) for k in metrics), default=0)
    return "\n".join(f"{k:<{width}}  {v:.6g}" if isinstance(v, float) else f"{k:<{width}}  {v}"
                     for k, v in metrics.items())
