"""``ganforge bench``: suites validated, runs trained once (skipped when finished, resumed when
interrupted), results gathered with protocols and environment, reports that render, and two
runs of a deterministic suite giving identical numbers."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from conftest import REPO, tiny_ring, write_recipe
from ganforge.bench.aggregate import compare_baseline, compare_published, describe, mixed_feature_networks, summarise
from ganforge.bench.report import write_reports
from ganforge.bench.runner import gather, plan, rescore_suite, run_suite
from ganforge.bench.suite import load_suite
from ganforge.cli import main
from ganforge.errors import GanforgeError
from ganforge.recipe.errors import RecipeError
from ganforge.recipe.later import without_later_defaults


def suite_file(folder: Path, **changes) -> Path:
    recipe = tiny_ring(folder)
    recipe.pop("output")
    recipe["train"].update(steps=30, checkpoint_every=10, log_every=5, sample_every=10, sample_count=200)
    recipe["eval"] = {"every": 10, "metrics": [{"type": "mode-coverage", "samples": 300}]}
    write_recipe(folder / "recipes" / "ring.yaml", recipe)
    write_recipe(folder / "recipes" / "pac-ring.yaml", {"extends": "ring.yaml", "name": "pac-ring",
                                                        "models": {"discriminator": {"pack": 2}}})
    suite = {
        "name": "tiny", "description": "two tiny GANs on the ring", "seeds": 2, "deterministic": True, "threads": 1,
        "device": "cpu", "metrics": [{"type": "mode-coverage", "samples": 400}],
        "runs": {"gan": {"recipe": "recipes/ring.yaml"}, "pacgan2": {"recipe": "recipes/pac-ring.yaml"}},
        "reference": [{"run": "gan", "source": "PacGAN Table 1", "metrics": {"modes": {"mean": 6.3, "spread": 0.5}}},
                      {"run": "pacgan2", "source": "a range", "metrics": {"high_quality": {"min": 0, "max": 100}}}],
        **changes,
    }
    return write_recipe(folder / "tiny.yaml", suite)


@pytest.fixture(scope="module")
def finished_suite(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    loaded = load_suite(suite_file(folder))
    out = folder / "out"
    results = run_suite(loaded, out, jobs=2, echo=lambda line: None)
    return loaded, out, results


# ----------------------------------------------------------------- suites

def test_suite_errors_name_the_file_line_and_key(tmp_path):
    path = suite_file(tmp_path, metric=["fid"])
    with pytest.raises(RecipeError, match=r"tiny\.yaml:\d+: metric: unknown key 'metric'; did you mean 'metrics'"):
        load_suite(path)
    path = suite_file(tmp_path, reference=[{"run": "wgan", "source": "x", "metrics": {"fid": {"mean": 1}}}])
    with pytest.raises(RecipeError, match="reference row for 'wgan' names no run of the suite"):
        load_suite(path)
    path = suite_file(tmp_path, runs={"gan": {"recipe": "recipes/nope.yaml"}}, reference=[])
    with pytest.raises(RecipeError, match=r"runs\.gan\.recipe: recipe file recipes/nope\.yaml not found"):
        load_suite(path)
    path = suite_file(tmp_path, reference=[{"run": "gan", "source": "x", "metrics": {"fid": {"spread": 1}}}])
    with pytest.raises(RecipeError, match="give either mean"):
        load_suite(path)
    with pytest.raises(RecipeError, match="suite file not found"):
        load_suite(tmp_path / "missing.yaml")


def test_plan_is_seed_by_seed_with_the_suite_overrides(tmp_path):
    loaded = load_suite(suite_file(tmp_path, set=["train.steps=12"]))
    jobs = plan(loaded, tmp_path / "out")
    assert [(j.run, j.seed) for j in jobs] == [("gan", 0), ("pacgan2", 0), ("gan", 1), ("pacgan2", 1)]
    assert jobs[2].folder == (tmp_path / "out" / "gan" / "seed1").resolve()
    assert {"seed=1", "train.deterministic=true", "train.device=cpu", "train.steps=12"} <= set(jobs[2].overrides)
    assert [(j.run, j.seed) for j in plan(loaded, tmp_path / "out", only=["pacgan2"], seeds=[1])] == [("pacgan2", 1)]
    with pytest.raises(GanforgeError, match="has no run 'wgan'; its runs are gan, pacgan2"):
        plan(loaded, tmp_path / "out", only=["wgan"])


# ----------------------------------------------------------------- numbers

def test_statistics_over_seeds():
    stats = describe([1.0, 2.0, 4.0])
    assert stats["mean"] == pytest.approx(7 / 3) and stats["min"] == 1.0 and stats["max"] == 4.0 and stats["n"] == 3
    assert stats["se"] == pytest.approx(torch.tensor([1.0, 2.0, 4.0]).std().item() / 3 ** 0.5)
    assert describe([5.0])["se"] is None
    rows = [{"run": "a", "status": "done", "metrics": {"m": 1.0, "n": None}},
            {"run": "a", "status": "done", "metrics": {"m": 3.0}}, {"run": "a", "status": "missing"}]
    assert summarise(rows) == {"a": {"m": describe([1.0, 3.0])}}


def test_comparisons_flag_numbers_beyond_the_spread(tmp_path):
    loaded = load_suite(suite_file(tmp_path))
    summary = {"gan": {"modes": describe([6.7, 7.1])}, "pacgan2": {"high_quality": describe([50.0])}}
    rows = {(r["run"], r["metric"]): r for r in compare_published(summary, loaded.suite)}
    assert rows[("gan", "modes")]["flag"] is False  # 6.9 +- 0.2 overlaps 6.3 +- 0.5
    summary["gan"]["modes"] = describe([8.0, 8.0])
    assert compare_published(summary, loaded.suite)[0]["flag"] is True
    assert rows[("pacgan2", "high_quality")]["flag"] is False  # inside the published range
    assert compare_published({}, loaded.suite)[0]["flag"] is None  # nothing to compare yet
    baseline = {"summary": {"gan": {"modes": describe([8.0, 8.0])}}}
    assert compare_baseline({"gan": {"modes": describe([8.1])}}, baseline, 0.02)[0]["flag"] is False
    assert compare_baseline({"gan": {"modes": describe([8.3])}}, baseline, 0.02)[0]["flag"] is True


# ----------------------------------------------------------------- running a suite

def test_results_hold_every_number_with_protocol_environment_time_and_memory(finished_suite):
    loaded, out, results = finished_suite
    saved = json.loads((out / "results.json").read_text())
    assert saved["summary"] == results["summary"]
    assert [(r["run"], r["seed"], r["status"]) for r in saved["runs"]] == [
        ("gan", 0, "done"), ("pacgan2", 0, "done"), ("gan", 1, "done"), ("pacgan2", 1, "done")]
    row = saved["runs"][0]
    assert set(row["metrics"]) == {"modes", "high_quality", "reverse_kl"}
    assert row["metric_protocols"]["modes"] == {"evaluator": "mode-coverage", "samples": 400, "modes": 8,
                                                "std": 0.01, "threshold_std": 3.0}
    assert row["step"] == 30 and row["threads"] == 1 and row["train_seconds"] > 0 and row["peak_rss_mb"] > 50
    assert len(row["recipe_sha256"]) == 64 and len(row["data_fingerprint"]) == 64
    env = saved["environment"]
    assert env["torch"] == torch.__version__ and env["locked_packages"]["torch"] == torch.__version__.split("+")[0]
    assert env["git_commit"] and env["lock_sha256"]
    gan = [r["metrics"]["high_quality"] for r in saved["runs"] if r["run"] == "gan"]
    assert saved["summary"]["gan"]["high_quality"] == pytest.approx(describe(gan))
    assert {(c["run"], c["metric"]) for c in saved["comparisons"]} == {("gan", "modes"), ("pacgan2", "high_quality")}
    recipe = yaml.safe_load((out / "gan" / "seed1" / "recipe.resolved.yaml").read_text())
    assert recipe["seed"] == 1 and recipe["train"]["deterministic"] is True


def test_a_finished_suite_is_not_trained_again(finished_suite):
    loaded, out, results = finished_suite
    lines = []
    again = run_suite(loaded, out, echo=lines.append)
    assert lines[0].endswith("4 runs, 4 finished, 0 to run (local executor, 1 at a time) in " + str(out))
    assert again["summary"] == results["summary"]


def test_two_runs_of_a_deterministic_suite_agree(finished_suite, tmp_path):
    loaded, out, results = finished_suite
    again = run_suite(loaded, tmp_path / "again", seeds=[1], only=["gan"], echo=lambda line: None)
    first = next(r for r in results["runs"] if (r["run"], r["seed"]) == ("gan", 1))
    assert again["runs"][0]["metrics"] == first["metrics"]
    losses = lambda folder: [{k: v for k, v in r.items() if k not in ("time", "it_s")}  # noqa: E731
                             for r in map(json.loads, (folder / "metrics.jsonl").read_text().splitlines())]
    assert losses(tmp_path / "again" / "gan" / "seed1") == losses(out / "gan" / "seed1")


def test_an_interrupted_run_resumes_from_its_checkpoint(finished_suite, tmp_path):
    loaded, out, results = finished_suite
    copy = tmp_path / "out"
    shutil.copytree(out / "pacgan2" / "seed0", copy / "pacgan2" / "seed0")
    folder = copy / "pacgan2" / "seed0"
    shutil.rmtree(folder / "checkpoints" / "step_00000030")  # killed between the checkpoints at 20 and 30
    record = json.loads((folder / "bench.json").read_text())
    (folder / "bench.json").write_text(json.dumps({**record, "status": "interrupted"}))
    # The copied folder's recipe names the old output.dir: the job's recipe must still match it.
    saved = yaml.safe_load((folder / "recipe.resolved.yaml").read_text())
    saved["output"]["dir"] = str(folder)
    (folder / "recipe.resolved.yaml").write_text(yaml.safe_dump(saved, sort_keys=False))
    again = run_suite(loaded, copy, seeds=[0], only=["pacgan2"], echo=lambda line: None)
    resumed = json.loads((folder / "bench.json").read_text())
    assert resumed["segments"][-1]["from_step"] == 20 and resumed["segments"][-1]["to_step"] == 30
    first = next(r for r in results["runs"] if (r["run"], r["seed"]) == ("pacgan2", 0))
    assert again["runs"][0]["metrics"] == first["metrics"]  # bit for bit on CPU


def test_a_run_whose_scoring_failed_keeps_its_training_time_when_scored_again(tmp_path, monkeypatch):
    from ganforge.bench import worker
    from ganforge.bench.runner import bench_task

    loaded = load_suite(suite_file(tmp_path, seeds=1, reference=[]))
    job = plan(loaded, tmp_path / "out", only=["gan"])[0]
    spec = json.loads(bench_task(job, loaded.load_recipe(job.run, job.overrides), 1, None).job_file.read_text())

    def broken(*args, **kwargs):
        raise RuntimeError("the evaluator crashed")

    monkeypatch.setattr(worker, "score", broken)
    with pytest.raises(RuntimeError, match="crashed"):
        worker.run_job(spec)
    trained = json.loads((job.folder / "bench.json").read_text())
    assert trained["status"] == "scoring" and trained["segments"][0]["to_step"] == 30
    monkeypatch.undo()
    done = worker.run_job(spec)
    assert done["status"] == "done" and [s["from_step"] for s in done["segments"]] == [0, 30]
    assert done["train_seconds"] >= trained["segments"][0]["seconds"] > 0


def test_a_broken_recipe_fails_before_anything_trains(tmp_path):
    broken = suite_file(tmp_path, runs={"gan": {"recipe": "recipes/ring.yaml", "set": ["train.steps=0"]}}, reference=[])
    # placed at the suite's own `set:` line, not on a --set the user never typed
    with pytest.raises(RecipeError, match=r"tiny\.yaml:\d+: train\.steps: Input should be greater than or equal to 1"):
        run_suite(load_suite(broken), tmp_path / "broken", echo=lambda line: None)
    assert not (tmp_path / "broken").exists()


def test_a_failing_run_is_reported_and_the_others_kept(tmp_path):
    """A run that fails while it trains (here its weights blow up past step 0, which no
    preflight can know) is reported with its log, after the others have finished."""
    blow_up = ["train.steps=30", "optim.generator={type: sgd, lr: 10.0}", "optim.discriminator={type: sgd, lr: 10.0}"]
    runs = {"gan": {"recipe": "recipes/ring.yaml", "set": ["train.steps=5"]},
            "broken": {"recipe": "recipes/ring.yaml", "set": blow_up}}
    suite = suite_file(tmp_path, runs=runs, seeds=1, reference=[])
    with pytest.raises(GanforgeError, match=r"1 of 2 runs failed[\s\S]*broken seed 0: exit 1[\s\S]*(became nan|NaN or infinite)"):
        run_suite(load_suite(suite), tmp_path / "out", echo=lambda line: None)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [(r["run"], r["status"]) for r in results["runs"]] == [("gan", "done"), ("broken", "missing")]


def test_a_run_another_process_is_training_is_left_to_it(tmp_path):
    """Two `ganforge bench` calls over one suite: the second finds a run's folder locked by the
    first; it reports that run busy, not failed, and writes nothing in the folder (bench.json
    stays the first's), then trains the others."""
    from ganforge.train.rundir import RunFolder

    runs = {"gan": {"recipe": "recipes/ring.yaml", "set": ["train.steps=5"]}}
    loaded = load_suite(suite_file(tmp_path, runs=runs, seeds=2, reference=[]))
    busy = tmp_path / "out" / "gan" / "seed0"
    busy.mkdir(parents=True)
    (busy / "bench.json").write_text('{"status": "training", "segments": [{"seconds": 60.0}]}')
    with RunFolder(busy).lock():  # held by this process, as a first `ganforge bench`'s worker would
        lines: list[str] = []
        with pytest.raises(GanforgeError, match=r"^1 of 2 runs are being trained by another ganforge process "
                                                r"\(gan seed 0\): they were left to it") as raised:
            run_suite(loaded, tmp_path / "out", echo=lines.append)
    assert "failed" not in str(raised.value)
    assert "  busy gan seed 0: another ganforge process is training it; left to that one" in lines
    assert json.loads((busy / "bench.json").read_text()) == {"status": "training", "segments": [{"seconds": 60.0}]}
    assert json.loads((tmp_path / "out" / "gan" / "seed1" / "bench.json").read_text())["status"] == "done"


def test_a_run_finished_by_another_process_after_this_one_planned_it_is_not_done_again(tmp_path):
    """A second `ganforge bench` planned a run while the first was still scoring it: its worker
    waits its turn at the job's lock (busy while the first holds it), then finds the run
    finished and neither trains nor scores it again."""
    from ganforge.bench.executor import BUSY
    from ganforge.bench.worker import JOB_LOCK_FILE, main as worker
    from ganforge.train.rundir import RunFolder

    runs = {"gan": {"recipe": "recipes/ring.yaml", "set": ["train.steps=5"]}}
    run_suite(load_suite(suite_file(tmp_path, runs=runs, seeds=1, reference=[])), tmp_path / "out",
              echo=lambda line: None)
    folder = tmp_path / "out" / "gan" / "seed0"
    before = (folder / "bench.json").read_text()
    with RunFolder(folder).lock(JOB_LOCK_FILE):  # the first process, still scoring
        assert worker([str(folder / "bench.job.json")]) == BUSY
    assert worker([str(folder / "bench.job.json")]) == 0
    assert (folder / "bench.json").read_text() == before, "not trained or scored a second time"


def test_a_run_that_cannot_start_stops_the_suite_before_anything_trains(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    runs = {"gan": {"recipe": "recipes/ring.yaml", "set": ["train.steps=5"]},
            "broken": {"recipe": "recipes/ring.yaml", "set": [f"data={{type: npz, path: {tmp_path / 'bad.npz'}}}"]}}
    suite = suite_file(tmp_path, runs=runs, seeds=1, reference=[])
    with pytest.raises(RecipeError, match=r"data.path: cannot read .*bad\.npz as \.npz"):
        run_suite(load_suite(suite), tmp_path / "out", echo=lambda line: None)
    assert not (tmp_path / "out" / "gan").exists()


def test_a_suite_evaluator_that_cannot_run_stops_the_suite_before_anything_trains(tmp_path, capsys):
    """The suite's metrics score every run after it trains: a classifier file that is not there
    is said at its line in the suite file before step 0, by `bench` and by `validate`, not after
    the runs have trained."""
    missing = {"type": "fid", "features": "classifier", "classifier": "nowhere.safetensors", "samples": 100}
    suite = suite_file(tmp_path, metrics=[{"type": "mode-coverage", "samples": 400}, missing], seeds=1, reference=[])
    line = suite.read_text().splitlines().index("- type: fid") + 1
    expected = (f"{suite}:{line}: metrics[1]: classifier file {tmp_path / 'nowhere.safetensors'} not found; make one "
                "with `ganforge classifier train")
    with pytest.raises(RecipeError, match="run 'gan' of the suite") as raised:
        run_suite(load_suite(suite), tmp_path / "out", echo=lambda line: None)
    assert expected in str(raised.value)
    assert not (tmp_path / "out" / "gan").exists(), "nothing trained"
    assert main(["validate", str(suite)]) == 2
    assert expected in capsys.readouterr().err


def test_a_recipe_evaluator_the_suite_replaces_is_not_required(tmp_path, capsys):
    """A recipe's own eval.metrics (here InceptionV3 FID, whose weights are not on this machine)
    do not stop a suite that scores its runs with other metrics and evaluates nothing while
    training; once training evaluates them (eval.every), they are checked."""
    suite = suite_file(tmp_path, seeds=1, reference=[], set=["eval.metrics=[{type: fid, samples: 16}]", "eval.every=null"])
    env = {"GANFORGE_OFFLINE": "1", "GANFORGE_WEIGHTS_DIR": str(tmp_path / "none"), "TORCH_HOME": str(tmp_path / "none")}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        assert main(["validate", str(suite)]) == 0, capsys.readouterr().err
        assert "gan: ok" in capsys.readouterr().out
        periodic = suite_file(tmp_path, seeds=1, reference=[], set=["eval.metrics=[{type: fid, samples: 16}]"])
        assert main(["validate", str(periodic)]) == 2
        assert "eval.metrics[0].weights: " in capsys.readouterr().err


# ----------------------------------------------------------------- reports

class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        self.tables += tag == "table"


def test_report_page_embeds_plots_and_samples_that_decode(finished_suite):
    loaded, out, results = finished_suite
    html_path, md_path = write_reports(results, out)
    parser = _Images()
    parser.feed(html_path.read_text())
    assert parser.tables >= 4  # summary, comparisons, every run, environment
    # Per run: losses, evaluation during training (every 10 steps), the last sample grid.
    assert len(parser.sources) == 6
    for source in parser.sources:
        assert source.startswith("data:image/png;base64,")
        image = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
        assert image.format == "PNG" and min(image.size) > 50
        assert len(np.unique(np.asarray(image.convert("L")))) > 2  # drawn, not blank
    markdown = md_path.read_text()
    assert "| gan | 2/2 |" in markdown and "PacGAN Table 1" in markdown and "BEYOND the spread" in markdown


def test_loss_plot_labels_each_loss_once_when_the_first_seed_has_no_curve():
    """A seed found in the store has no curve here: the legend still names every loss, once."""
    import warnings

    from ganforge.bench.report import loss_plot

    curves = [{"losses": {}}, {"losses": {"d/loss": [[1, 0.7], [2, 0.6]], "g/loss": [[1, 0.9], [2, 1.0]]}},
              {"losses": {"d/loss": [[1, 0.8], [2, 0.5]]}}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns when a legend finds no labels
        png = loss_plot("ada", curves)
    assert png is not None and Image.open(io.BytesIO(png)).format == "PNG"
    assert loss_plot("ada", [{"losses": {}}]) is None


CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--virtual-time-budget=10000"]  # virtual time: the page's load event has fired when it answers
PAGE_CHECK = """<script>window.addEventListener("load", () => {
  const images = [...document.images], tables = [...document.querySelectorAll("table")];
  document.body.setAttribute("data-check", JSON.stringify({
    images: images.length, decoded: images.filter(i => i.complete && i.naturalWidth > 50).length,
    tables: tables.length, filled: tables.filter(t => t.rows.length > 1 && t.offsetHeight > 0).length}));
});</script>"""


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium package is not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium(finished_suite, tmp_path):
    """The report as a user opens it: every table laid out with its rows, every image decoded
    by the browser, and a screenshot that is not blank."""
    _, out, results = finished_suite
    html_path, _ = write_reports(results, out)
    checked = tmp_path / "checked.html"
    checked.write_text(html_path.read_text().replace("</body>", PAGE_CHECK + "</body>"))
    dom = subprocess.run([*CHROMIUM, "--dump-dom", checked.as_uri()], check=True, timeout=120, capture_output=True,
                         text=True).stdout
    found = re.search(r'data-check="([^"]*)"', dom)
    assert found, "the page's load event never fired"
    check = json.loads(html.unescape(found.group(1)))
    assert check["images"] == 6 and check["decoded"] == check["images"], check
    assert check["tables"] >= 4 and check["filled"] == check["tables"], check
    shot = tmp_path / "report.png"
    subprocess.run([*CHROMIUM, f"--screenshot={shot}", "--window-size=1200,2000", html_path.as_uri()], check=True,
                   timeout=120, capture_output=True)
    assert len(np.unique(np.asarray(Image.open(shot).convert("L")))) > 10


def test_bench_command_reports_what_is_finished(finished_suite, capsys):
    loaded, out, _ = finished_suite
    assert main(["bench", str(loaded.path), "--out", str(out), "--report-only"]) == 0
    shown = capsys.readouterr().out
    assert "## Summary" in shown and "wrote" in shown and "beyond the reference spread: gan modes" in shown
    assert (out / "report.html").is_file() and (out / "summary.md").is_file()


# ----------------------------------------------------------------- determinism switch

def test_train_deterministic_turns_on_deterministic_algorithms_for_the_run(tmp_path, monkeypatch):
    import ganforge.pipeline as pipeline
    from ganforge.recipe import recipe_from_data

    seen = []
    real = pipeline._train
    monkeypatch.setattr(pipeline, "_train", lambda *a: seen.append(
        (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)) or real(*a))
    before = torch.are_deterministic_algorithms_enabled()
    pipeline.train(recipe_from_data(tiny_ring(tmp_path, steps=5, deterministic=True)))
    assert seen == [(True, False)]
    assert torch.are_deterministic_algorithms_enabled() == before


# ----------------------------------------------------------------- the shipped suites

@pytest.mark.parametrize("path", sorted((REPO / "recipes" / "bench").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_suites_validate_with_every_recipe(path, tmp_path):
    from ganforge.recipe import load_recipe

    loaded = load_suite(path)
    # every shipped suite compares: with published rows, or (where the paper publishes no number
    # for the protocol) with a baseline trained side by side at the same budget
    assert loaded.suite.reference or len(loaded.suite.runs) >= 2
    for job in plan(loaded, tmp_path):
        recipe = load_recipe(job.recipe, job.overrides).recipe
        assert recipe.seed == job.seed and recipe.train.deterministic == loaded.suite.deterministic


@pytest.mark.parametrize("path", [p for p in sorted((REPO / "recipes" / "bench").glob("*.yaml"))
                                  if "store:" in p.read_text()], ids=lambda p: p.stem)
def test_shipped_suites_find_their_stored_results(path, tmp_path):
    """The numbers docs/results.md publishes stay reproducible from the suites as shipped: every
    (run, seed) with a row in its suite's store is found by today's recipe. A setting added
    since holds, at its default, the value those rows computed with: list it in
    ganforge/recipe/later.py."""
    from ganforge.bench.runner import stored
    from ganforge.bench.store import ResultsStore

    loaded = load_suite(path)
    store = ResultsStore(loaded.store_path)
    recorded = {(row["run"], row["seed"]) for row in store.rows()}
    lost = [f"{job.run} seed {job.seed}" for job in plan(loaded, tmp_path)
            if (job.run, job.seed) in recorded and stored(job, store) is None]
    assert not lost, f"rows of {store.path.name} no longer found: {lost}"


def test_every_image_folder_data_type_drops_the_folder_settings_added_later():
    """A data type built on the image folder's parameters, first-party or a plugin's, inherits
    its later settings: else upgrading would lose its recorded results (CC-GAN's did)."""
    from pydantic import Field
    from ganforge.plugins import create_plugins
    from ganforge.registry import Registry
    from ganforge.sdk import AddedLater, ImageFolderParams, hookimpl

    class MaskedFolderParams(ImageFolderParams):
        holes: int = Field(1, ge=0)
        soft: AddedLater[bool] = Field(False)

    class ThirdParty:
        @hookimpl
        def ganforge_register_data(self, register):
            register("masked-folder", params=MaskedFolderParams, factory="ganforge.data.image_folder:build")

    registry = Registry(create_plugins(strict=True, extra=(ThirdParty(),)))
    later = registry.later_defaults()
    folders = {"image-folder", "inpainting", "super-resolution", "edges", "masked-folder"}
    assert {name: later[name] for name in folders} == {name: {"fast_decode": False, "cache": False} for name in folders
                                                       } | {"masked-folder": {"fast_decode": False, "cache": False,
                                                                              "soft": False}}
    recipe = {"data": {"type": "masked-folder", "root": "faces", "holes": 1, "cache": False, "fast_decode": True,
                       "soft": False}}
    assert without_later_defaults(recipe, registry) == {
        "data": {"type": "masked-folder", "root": "faces", "holes": 1, "fast_decode": True}}


def test_the_recipe_sections_drop_their_settings_added_later_at_the_default_only():
    """train, its augment and ema, and each net's optim declare their later settings as
    ``AddedLater`` fields: at the default they leave the key, at any other value they stay."""
    recipe = {"train": {"steps": 10, "channels_last": False, "compile": True,
                        "augment": {"ops": ["flip"], "adaptive": None, "probability": 0.5},
                        "ema": {"decay": 0.99, "half_life_images": None, "rampup": None}},
              "optim": {"generator": {"lr": 1e-3, "beta2": None},
                        "discriminator": {"lr": 1e-3, "beta2": {"start": 0.9, "end": 0.99, "until": 10}}}}
    assert without_later_defaults(recipe) == {
        "train": {"steps": 10, "compile": True, "augment": {"ops": ["flip"], "probability": 0.5},
                  "ema": {"decay": 0.99}},
        "optim": {"generator": {"lr": 1e-3},
                  "discriminator": {"lr": 1e-3, "beta2": {"start": 0.9, "end": 0.99, "until": 10}}}}


def test_evaluator_settings_are_checked_and_their_files_resolved_against_the_suite(tmp_path):
    path = suite_file(tmp_path, metrics=[{"type": "fid", "features": "classifier", "classifier": "nets/c.safetensors"},
                                         "mode-coverage"])
    loaded = load_suite(path)
    assert loaded.metrics_of("gan") == [
        {"type": "fid", "features": "classifier", "classifier": str((tmp_path / "nets" / "c.safetensors").resolve())},
        "mode-coverage"]
    nested = load_suite(suite_file(tmp_path, metrics=[{"type": "heldout-accuracy", "data": {
        "type": "npz", "path": "held/out.npz", "labels": "y_test"}}]))  # a path inside a data block
    assert nested.metrics_of("gan")[0]["data"]["path"] == str((tmp_path / "held" / "out.npz").resolve())
    with pytest.raises(RecipeError, match=r"tiny\.yaml:\d+: metrics\[0\]: unknown evaluator 'fdi'"):
        load_suite(suite_file(tmp_path, metrics=["fdi"]))
    with pytest.raises(RecipeError, match=r"metrics\[0\]\.samples: Input should be greater than or equal to 2"):
        load_suite(suite_file(tmp_path, metrics=[{"type": "fid", "samples": 1}]))


# ----------------------------------------------------------------- the results store

def test_finished_runs_go_to_the_store_and_a_new_machine_reuses_them(finished_suite, tmp_path):
    from ganforge.bench.store import ResultsStore

    loaded, out, results = finished_suite
    store = ResultsStore(tmp_path / "store.jsonl")
    lines = []
    run_suite(loaded, out, store=store, echo=lines.append)  # finished here before the store existed: recorded
    assert "4 finished, 0 to run" in lines[0] and len(store.rows()) == 4
    elsewhere = tmp_path / "elsewhere"  # another machine: no run folders, only the store
    lines = []
    again = run_suite(loaded, elsewhere, store=store, echo=lines.append)
    assert "4 finished, 0 to run" in lines[0] and not (elsewhere / "gan").exists()
    assert again["summary"] == results["summary"]
    assert {r["from"] for r in again["runs"]} == {"store"}
    report = gather(loaded, tmp_path / "report-only", plan(loaded, tmp_path / "report-only"), None, store)
    assert report["summary"] == results["summary"]
    html_path, _ = write_reports(report, tmp_path / "report-only")
    assert "seed(s) from the results store" in Path(html_path).read_text()


def test_a_changed_recipe_or_evaluator_is_not_answered_from_the_store(finished_suite, tmp_path):
    from ganforge.bench.runner import stored
    from ganforge.bench.store import ResultsStore

    loaded, out, _ = finished_suite
    store = ResultsStore(tmp_path / "store.jsonl")
    run_suite(loaded, out, store=store, echo=lambda line: None)
    job = plan(loaded, out)[0]
    assert stored(job, store) is not None
    longer = job.__class__(**{**job.__dict__, "overrides": [*job.overrides, "train.steps=40"]})
    other_metrics = job.__class__(**{**job.__dict__, "metrics": [{"type": "mode-coverage", "samples": 500}]})
    moved = job.__class__(**{**job.__dict__, "overrides": [*job.overrides, "eval.every=null", "output.dir=/elsewhere"]})
    assert stored(longer, store) is None and stored(other_metrics, store) is None
    assert stored(moved, store) is not None, "where a run writes and what it evaluates in training change nothing"


def test_rescore_scores_finished_runs_again_without_training_and_the_store_answers_with_the_new_rows(
        finished_suite, tmp_path):
    from ganforge.bench.runner import stored
    from ganforge.bench.store import ResultsStore

    loaded, out, results = finished_suite
    here = tmp_path / "out"
    shutil.copytree(out, here)
    store = ResultsStore(tmp_path / "store.jsonl")
    run_suite(loaded, here, store=store, echo=lambda line: None)
    gan = plan(loaded, here, only=["gan"], seeds=[0])[0]
    before = json.loads((gan.folder / "bench.json").read_text())
    checkpoints = sorted(p.name for p in (gan.folder / "checkpoints").iterdir())
    lines = []
    again = rescore_suite(loaded, here, only=["gan"], store=store, echo=lines.append)
    assert lines == ["  scoring gan seed 0 again", "  scoring gan seed 1 again"]
    assert len(store.rows()) == 6, "one new row for each run scored again"
    after = json.loads((gan.folder / "bench.json").read_text())
    assert after["metrics"] == before["metrics"], "a deterministic run scores alike with the same evaluators"
    assert after["segments"] == before["segments"] and after["train_seconds"] == before["train_seconds"]
    assert sorted(p.name for p in (gan.folder / "checkpoints").iterdir()) == checkpoints, "nothing trained"
    assert stored(gan, store) == store.rows()[-2]
    assert again["summary"] == {"gan": results["summary"]["gan"]}
    elsewhere = []  # another machine, with the store's rows but none of the run folders
    rescore_suite(loaded, tmp_path / "elsewhere", only=["pacgan2"], store=store, echo=elsewhere.append)
    assert elsewhere[0].startswith(f"not scored again (2), as no run folder in {tmp_path / 'elsewhere'} holds them")
    assert "pacgan2 seed 0, pacgan2 seed 1; `ganforge bench` without --rescore" in elsewhere[0]


def test_rows_read_by_different_feature_networks_are_flagged():
    def row(run, seed, features, accuracy=None):
        protocol = {"evaluator": "stacked-mnist", "features": features, "classifier_test_accuracy": accuracy}
        return {"run": run, "seed": seed, "status": "done",
                "metric_protocols": {"stacked_mnist_modes": protocol, "stacked_mnist_kl": protocol}}

    old = [row("a", 0, "classifier:mnist.safetensors", 0.9905), row("a", 1, "classifier:mnist.safetensors", 0.9905)]
    same = [row("b", 0, "classifier:mnist.safetensors@0123456789ab", 0.9905)]  # the digest came later: no conflict
    assert mixed_feature_networks(old + same) == []
    retrained = [row("c", 0, "classifier:mnist.safetensors@ba9876543210", 0.9805)]
    [warning] = mixed_feature_networks(old + same + retrained)
    assert warning.startswith("stacked_mnist_modes, stacked_mnist_kl (stacked-mnist) were read by 2 different feature "
                              "networks")
    assert "test accuracy 0.9905: a (seeds 0, 1), b (seeds 0)" in warning
    assert "digest ba9876543210, test accuracy 0.9805: c (seeds 0)" in warning and "--rescore" in warning
    same_accuracy_other_file = [row("d", 0, "classifier:mnist.safetensors@ffffffffffff", 0.9905)]
    assert len(mixed_feature_networks(same + same_accuracy_other_file)) == 1
    results = {"suite": {"name": "s", "deterministic": True}, "created": "now", "runs": [],
               "environment": {"torch": "2", "device": "cpu"}, "summary": {}, "comparisons": [],
               "warnings": [warning]}
    from ganforge.bench.report import render_markdown

    assert "## Warnings\n\n- stacked_mnist_modes" in render_markdown(results)


def test_store_keys_hold_paths_relative_to_the_store_so_a_clone_elsewhere_finds_its_rows(tmp_path):
    from ganforge.bench.store import ResultsStore, portable, training_sha256

    def clone(root: Path) -> tuple[ResultsStore, dict, list]:
        recipe = {"data": {"type": "npz", "path": str(root / "data" / "mnist.npz")}, "train": {"steps": 5}}
        return ResultsStore(root / "repo" / "results" / "store.jsonl"), recipe, [
            {"type": "fid", "classifier": str(root / "repo" / "nets" / "c.safetensors")}]

    here, recipe, evaluators = clone(tmp_path / "a")
    sha = training_sha256(recipe, here.root)
    here.append({"run": "gan", "seed": 0, "training_sha256": sha, "metrics": {"fid": 1.0},
                 "evaluators": portable(evaluators, here.root)})  # as record_in_store writes them
    there, moved, moved_evaluators = clone(tmp_path / "b" / "deeper")
    (there.path.parent).mkdir(parents=True)
    there.path.write_bytes(here.path.read_bytes())  # the store travels with the repository
    assert training_sha256(moved, there.root) == sha and training_sha256(moved) != training_sha256(recipe)
    assert there.find("gan", 0, sha, moved_evaluators)["metrics"] == {"fid": 1.0}
    elsewhere = {**moved, "data": {"type": "npz", "path": str(tmp_path / "other" / "mnist.npz")}}
    assert training_sha256(elsewhere, there.root) != sha, "other data is another run"


APPENDER = """
import sys
from ganforge.bench.store import ResultsStore
store = ResultsStore(sys.argv[1])
for i in range(40):
    store.append({"run": sys.argv[2], "seed": i, "training_sha256": "x" * 64, "metrics": {"v": i}, "pad": "p" * 5000})
"""


def test_the_store_takes_concurrent_writers_and_survives_a_torn_line(tmp_path):
    from ganforge.bench.store import ResultsStore

    path = tmp_path / "store.jsonl"
    path.write_text('{"run": "torn", "seed": 0, "training_sha')  # a writer killed mid-line
    writers = [subprocess.Popen([sys.executable, "-c", APPENDER, str(path), name]) for name in ("a", "b", "c")]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    rows = ResultsStore(path).rows()
    assert len(rows) == 120
    assert sorted((r["run"], r["seed"]) for r in rows) == [(n, i) for n in "abc" for i in range(40)]


def test_report_only_and_rescore_are_refused_together(capsys):
    """--rescore reports too, so the two flags together are a usage error, before any suite is read."""
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "no-such-suite.yaml", "--report-only", "--rescore"])
    assert exit_info.value.code == 2
    assert "not allowed with argument --report-only" in capsys.readouterr().err
