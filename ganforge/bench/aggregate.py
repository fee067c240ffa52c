"""Numbers over seeds (mean, standard error, min, max) and comparisons: with the published
rows a suite stores, and with a baseline ``results.json``."""

from __future__ import annotations

import math
from typing import Any

from ganforge.bench.suite import Suite


def describe(values: list[float]) -> dict[str, float | int | None]:
    """Mean, standard error of the mean (None for one value), min and max."""
    n = len(values)
    mean = sum(values) / n
    se = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n) if n > 1 else None
    return {"mean": mean, "se": se, "min": min(values), "max": max(values), "n": n}


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict]]:
    """Run name -> metric -> statistics over the finished seeds (numeric metrics only)."""
    by_run: dict[str, dict[str, list[float]]] = {}
    for row in runs:
        if row.get("status") != "done":
            continue
        metrics = by_run.setdefault(row["run"], {})
        for key, value in row["metrics"].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                metrics.setdefault(key, []).append(float(value))
    return {run: {key: describe(values) for key, values in metrics.items()} for run, metrics in by_run.items()}


def _feature_network(protocol: dict[str, Any]) -> dict[str, Any]:
    """What identifies the network a metric read its features with: its name, the file's digest
    (``name@digest``; rows older than the digest have none) and a classifier's test accuracy."""
    name, _, digest = str(protocol.get("features") or "").partition("@")
    return {"network": name or None, "digest": digest or None, "test accuracy": protocol.get("classifier_test_accuracy")}


def _same_network(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a[key] == b[key] for key in a if a[key] is not None and b[key] is not None)


def mixed_feature_networks(runs: list[dict[str, Any]]) -> list[str]:
    """A warning for each evaluator whose metrics different feature networks read across the
    finished rows (another classifier, or the same file retrained): they are not comparable."""
    groups_of: dict[str, list[tuple[dict[str, Any], dict[str, list[int]]]]] = {}
    metrics_of: dict[str, list[str]] = {}
    for row in runs:
        if row.get("status") != "done":
            continue
        read: dict[str, dict[str, Any]] = {}
        for metric, protocol in row.get("metric_protocols", {}).items():
            read.setdefault(protocol.get("evaluator") or metric, protocol)
            metrics_of.setdefault(protocol.get("evaluator") or metric, []).append(metric)
        for evaluator, protocol in read.items():
            network, groups = _feature_network(protocol), groups_of.setdefault(evaluator, [])
            group = next((g for g in groups if _same_network(g[0], network)), None)
            if group is None:
                groups.append(group := (network, {}))
            group[1].setdefault(row["run"], []).append(row["seed"])
    warnings = []
    for evaluator, groups in groups_of.items():
        if len(groups) < 2:
            continue
        described = "; ".join(", ".join(f"{key} {value}" for key, value in network.items() if value is not None) + ": "
                              + ", ".join(f"{run} (seeds {', '.join(map(str, sorted(seeds)))})"
                                          for run, seeds in rows.items()) for network, rows in groups)
        metrics = ", ".join(dict.fromkeys(metrics_of[evaluator]))
        warnings.append(f"{metrics} ({evaluator}) were read by {len(groups)} different feature networks, so they are not "
                        f"comparable across these rows. {described}. Score the runs again with one network: "
                        "`ganforge bench SUITE --rescore` (--only RUN for some runs)")
    return warnings


def _se(stats: dict) -> float:
    return stats.get("se") or 0.0


def compare_published(summary: dict, suite: Suite) -> list[dict[str, Any]]:
    """One row per published number: ours, theirs, and whether ours lies beyond the published
    spread (the intervals mean +- spread and mean +- standard error do not overlap; for a
    published range, our mean +- standard error misses it)."""
    rows = []
    for ref in suite.reference:
        for metric, published in ref.metrics.items():
            ours = summary.get(ref.run, {}).get(metric)
            row = {"run": ref.run, "metric": metric, "against": "published", "source": ref.source,
                   "reference": published.describe(), "reference_low": published.low, "reference_high": published.high,
                   "ours": ours, "flag": None, "difference": None}
            if ours is not None:
                mid = published.mean if published.mean is not None else (published.low + published.high) / 2
                row["difference"] = ours["mean"] - mid
                row["flag"] = ours["mean"] + _se(ours) < published.low or ours["mean"] - _se(ours) > published.high
            rows.append(row)
    return rows


def compare_baseline(summary: dict, baseline: dict[str, Any], tolerance: float) -> list[dict[str, Any]]:
    """One row per metric the baseline results also have: flagged when the means differ by more
    than the two standard errors plus ``tolerance`` of the baseline's magnitude."""
    theirs_all = baseline.get("summary", {})
    rows = []
    for run, metrics in summary.items():
        for metric, ours in metrics.items():
            theirs = theirs_all.get(run, {}).get(metric)
            if theirs is None:
                continue
            difference = ours["mean"] - theirs["mean"]
            allowed = _se(ours) + _se(theirs) + tolerance * abs(theirs["mean"])
            rows.append({"run": run, "metric": metric, "against": "baseline",
                         "source": baseline.get("source_file", "baseline"),
                         "reference": _format(theirs), "ours": ours, "difference": difference,
                         "flag": abs(difference) > allowed})
    return rows


def _format(stats: dict) -> str:
    se = stats.get("se")
    return f"{stats['mean']:.4g}" + (f" +- {se:.2g}" if se else "")


def format_stats(stats: dict | None) -> str:
    """``mean +- se [min, max] (n)`` for tables."""
    if stats is None:
        return "-"
    text = _format(stats)
    if stats["n"] > 1:
        text += f" [{stats['min']:.4g}, {stats['max']:.4g}]"
    return f"{text} (n={stats['n']})"
