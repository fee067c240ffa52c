"""The core's own commands (train, validate, schema, plugins, sample, export, import, stats, eval). Like
every command, each is an ``add_<name>_command(commands)`` that makes its parser and sets its
handler, registered through the ``ganforge_add_commands`` hook (``ganforge.builtin.commands``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ganforge.hookspecs import Commands

if TYPE_CHECKING:
    from ganforge.preflight import Report


def add_recipe_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", type=Path, help="recipe YAML file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe value, parsed as YAML (e.g. train.steps=500); repeatable")


def note_inherited_data(loaded) -> None:
    """Say which data settings a recipe inherits while changing others (stderr)."""
    from ganforge.recipe.provenance import inherited_data

    inherited = inherited_data(loaded.provenance, loaded.source)
    if inherited:
        print(f"ganforge: note: {loaded.source} changes data settings but inherits {', '.join(inherited)}; "
              "check they fit the new data (`ganforge validate --print` shows where every value comes from)",
              file=sys.stderr)


def add_train_command(commands: Commands) -> None:
    p = commands.add_parser("train", help="train a recipe into its run folder")
    add_recipe_args(p)
    p.add_argument("--resume", action="store_true", help="continue from the run folder's newest checkpoint")
    p.add_argument("--reschedule", action="store_true",
                   help="with --resume and a changed train.steps: spread the rest of a decaying learning rate over the "
                        "new length (refused otherwise)")
    p.add_argument("--no-preflight", action="store_true",
                   help="skip the checks run before step 0 (data, one step of every phase, weights files, the run "
                        "folder's room)")
    p.add_argument("--nproc-per-node", type=int, metavar="N",
                   help="train on N processes of this machine (one per GPU) through torch.distributed.run")
    nodes = p.add_argument_group("several machines (see docs/distributed.md)")
    nodes.add_argument("--nnodes", type=int, metavar="N",
                       help="machines taking part, each starting --nproc-per-node ranks with this same command "
                            "(default: SLURM_NNODES inside a Slurm allocation, else 1)")
    nodes.add_argument("--node-rank", type=int, metavar="R",
                       help="this machine's number, 0 to N-1 (default: SLURM_NODEID inside Slurm; without one the "
                            "machines are numbered as they join the rendezvous)")
    nodes.add_argument("--master-addr", metavar="HOST",
                       help="the host every machine reaches, where they meet (default: $MASTER_ADDR, else the first "
                            "host of the Slurm allocation)")
    nodes.add_argument("--master-port", type=int, metavar="PORT", help="its port (default: $MASTER_PORT, else 29400)")
    nodes.add_argument("--rdzv-id", metavar="ID",
                       help="a name the machines of one run share when they meet (default: the Slurm job id, "
                            "else the recipe's name)")
    p.set_defaults(handler=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from ganforge.recipe import load_recipe

    loaded = load_recipe(args.recipe, args.overrides)  # recipe mistakes surface before torch loads
    from ganforge import distributed

    data = None
    if not distributed.launched_by_torchrun():  # once, before any rank starts
        note_inherited_data(loaded)
        if not args.no_preflight:
            import warnings

            from ganforge.preflight import preflight

            report = preflight(loaded)
            for warning in report.warnings:  # said once: the training takes the checked data as it is
                warnings.warn(warning, stacklevel=1)
            data = report.data
    if (args.nproc_per_node or args.nnodes) and not distributed.launched_by_torchrun():
        return launch_ranks(args, loaded.recipe.name)
    from ganforge.pipeline import train
    from ganforge.train.trainer import Interrupted

    try:
        folder = train(loaded, resume=args.resume, reschedule=args.reschedule, data=data)
    except Interrupted as exc:
        print(f"ganforge: {exc}", file=sys.stderr)
        return 130
    if distributed.current_world().is_main or not distributed.launched_by_torchrun():
        print(f"done: run folder {folder.path} (samples/, checkpoints/, metrics.jsonl, tb/)")
    if distributed.launched_by_torchrun():
        distributed.exit_rank(0)
    return 0


def launch_ranks(args: argparse.Namespace, name: str) -> int:
    """``train --nproc-per-node N [--nnodes M ...]``: start this machine's ranks through
    torch.distributed.run, alone or meeting the other machines' launchers."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    from ganforge.distributed import rendezvous_args

    argv = [*rendezvous_args(args.nproc_per_node or 1, args.nnodes, args.node_rank, args.master_addr,
                             args.master_port, args.rdzv_id, name, os.environ),
            "-m", "ganforge", "train", str(args.recipe)]
    for override in args.overrides:
        argv += ["--set", override]
    if args.resume:
        argv.append("--resume")
    if args.reschedule:
        argv.append("--reschedule")
    argv.append("--no-preflight")  # done once, before the ranks start
    try:
        torchrun(argv)
    except ChildFailedError as exc:
        print(f"ganforge: a training rank failed ({exc.get_first_failure()[1].message if exc.failures else exc}); "
              "its error is printed above", file=sys.stderr)
        return 1
    return 0


