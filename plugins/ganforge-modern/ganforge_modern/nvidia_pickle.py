"""NVIDIA stylegan2-ada-pytorch network pickles, read without running the code they carry.

Such a pickle stores each net as its class's source code plus the object's state, and the
reference rebuilds the net by executing that code. Here a restricted unpickler knows the few
names those pickles use: the nets become :class:`Persistent` records (class name, constructor
arguments, parameters, buffers, submodules) and the source code stays an unread string;
tensors are rebuilt by torch's own ``weights_only`` loader. Any other name in the file is
refused before anything is built from it."""

from __future__ import annotations

import collections
import io
import pickle
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganforge.sdk import GanforgeError


class Persistent:
    """One net of the pickle as data: ``class_name``, ``state`` (its ``__dict__``: ``_parameters``,
    ``_buffers``, ``_modules``, ``_init_kwargs``, ...). Its ``module_src`` is never executed."""

    def __init__(self, meta: dict):
        if not isinstance(meta, dict) or meta.get("type") != "class":
            raise GanforgeError("the pickle holds a persistent object that is not a class instance")
        self.class_name = str(meta.get("class_name"))
        self.state: dict = dict(meta.get("state") or {})

    def __setstate__(self, state: dict) -> None:
        self.state.update(state)

    def tensors(self, prefix: str = "") -> dict[str, Tensor]:
        """Parameters and buffers of this net and its submodules, as ``state_dict()`` names them."""
        out: dict[str, Tensor] = {}
        for group in ("_parameters", "_buffers"):
            for name, value in (self.state.get(group) or {}).items():
                if isinstance(value, Tensor):
                    out[prefix + name] = value.detach()
        for name, module in (self.state.get("_modules") or {}).items():
            if isinstance(module, Persistent):
                out.update(module.tensors(f"{prefix}{name}."))
            elif module is not None:
                raise GanforgeError(f"submodule {prefix}{name} of the pickle is a {type(module).__name__}, not a net")
        return out

    @property
    def init_kwargs(self) -> dict:
        return dict(self.state.get("_init_kwargs") or {})


class EasyDict(dict):
    """dnnlib's attribute dictionary, as a plain dictionary."""


def _load_storage(data: bytes) -> Any:
    return torch.load(io.BytesIO(data), weights_only=True)


def _scalar(dtype: Any, data: bytes = b"") -> Any:
    return np.frombuffer(data, dtype=dtype)[0] if data else np.zeros((), dtype=dtype)[()]


SAFE = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): Persistent,
    ("dnnlib.util", "EasyDict"): EasyDict,
    ("dnnlib", "EasyDict"): EasyDict,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
}


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return SAFE[(module, name)]
        except KeyError:
            raise GanforgeError(f"refused: the pickle names {module}.{name}, which a stylegan2-ada-pytorch network "
                                "pickle does not hold; nothing from it was run") from None

    def persistent_load(self, pid: Any) -> Any:
        raise GanforgeError("refused: the pickle refers to outside objects (persistent ids); it is not a "
                            "stylegan2-ada-pytorch network pickle")


