"""``ganforge bench``: run a suite (or only report on what it has) and write its reports."""

from __future__ import annotations

import argparse
from pathlib import Path

from typing import TYPE_CHECKING

from ganforge.hookspecs import Commands

if TYPE_CHECKING:
    from ganforge.bench.executor import Executor
    from ganforge.bench.suite import LoadedSuite


def add_bench_command(subparsers: Commands) -> None:
    p = subparsers.add_parser("bench", help="run a benchmark suite and write results.json, report.html, summary.md",
                              description="Train every (recipe, seed) of a suite that is not finished (resuming "
                                          "interrupted ones), evaluate it, and gather the results and reports.")
    p.add_argument("suite", type=Path, help="suite YAML file, e.g. recipes/bench/mode-collapse.yaml")
    p.add_argument("--out", type=Path, help="output folder (default: runs/bench/<suite name>)")
    p.add_argument("--jobs", type=int, help="runs trained at once (local: default 1, the CPU threads shared out; "
                                            "ray and slurm: default as many as the cluster takes)")
    p.add_argument("--executor", metavar="NAME", help="where the runs train: local (default), ray, slurm, or a "
                                                      "plugin's (default: the suite's `executor:`)")
    p.add_argument("--executor-set", action="append", default=[], metavar="KEY=VALUE",
                   help="an executor setting, e.g. address=auto or partition=gpu (repeatable)")
    p.add_argument("--only", nargs="+", metavar="RUN", help="run only these of the suite's runs")
    p.add_argument("--seeds", type=int, metavar="N", help="only the first N of the suite's seeds")
    p.add_argument("--baseline", type=Path, help="results.json (or its folder) of an earlier run to compare with")
    only_report = p.add_mutually_exclusive_group()
    only_report.add_argument("--report-only", action="store_true",
                             help="train nothing: gather and report what is finished")
    only_report.add_argument("--rescore", action="store_true",
                             help="train nothing: score the finished runs (with --only, of these runs) again, e.g. after "
                                  "their classifier was retrained; the new numbers become the store's newest rows")
    p.add_argument("--store", type=Path, help="results store (JSON lines) to reuse finished runs from and append new "
                                              "ones to (default: the suite's `store:`, if any)")
    p.set_defaults(handler=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from ganforge.bench.report import write_reports
    from ganforge.bench.runner import gather, plan, rescore_suite, run_suite
    from ganforge.bench.store import ResultsStore
    from ganforge.bench.suite import load_suite
    from ganforge.errors import GanforgeError

    loaded = load_suite(args.suite)
    out = args.out or Path("runs") / "bench" / loaded.suite.name
    seeds = loaded.suite.seed_list[: args.seeds] if args.seeds else None
    store_path = args.store or loaded.store_path
    store = ResultsStore(store_path) if store_path else None
    failure = None
    if args.report_only:
        results = gather(loaded, out, plan(loaded, out, args.only, seeds), args.baseline, store)
    elif args.rescore:
        results = rescore_suite(loaded, out, only=args.only, seeds=seeds, baseline=args.baseline, store=store)
    else:
        executor = chosen_executor(loaded, args.executor, args.executor_set, out, args.jobs)
        try:
            results = run_suite(loaded, out, jobs=args.jobs, only=args.only, seeds=seeds, baseline=args.baseline,
                                store=store, executor=executor)
        except GanforgeError as exc:
            failure = exc
            results = gather(loaded, out, plan(loaded, out, args.only, seeds), args.baseline, store)
    html_path, md_path = write_reports(results, out)
    print((Path(md_path)).read_text().split("## Every run")[0].rstrip())
    print(f"\nwrote {out / 'results.json'}, {html_path}, {md_path}")
    flagged = [c for c in results["comparisons"] if c["flag"]]
    if flagged:
        print(f"{len(flagged)} number(s) beyond the reference spread: "
              + ", ".join(f"{c['run']} {c['metric']}" for c in flagged))
    for warning in results.get("warnings", []):
        print(f"warning: {warning}")
    if failure is not None:
        raise failure
    return 0


def chosen_executor(loaded: "LoadedSuite", name: str | None, settings: list[str], out: Path,
                    jobs: int | None) -> "Executor":
    """The executor named on the command line (else the suite's), with its settings: the suite's
    when it names the same one, then each ``--executor-set KEY=VALUE``."""
    import yaml

    from ganforge.bench.executor import ExecutorContext, check_executor_slot
    from ganforge.errors import GanforgeError

    slot = loaded.executor_slot
    if name is not None and name != slot["type"]:
        slot = {"type": name}
    for item in settings:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise GanforgeError(f"--executor-set {item!r}: give KEY=VALUE, e.g. --executor-set address=auto")
        slot[key.strip()] = yaml.safe_load(value)
    spec, params, problems = check_executor_slot(slot)
    if spec is None:
        raise GanforgeError(f"--executor: {problems[0][1]}")
    if problems:
        described = "; ".join(f"{'.'.join(map(str, key)) or slot['type']}: {message}" for key, message in problems)
        raise GanforgeError(f"executor {slot['type']}: {described} (settings come from the suite's `executor:` and "
                            "--executor-set; docs/distributed.md lists each executor's settings)")
    return spec.build(params, ExecutorContext(out=out.resolve(), jobs=jobs, suite=loaded.suite.name))