def add_validate_command(commands: Commands) -> None:
    p = commands.add_parser("validate", help="check a recipe (or a bench suite and each of its runs) without training")
    add_recipe_args(p)
    p.add_argument("--print", action="store_true",
                   help="print the resolved recipe with all defaults; values from extended files or --set are marked "
                        "with where they came from")
    p.add_argument("--no-preflight", action="store_true",
                   help="check the recipe file only: do not build the data and nets or run a step")
    p.set_defaults(handler=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    from ganforge.recipe import load_recipe

    if is_suite_file(args.recipe):
        return validate_suite(args)
    loaded = load_recipe(args.recipe, args.overrides)
    if args.print:
        from ganforge.recipe.provenance import annotated_yaml

        print(annotated_yaml(loaded.resolved(), loaded.provenance, loaded.source), end="")
        return 0
    note_inherited_data(loaded)
    checked = ""
    if not args.no_preflight:
        from ganforge.preflight import preflight

        checked = "; " + described(preflight(loaded))
    print(f"{args.recipe}: ok ({loaded.recipe.objective.type}, {len(loaded.recipe.models)} models, "
          f"{loaded.recipe.train.steps} steps{checked})")
    return 0


def described(report: "Report", label: str = "") -> str:
    """A preflight's warnings on stderr (after ``label``), its summary returned."""
    for warning in report.warnings:
        print(f"ganforge: warning: {label}{warning}", file=sys.stderr)
    return report.describe()


def is_suite_file(path: Path) -> bool:
    """Whether ``path`` holds a bench suite (a mapping with ``runs`` and no ``models``)."""
    from ganforge.recipe.errors import RecipeError
    from ganforge.recipe.yaml import load_yaml_file

    if not path.is_file():  # a folder, a device, a pipe: the recipe loader says what is wrong
        return False
    try:
        data, _ = load_yaml_file(path)  # the recipe loader's limits: size, depth, aliases, tags
    except RecipeError:
        return False  # the recipe loader says what is wrong with the file
    return isinstance(data, dict) and "runs" in data and "models" not in data


def validate_suite(args: argparse.Namespace) -> int:
    """Check a bench suite, then every run's recipe as the suite sets it (seed 0), with preflight."""
    from ganforge.bench.runner import plan, preflight_job
    from ganforge.bench.suite import load_suite
    from ganforge.errors import GanforgeError

    if args.overrides or args.print:
        raise GanforgeError(f"{args.recipe} is a bench suite: --set and --print apply to recipes; a suite's runs take "
                            "their settings from its `set:` (validate a run's recipe file to use them)")
    loaded = load_suite(args.recipe)
    jobs = plan(loaded, Path("runs") / "bench" / loaded.suite.name, seeds=loaded.suite.seed_list[:1])
    for job in jobs:
        recipe = loaded.load_recipe(job.run, job.overrides)
        checked = "" if args.no_preflight else "; " + described(preflight_job(loaded, job, recipe), f"{job.run}: ")
        print(f"  {job.run}: ok ({recipe.recipe.objective.type}, {recipe.recipe.train.steps} steps{checked})")
    print(f"{args.recipe}: ok (suite {loaded.suite.name}, {len(jobs)} runs, seeds {loaded.suite.seed_list})")
    return 0


def add_schema_command(commands: Commands) -> None:
    p = commands.add_parser("schema", help="print the JSON Schema of recipes (all installed plugins)")
    p.add_argument("--out", type=Path, help="write to this file instead of stdout")
    p.set_defaults(handler=cmd_schema)


def cmd_schema(args: argparse.Namespace) -> int:
    from ganforge.recipe.schema import recipe_schema

    text = json.dumps(recipe_schema(), indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def add_plugins_command(commands: Commands) -> None:
    p = commands.add_parser("plugins", help="list plugins, their components, and any that failed to load")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--strict", action="store_true", help="exit 1 if any plugin failed to load")
    p.set_defaults(handler=cmd_plugins)


def cmd_plugins(args: argparse.Namespace) -> int:
    from ganforge.registry import default_registry

    registry = default_registry()
    plugins = registry.plugins.loaded
    if args.json:
        rows = [{"name": p.name, "distribution": p.distribution, "version": p.version, "module": p.module,
                 "error": p.error,
                 "components": [f"{s.kind}:{s.name}" for s in registry.all_specs() if s.plugin == p.name]}
                for p in plugins]
        print(json.dumps(rows, indent=2))
        return 0
    from ganforge.version import SDK_VERSION, __version__

    print(f"ganforge {__version__}, plugin SDK {SDK_VERSION} (docs/sdk.md)")
    for p in plugins:
        status = f"FAILED: {p.error}" if p.error else ""
        print(f"{p.name}  ({p.distribution} {p.version})  {status}".rstrip())
        for spec in registry.all_specs():
            if spec.plugin == p.name:
                print(f"    {spec.kind:<13} {spec.name:<22} {spec.summary}")
    return 1 if registry.plugins.failed and args.strict else 0


def add_sample_command(commands: Commands) -> None:
    p = commands.add_parser("sample", help="write a grid and single images from a checkpoint or run folder")
    p.add_argument("checkpoint", type=Path, help="run folder or checkpoints/step_<N> folder")
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--seed", type=int, default=0, help="noise seed (the same seed gives the same images)")
    p.add_argument("--out", type=Path, help="output folder (default: <run>/samples/sample_...)")
    p.add_argument("--grid-only", action="store_true", help="write only grid.png")
    p.add_argument("--device", default="cpu", help="device to sample on")
    p.add_argument("--truncation", type=float, metavar="T",
                   help="the truncation trick (fidelity for diversity): redraw latent values beyond +-T; a game "
                        "with its own (StyleGAN2: psi in W, 0.5 to 1 usual) uses that")
    p.set_defaults(handler=cmd_sample)


def cmd_sample(args: argparse.Namespace) -> int:
    from ganforge.pipeline import sample

    out = sample(args.checkpoint, args.n, out=args.out, seed=args.seed, singles=not args.grid_only,
                 device=args.device, truncation=args.truncation)
    print(f"wrote {out}/grid.png" + ("" if args.grid_only else f" and {args.n} single images"))
    return 0


def add_export_command(commands: Commands) -> None:
    p = commands.add_parser("export", help="export a run's generator as ONNX or TorchScript, checked against PyTorch")
    p.add_argument("run", type=Path, help="run folder or checkpoints/step_<N> folder")
    p.add_argument("--format", default="onnx", help="onnx, torchscript, or a checkpoint format a plugin can write "
                                                     "(`ganforge plugins` lists them: junyanz-pix2pix, ...)")
    p.add_argument("--out", type=Path, help="output file (default: <recipe name>.onnx or .pt)")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest absolute difference from PyTorch allowed on random inputs (default 1e-4)")
    p.add_argument("--no-ema", action="store_true", help="export the raw generator even when EMA weights exist")
    p.add_argument("--reverse", action="store_true", help="CycleGAN: export the target-to-source generator")
    p.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from ganforge.api import load
    from ganforge.export import export

    if args.format not in ("onnx", "torchscript"):
        return export_checkpoint_format(args)
    model = load(args.run, use_ema=not args.no_ema)
    out = args.out or Path(f"{model.run.recipe.name}.{'onnx' if args.format == 'onnx' else 'pt'}")
    report = export(model, out, args.format, tolerance=args.tolerance, reverse=args.reverse)
    inputs = ", ".join(f"{k} {v['dtype']}[batch, {', '.join(map(str, v['shape']))}]".replace(", ]", "]")
                       for k, v in report["contract"]["inputs"].items())
    print(f"wrote {out} ({args.format}, step {model.step}, {'EMA' if model.ema else 'raw'} weights): inputs {inputs}; "
          f"output [batch, {', '.join(map(str, report['contract']['output']['shape']))}]")
    print(f"checked on random inputs of batch 3 and 5: max abs difference {report['max_abs_difference']:.3g} "
          f"(tolerance {report['tolerance']:g})")
    return 0


def export_checkpoint_format(args: argparse.Namespace) -> int:
    """``ganforge export --format NAME``: the generator written in another implementation's layout."""
    from ganforge.api import load
    from ganforge.capabilities import WritesCheckpoints, require
    from ganforge.registry import default_registry

    spec = default_registry().get("format", args.format)
    writer = spec.build(spec.params(), None)
    require(writer, WritesCheckpoints, f"ganforge export --format {args.format}", f"format {args.format!r}")
    model = load(args.run, use_ema=not args.no_ema)
    out = args.out or Path(f"{model.run.recipe.name}_net_G.pth")
    written = writer.write(model, out, reverse=args.reverse)
    print(f"wrote {written} ({args.format}, step {model.step}, {'EMA' if model.ema else 'raw'} weights)")
    return 0


def add_import_command(commands: Commands) -> None:
    p = commands.add_parser("import", help="make a run folder from a checkpoint trained by a reference implementation",
                            description="Read CHECKPOINT in FORMAT and write a run folder that translate, sample, "
                                        "eval, export and ganforge.load use. Format options follow as --name value "
                                        "(`ganforge import FORMAT --help-format` lists them).")
    p.add_argument("format", help="checkpoint format (`ganforge plugins` lists them, kind format)")
    p.add_argument("checkpoint", type=Path, nargs="?", help="the file to import")
    p.add_argument("--out", type=Path, help="run folder to create (must not exist, or be empty)")
    p.add_argument("--help-format", action="store_true", help="list the format's options and exit")
    p.add_argument("options", nargs=argparse.REMAINDER, help="format options, --name value or --flag")
    p.set_defaults(handler=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from ganforge.importer import CheckpointImportError, format_options, import_checkpoint, parse_options
    from ganforge.registry import default_registry

    words = list(args.options)
    if "--out" in words:  # written after the checkpoint, where the format options begin
        at = words.index("--out")
        if at + 1 >= len(words):
            raise CheckpointImportError("--out needs a folder")
        args.out = Path(words[at + 1])
        del words[at:at + 2]
    if "--help-format" in words:
        words.remove("--help-format")
        args.help_format = True
    if args.help_format:
        spec = default_registry().get("format", args.format)
        print(f"{args.format}: {spec.summary}\noptions:\n{format_options(spec.params)}")
        return 0
    if args.checkpoint is None or args.out is None:
        raise CheckpointImportError("usage: ganforge import FORMAT CHECKPOINT --out RUN_DIR [--option value ...]")
    out, imported = import_checkpoint(args.format, args.checkpoint, args.out, parse_options(words))
    print(f"imported {args.checkpoint} ({args.format}) into {out}")
    for note in imported.notes:
        print(f"  {note}")
    return 0


def add_stats_command(commands: Commands) -> None:
    p = commands.add_parser("stats", help="reference statistics (mu, sigma) of a dataset for FID, as stats.npz")
    stats = p.add_subparsers(dest="stats_command", metavar="COMMAND", required=True)
    p = stats.add_parser("compute", help="compute mu and sigma of a dataset's features into an .npz file "
                                         "(the layout pytorch-fid and clean-fid use, plus a metadata record)")
    p.add_argument("data", type=Path, help="an image folder or .zip, an .npz of images, or a recipe (its eval.data, "
                                           "else its data)")
    p.add_argument("--out", type=Path, required=True, help="the .npz file to write")
    p.add_argument("--features", choices=["inception-v3", "classifier"], default="inception-v3")
    p.add_argument("--weights", type=Path, help="InceptionV3 weights file (else GANFORGE_WEIGHTS_DIR, the cache, a download)")
    p.add_argument("--classifier", type=Path, help="classifier file for --features classifier")
    p.add_argument("--samples", type=int, help="use at most this many images (default: all)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--device", default="cpu")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="with a recipe: override a value (e.g. data.size=64)")
    p.set_defaults(handler=cmd_stats)


def cmd_stats(args: argparse.Namespace) -> int:
    from ganforge.eval.stats import compute_stats

    meta = compute_stats(args.data, args.out, features=args.features, weights=args.weights,
                         classifier=args.classifier, samples=args.samples, batch_size=args.batch_size,
                         device=args.device, overrides=args.overrides)
    print(f"wrote {args.out}: mu and sigma of {meta['samples']} images ({meta['features']} features, "
          f"{meta['resize']}), data fingerprint {meta['data_fingerprint'][:12]}")
    return 0


def add_eval_command(commands: Commands) -> None:
    p = commands.add_parser("eval", help="evaluate a checkpoint or a run's newest checkpoint (appends to eval.json)")
    p.add_argument("run", type=Path, help="run folder, checkpoints/step_<N> or checkpoints/best")
    p.add_argument("--metrics", help="comma-separated evaluators, e.g. fid,kid (default: the recipe's eval.metrics)")
    p.add_argument("--metric", action="append", default=[], metavar="SLOT",
                   help="an evaluator with its settings, as YAML: '{type: fid, features: classifier, classifier: "
                        "clf.safetensors}' (files relative to the working directory); repeatable, after --metrics")
    p.add_argument("--samples", type=int, help="generated samples per evaluator (default: each evaluator's own)")
    p.add_argument("--batch-size", type=int, help="generator and feature-network batch (default: eval.batch_size)")
    p.add_argument("--device", default="cpu", help="device to evaluate on (cpu, cuda, mps)")
    p.add_argument("--no-ema", action="store_true", help="use the raw generator even when EMA weights exist")
    p.add_argument("--json", action="store_true", help="print the whole record as JSON")
    p.set_defaults(handler=cmd_eval)


def evaluator_slot(text: str) -> str | dict:
    """One ``--metric``: a name, or a YAML mapping of an evaluator's settings; files it names
    are relative to the working directory."""
    from ganforge.recipe.errors import Location, Problem, RecipeError
    from ganforge.recipe.yaml import load_yaml_text

    where = Location(override=f"--metric {text}")
    try:
        value, _ = load_yaml_text(text, file=None)
    except RecipeError as exc:
        raise RecipeError([Problem(where, (), p.message) for p in exc.problems]) from None
    if isinstance(value, str):
        return value
    if not (isinstance(value, dict) and isinstance(value.get("type"), str)):
        raise RecipeError([Problem(where, (), "an evaluator is a name or a mapping with a 'type', such as "
                                              "'{type: fid, features: classifier, classifier: clf.safetensors}'")])
    return _absolute_paths(value)


def _absolute_paths(slot: dict) -> dict:
    """The file settings of a slot (and of a data block inside it) made absolute from here."""
    out = {}
    for key, value in slot.items():
        if isinstance(value, dict):
            value = _absolute_paths(value)
        elif key in ("classifier", "weights", "reference_stats", "path", "root", "attributes") and isinstance(value, str):
            value = str(Path(value).expanduser().resolve())
        out[key] = value
    return out


def cmd_eval(args: argparse.Namespace) -> int:
    from ganforge.eval.runner import format_table
    from ganforge.pipeline import evaluate_checkpoint

    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else []
    metrics += [evaluator_slot(text) for text in args.metric]
    record = evaluate_checkpoint(args.run, metrics=metrics or None, samples=args.samples, batch_size=args.batch_size,
                                 device=args.device, use_ema=not args.no_ema)
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    weights = "EMA" if record["ema"] else "raw"
    print(f"{record['checkpoint']} (step {record['step']}, {weights} generator, {record['seconds']:.1f}s)")
    print(format_table(record["metrics"]))
    for name, protocol in record["protocols"].items():
        details = ", ".join(f"{k}={v}" for k, v in protocol.items() if not isinstance(v, dict))
        print(f"  {name}: {details}")
    print(f"appended to {Path(record['checkpoint']).parent.parent / 'eval.json'}")
    return 0


CORE_COMMANDS = (add_train_command, add_validate_command, add_schema_command, add_plugins_command,
                 add_sample_command, add_export_command, add_import_command, add_stats_command, add_eval_command)