def read_network_pickle(path: Path) -> dict:
    """The snapshot dictionary of a network pickle (``G_ema``, ``G``, ``D``, ...), nets as
    :class:`Persistent` records; a located error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise GanforgeError(f"{path} does not exist; give a network pickle (network-snapshot-*.pkl)")
    try:
        with path.open("rb") as handle:
            data = RestrictedUnpickler(handle).load()
    except GanforgeError as exc:
        raise GanforgeError(f"{path}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, RuntimeError) as exc:
        raise GanforgeError(f"{path} cannot be read as a network pickle ({type(exc).__name__}: {exc}); "
                            "is it truncated?") from None
    if not isinstance(data, dict) or not isinstance(data.get("G_ema"), Persistent):
        keys = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise GanforgeError(f"{path} has no G_ema net (it holds {keys}); is it a stylegan2-ada-pytorch snapshot?")
    return data


def generator_tensors(network: dict, source: Path) -> tuple[dict, int, int, dict[str, Tensor], list[str]]:
    """(generator settings, resolution, channels, tensors under ganforge's names, notes) of G_ema."""
    g: Persistent = network["G_ema"]
    if g.class_name != "Generator":
        raise GanforgeError(f"{source}: G_ema is a {g.class_name}, not stylegan2-ada-pytorch's Generator")
    kwargs = g.init_kwargs
    mapping, synthesis = dict(kwargs.get("mapping_kwargs") or {}), dict(kwargs.get("synthesis_kwargs") or {})
    if kwargs.get("c_dim"):
        raise GanforgeError(f"{source} is a conditional generator (c_dim {kwargs['c_dim']}); ganforge imports "
                            "unconditional StyleGAN2 generators only")
    if synthesis.get("architecture", "skip") != "skip":
        raise GanforgeError(f"{source} has the {synthesis['architecture']!r} generator architecture; ganforge's "
                            "stylegan2-generator is the skip architecture (config F)")
    resolution, channels = int(kwargs["img_resolution"]), int(kwargs["img_channels"])
    settings = {"z_dim": int(kwargs["z_dim"]), "w_dim": int(kwargs["w_dim"]),
                "mapping_layers": int(mapping.get("num_layers", 8)), "mapping_lr": float(mapping.get("lr_multiplier", 0.01)),
                "channel_base": int(synthesis.get("channel_base", 32768)), "channel_max": int(synthesis.get("channel_max", 512))}
    if synthesis.get("conv_clamp") is not None:
        settings["conv_clamp"] = float(synthesis["conv_clamp"])
    tensors = {}
    for key, value in g.tensors().items():
        ours = nvidia_name(key)
        if ours is not None:
            tensors[f"generator.{ours}"] = value.float()
    notes = [f"{Path(source).name} (G_ema): {resolution} px, {channels} channels, z {settings['z_dim']}, "
             f"w {settings['w_dim']}, {settings['mapping_layers']} mapping layers, channel_base "
             f"{settings['channel_base']}, channel_max {settings['channel_max']}"
             + (f", conv_clamp {settings['conv_clamp']:g}" if "conv_clamp" in settings else ""),
             "read without running the code in the pickle"]
    if synthesis.get("num_fp16_res"):
        notes.append(f"its top {synthesis['num_fp16_res']} resolutions ran in fp16 on the GPU; here they run in fp32 "
                     "(as the reference with force_fp32), so images differ from its GPU output by fp16 rounding")
    return settings, resolution, channels, tensors, notes


def nvidia_name(key: str) -> str | None:
    """ganforge's name of a G_ema tensor (None: a resampling filter, not kept)."""
    if key.endswith("resample_filter"):
        return None
    if m := re.fullmatch(r"mapping\.fc(\d+)\.(weight|bias)", key):
        return f"mapping.layers.{m[1]}.{m[2]}"
    if key == "mapping.w_avg":
        return key
    if key == "synthesis.b4.const":
        return "synthesis.const"
    if m := re.fullmatch(r"synthesis\.b(\d+)\.(conv0|conv1|torgb)\.(.+)", key):
        block = int(m[1]).bit_length() - 3  # b4: 0, b8: 1, ...
        rest = {"weight": "conv.weight", "affine.weight": "conv.affine.weight", "affine.bias": "conv.affine.bias",
                "bias": "bias", "noise_strength": "noise_strength", "noise_const": "noise_const"}.get(m[3])
        if rest is None:
            return key
        if m[2] == "torgb":
            return f"synthesis.to_rgb.{block}.{rest}"
        layer = 0 if block == 0 else 2 * block - 1 + (m[2] == "conv1")
        return f"synthesis.layers.{layer}.{rest}"
    return key  # unknown: the strict check names it
