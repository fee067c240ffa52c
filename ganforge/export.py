"""``ganforge export``: a trained generator as ONNX or TorchScript, with its input contract in
the file's metadata, a dynamic batch axis, and a numerical check against PyTorch."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganforge.version import __version__
from ganforge.api import Generator
from ganforge.errors import GanforgeError

METADATA_KEY = "ganforge"
DEFAULT_TOLERANCE = 1e-4


class ExportMismatch(GanforgeError):
    """The exported model's outputs differ from PyTorch's beyond the tolerance."""


class _Sampler(nn.Module):
    """The generator as one module with positional inputs (the order of the contract's)."""

    def __init__(self, model: Generator, names: list[str], reverse: bool):
        super().__init__()
        self.nets = nn.ModuleDict(dict(model.nets))
        self.objective, self.names, self.reverse = model.objective, names, reverse
        self.translation = model.is_translation

    def forward(self, *inputs: Tensor) -> Tensor:
        if self.translation:
            return self.objective.translate(self.nets, inputs[0], self.reverse)
        return self.objective.sample(self.nets, dict(zip(self.names, inputs)))


def example_inputs(model: Generator, n: int, seed: int) -> dict[str, Tensor]:
    """Random inputs of the contract's shapes and types."""
    generator = torch.Generator().manual_seed(seed)
    if model.is_translation:
        return {"source": torch.rand(n, *model.info.source_shape, generator=generator) * 2 - 1}
    return model.inputs(n, seed)


def export(model: Generator, out: Path, fmt: str, *, tolerance: float = DEFAULT_TOLERANCE,
           reverse: bool = False) -> dict[str, Any]:
    """Write ``model`` to ``out`` as ``fmt`` (onnx or torchscript), check it on random inputs of
    two batch sizes, and return the report (max abs difference, tolerance, contract). A file
    that fails the check is removed and :class:`ExportMismatch` raised."""
    if fmt not in ("onnx", "torchscript"):
        raise GanforgeError(f"unknown export format {fmt!r}; use onnx or torchscript")
    if model.device.type != "cpu":
        raise GanforgeError("export from a generator loaded on the CPU: ganforge.load(run, device='cpu')")
    contract = {**model.contract(), "reverse": reverse, "ganforge": __version__, "format": fmt,
                "batch_axis": 0}
    example = example_inputs(model, 2, seed=0)
    names = list(example)
    module = _Sampler(model, names, reverse).eval()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        if not torch.equal(module(*example.values()), module(*example.values())):
            raise ExportMismatch("the generator gives different outputs for the same inputs (dropout kept on when "
                                 "translating: `test_dropout: true`, or a reference checkpoint imported without --eval), "
                                 "so no exported file can match it. Export a deterministic generator: set "
                                 "models.<generator>.test_dropout: false, or import with --eval")
        if fmt == "onnx":
            _write_onnx(module, example, out, contract)
            run = _onnx_runner(out)
        else:
            _write_torchscript(module, example, out, contract)
            run = _torchscript_runner(out)
        worst = 0.0
        for batch, seed in ((3, 1), (5, 2)):  # batch sizes the file was not traced with
            inputs = example_inputs(model, batch, seed)
            expected = module(*inputs.values())
            try:
                got = run(inputs)
            except Exception as exc:
                out.unlink(missing_ok=True)
                raise ExportMismatch(f"the exported model fails on a batch of {batch} ({type(exc).__name__}: "
                                     f"{str(exc).strip().splitlines()[-1][:300]}); the file was removed. A size "
                                     "taken with len(x) or a Python int in the generator's forward is fixed when "
                                     "traced: use x.shape[0] or indexing instead") from None
            if tuple(got.shape) != tuple(expected.shape):
                out.unlink(missing_ok=True)
                raise ExportMismatch(f"the exported model gives shape {tuple(got.shape)} for a batch of {batch}; "
                                     f"PyTorch gives {tuple(expected.shape)} (is the batch axis fixed somewhere "
                                     "in the generator?)")
            worst = max(worst, float((got - expected).abs().max()))
    report = {"file": str(out), "format": fmt, "max_abs_difference": worst, "tolerance": tolerance,
              "contract": contract}
    if not worst <= tolerance:
        out.unlink(missing_ok=True)
        raise ExportMismatch(f"the {fmt} export differs from the PyTorch model by up to {worst:.3g} on random inputs "
                             f"(tolerance {tolerance:g}); the file was removed. Raise --tolerance if that is "
                             "acceptable, or report the generator as not exportable")
    return report


def _write_onnx(module: nn.Module, example: dict[str, Tensor], out: Path, contract: dict) -> None:
    try:
        import onnx
    except ImportError:
        raise GanforgeError("ONNX export needs the onnx package: pip install 'ganforge[export]' "
                            "(onnx and onnxruntime)") from None
    names = list(example)
    axes = {name: {0: "batch"} for name in [*names, "output"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its successor
        torch.onnx.export(module, tuple(example.values()), str(out), input_names=names, output_names=["output"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    proto = onnx.load(str(out))
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(contract)
    proto.doc_string = f"ganforge generator of {contract['recipe']} (step {contract['step']})"
    onnx.save(proto, str(out))


def _onnx_runner(out: Path):
    try:
        import onnxruntime
    except ImportError:
        raise GanforgeError("checking an ONNX export needs onnxruntime: pip install 'ganforge[export]'") from None
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    return lambda inputs: torch.from_numpy(session.run(None, {k: v.numpy() for k, v in inputs.items()})[0])


def _write_torchscript(module: nn.Module, example: dict[str, Tensor], out: Path, contract: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes, and TorchScript's deprecation in favour of torch.export
        traced = torch.jit.trace(module, tuple(example.values()), check_trace=False)
        torch.jit.save(traced, str(out), _extra_files={f"{METADATA_KEY}.json": json.dumps(contract)})


def _torchscript_runner(out: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(out), map_location="cpu")
    return lambda inputs: loaded(*inputs.values())


def read_contract(path: Path) -> dict[str, Any]:
    """The contract stored in an exported file (ONNX metadata or TorchScript extra file)."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        if METADATA_KEY not in props:
            raise GanforgeError(f"{path} has no ganforge metadata; was it written by `ganforge export`?")
        return json.loads(props[METADATA_KEY])
    files = {f"{METADATA_KEY}.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.load(str(path), map_location="cpu", _extra_files=files)
    if not files[f"{METADATA_KEY}.json"]:
        raise GanforgeError(f"{path} has no ganforge metadata; was it written by `ganforge export`?")
    return json.loads(files[f"{METADATA_KEY}.json"])
