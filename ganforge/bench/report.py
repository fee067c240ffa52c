"""Reports of a suite's ``results.json``: a self-contained HTML page (tables, loss curves and
metric-vs-step plots drawn with matplotlib, sample grids, all embedded as PNG data) and a
Markdown summary."""

from __future__ import annotations

import base64
import html
import importlib.util
import io
from pathlib import Path
from typing import Any

from ganforge.bench.aggregate import format_stats
from ganforge.bench.curves import curves_of
from ganforge.files import atomic_write_text

REPORT_FILE, SUMMARY_FILE = "report.html", "summary.md"
STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}.flag{background:#fde2e1}.ok{background:#e3f6e5}img{max-width:100%;border:1px solid #ddd}
.plots{display:flex;flex-wrap:wrap;gap:1em}.plots figure{margin:0;flex:1 1 320px}figcaption{font-size:13px;color:#555}
code{background:#f3f3f3;padding:1px 4px}"""


def write_reports(results: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``summary.md`` next to ``results.json``."""
    out = Path(out)
    html_path, md_path = out / REPORT_FILE, out / SUMMARY_FILE
    atomic_write_text(html_path, render_html(results))
    atomic_write_text(md_path, render_markdown(results))
    return html_path, md_path


# ----------------------------------------------------------------- tables shared by both

def metric_names(results: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for metrics in results["summary"].values():
        names += [m for m in metrics if m not in names]
    return names


def summary_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    names = metric_names(results)
    header = ["run", "seeds", *names, "train s (mean)", "peak RSS MB"]
    rows = []
    for run in dict.fromkeys(r["run"] for r in results["runs"]):
        done = [r for r in results["runs"] if r["run"] == run and r.get("status") == "done"]
        planned = [r for r in results["runs"] if r["run"] == run]
        stats = results["summary"].get(run, {})
        seconds = sum(r["train_seconds"] for r in done) / len(done) if done else None
        peak = max((r.get("peak_rss_mb") or 0 for r in done), default=None)
        rows.append([run, f"{len(done)}/{len(planned)}", *[format_stats(stats.get(m)) for m in names],
                     f"{seconds:.1f}" if seconds is not None else "-", f"{peak:.0f}" if peak else "-"])
    return header, rows


def comparison_rows(results: dict[str, Any]) -> tuple[list[str], list[tuple[list[str], bool | None]]]:
    header = ["run", "metric", "ours", "reference", "against", "source", "verdict"]
    rows = []
    for c in results["comparisons"]:
        verdict = "no result yet" if c["flag"] is None else ("BEYOND the spread" if c["flag"] else "within")
        rows.append(([c["run"], c["metric"], format_stats(c["ours"]), c["reference"], c["against"], c["source"],
                      verdict], c["flag"]))
    return header, rows


def seed_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    names = metric_names(results)
    header = ["run", "seed", "status", *names, "train s", "eval s", "threads", "peak RSS MB", "peak CUDA MB"]
    rows = []
    for r in results["runs"]:
        metrics = r.get("metrics", {})
        rows.append([r["run"], str(r["seed"]), r.get("status", "?"),
                     *[_number(metrics.get(m)) for m in names],
                     _number(r.get("train_seconds")), _number(r.get("eval_seconds")), _number(r.get("threads")),
                     _number(r.get("peak_rss_mb")),
                     _number(r.get("peak_cuda_mb"))])
    return header, rows


def _number(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# ----------------------------------------------------------------- Markdown

def _md_table(header: list[str], rows: list[list[str]]) -> str:
    escape = lambda cell: str(cell).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(results: dict[str, Any]) -> str:
    suite, env = results["suite"], results["environment"]
    parts = [f"# Benchmark suite `{suite['name']}`", ""] + ([suite["description"], ""] if suite.get("description") else [])
    parts += [f"{results['created']}; commit {(env.get('git_commit') or '?')[:12]}; torch {env['torch']}; "
             f"device {env['device']}{' (' + env['gpu'] + ')' if env.get('gpu') else ''}; "
             f"deterministic: {suite['deterministic']}. Values are mean +- standard error [min, max] over seeds.",
             "", "## Summary", "", _md_table(*summary_rows(results))]
    if results.get("warnings"):
        parts += ["", "## Warnings", ""] + [f"- {warning}" for warning in results["warnings"]]
    header, rows = comparison_rows(results)
    if rows:
        parts += ["", "## Compared with published and baseline numbers", "",
                  _md_table(header, [row for row, _ in rows])]
    parts += ["", "## Every run", "", _md_table(*seed_rows(results)), "",
              f"The full page with curves and samples: `{REPORT_FILE}`; every number with its protocol: "
              "`results.json`.", ""]
    return "\n".join(parts)


# ----------------------------------------------------------------- HTML

def _html_table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = ""
    for index, row in enumerate(rows):
        css = f' class="{classes[index]}"' if classes and classes[index] else ""
        body += f"<tr{css}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _figure_png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()


def loss_plot(run: str, curves: list[dict]) -> bytes | None:
    """Every loss of every seed against the step (one colour per loss, one line per seed)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    colours: dict[str, Any] = {}
    drawn = False
    for seed in curves:
        for key, points in sorted(seed.get("losses", {}).items()):
            if not points:
                continue
            first = key not in colours  # label a loss once, at its first seed with a curve
            colour = colours.setdefault(key, f"C{len(colours) % 10}")
            steps, values = zip(*points)
            ax.plot(steps, values, color=colour, alpha=0.7, linewidth=1, label=key if first else None)
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set(xlabel="step", ylabel="loss", title=f"{run}: losses ({len(curves)} seeds)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _figure_png(fig)


def eval_plot(run: str, curves: list[dict]) -> bytes | None:
    """Each metric evaluated during training against the step (one panel per metric, one line per seed)."""
    import matplotlib.pyplot as plt

    series: dict[str, list[list[list[float]]]] = {}
    for seed in curves:
        for key, points in sorted(seed.get("eval", {}).items()):
            if len(points) > 1:
                series.setdefault(key, []).append(points)
    if not series:
        return None
    keys = list(series)[:6]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for points in series[key]:
            steps, values = zip(*points)
            ax.plot(steps, values, marker="o", markersize=3, linewidth=1, alpha=0.8)
        ax.set(xlabel="step", title=key)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{run}: evaluation during training", y=1.04)
    return _figure_png(fig)


def sample_grid(folder: Path, largest: int = 768) -> bytes | None:
    """The run's last sample grid (scaled down when large)."""
    from PIL import Image

    grids = sorted((folder / "samples").glob("step_*.png"))
    if not grids:
        return None
    try:
        image = Image.open(grids[-1])
        image.load()
    except OSError:
        return None
    if max(image.size) > largest:
        image.thumbnail((largest, largest))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def plots_available() -> bool:
    """Whether matplotlib (the ``report`` extra) is installed to draw the report's plots."""
    return importlib.util.find_spec("matplotlib") is not None


NO_PLOTS = ("<p class='flag'>No plots: they are drawn with matplotlib, which is not installed. "
            "<code>pip install 'ganforge[report]'</code> and run <code>ganforge bench SUITE --report-only</code> "
            "to add them.</p>")


def render_html(results: dict[str, Any]) -> str:
    plots = plots_available()
    if plots:
        import matplotlib

        matplotlib.use("Agg")
    suite, env = results["suite"], results["environment"]
    title = f"ganforge benchmark: {suite['name']}"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{STYLE}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
             f"<p>{html.escape(suite.get('description') or '')}</p>",
             f"<p>{html.escape(results['created'])}; commit <code>{html.escape((env.get('git_commit') or '?')[:12])}</code>; "
             f"torch {html.escape(env['torch'])}; device {html.escape(env['device'])}"
             f"{html.escape(' (' + env['gpu'] + ')') if env.get('gpu') else ''}; deterministic: {suite['deterministic']}. "
             "Values are mean +- standard error [min, max] over seeds.</p>",
             "<h2>Summary</h2>", _html_table(*summary_rows(results))]
    if results.get("warnings"):
        parts += ["<h2>Warnings</h2>", "<ul>" + "".join(f"<li class='flag'>{html.escape(w)}</li>"
                                                         for w in results["warnings"]) + "</ul>"]
    if not plots:
        parts.append(NO_PLOTS)
    header, rows = comparison_rows(results)
    if rows:
        classes = ["" if flag is None else ("flag" if flag else "ok") for _, flag in rows]
        parts += ["<h2>Compared with published and baseline numbers</h2>",
                  _html_table(header, [row for row, _ in rows], classes)]
    for run in dict.fromkeys(r["run"] for r in results["runs"]):
        done = [r for r in results["runs"] if r["run"] == run and r.get("status") == "done"]
        folders = [Path(r["folder"]) for r in done if r.get("from", "folder") == "folder"]
        parts.append(f"<h2>{html.escape(run)}</h2>")
        if len(done) > len(folders):
            hosts = sorted({r.get("host") or "another machine" for r in done if r.get("from") == "store"})
            parts.append(f"<p>{len(done) - len(folders)} seed(s) from the results store (trained on "
                         f"{html.escape(', '.join(hosts))}): curves from the store, samples only where a run folder "
                         "is here.</p>")
        if not done:
            parts.append("<p>No finished seed yet.</p>")
            continue
        curves = [curves_of(r) for r in done]
        drawn = [(loss_plot(run, curves), "losses"), (eval_plot(run, curves), "evaluation during training")] \
            if plots else []
        if folders:
            drawn.append((sample_grid(folders[0]), f"samples at the last step ({folders[0].name})"))
        figures = [f"<figure>{_img(png, f'{run} {caption}')}<figcaption>{html.escape(caption)}</figcaption></figure>"
                   for png, caption in drawn if png is not None]
        if figures:
            parts.append(f"<div class='plots'>{''.join(figures)}</div>")
    parts += ["<h2>Every run</h2>", _html_table(*seed_rows(results)), "<h2>Environment</h2>",
              _html_table(["key", "value"], [[k, _env_value(v)] for k, v in env.items() if k != "locked_packages"])]
    if env.get("locked_packages"):
        packages = ", ".join(f"{k} {v}" for k, v in sorted(env["locked_packages"].items()))
        parts.append(f"<details><summary>Locked packages ({len(env['locked_packages'])})</summary>"
                     f"<p>{html.escape(packages)}</p></details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _env_value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return "-" if value is None else str(value)
