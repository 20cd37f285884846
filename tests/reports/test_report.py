"""Reports: numbers read back from the HTML, the CSV/JSON tables, the PDF and the Markdown."""

import csv
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from digitlab.io import load_model, save_model
from digitlab.reports import tables
from digitlab.reports.report import build_report, load_experiment_folder, runs_from_models, write_report
from digitlab.reports.sweep import SweepSetting, run_sweep


class Tables(HTMLParser):
    """Every <table id=...> as a list of rows of cell texts, and every <img src>."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self._table, self._row, self._cell = {}, [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "img":
            self.images.append(attrs["src"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None


def mean_sd(text):
    m = re.fullmatch(r"(-?[\d.]+)(?: ± ([\d.]+))?", text)
    assert m, text
    return float(m.group(1)), float(m.group(2) or 0)


@pytest.fixture(scope="module")
def report_dir(quick_runs, quick_splits, tmp_path_factory):
    config = quick_runs[0].result.config.replace(max_epochs=1)
    sweep = run_sweep(config, [0.0, 5.0], workers=1, splits=quick_splits)
    out = tmp_path_factory.mktemp("reports") / "quick"
    messages = []
    path = write_report(quick_runs, out, sweep=sweep, sweep_setting=SweepSetting(config, (0.0, 5.0), (3,)),
                        on_progress=messages.append)
    assert path == out and messages[-1] == f"wrote {out}"
    return out


def test_folder_layout(report_dir):
    names = {p.relative_to(report_dir).as_posix() for p in report_dir.rglob("*")}
    for name in ("report.html", "report.pdf", "report.md", "report.json", "figures/confusion.png",
                 "figures/calibration.png", "figures/sweep.png", "tables/summary.csv", "tables/summary.json",
                 "tables/weights.csv", "tables/claims.json", "tables/confusion.csv", "tables/sweep.csv"):
        assert name in names
    # nothing temporary left beside it
    assert [p.name for p in report_dir.parent.iterdir()] == ["quick"]


def test_html_tables_hold_the_runs_numbers(report_dir, quick_runs):
    parser = Tables()
    parser.feed((report_dir / "report.html").read_text(encoding="utf-8"))
    t = parser.tables

    header, *rows = t["summary"]
    assert header == tables.SUMMARY_COLUMNS
    assert len(rows) == 4
    for i, row in enumerate(rows):
        group = [r for r in quick_runs if r.index == i]
        assert row[0] == group[0].label
        acc = [100 * r.result.metrics["test_accuracy"] for r in group]
        mean, sd = mean_sd(row[header.index("Test Accuracy (%)")])
        assert mean == pytest.approx(np.mean(acc), abs=0.006)
        assert sd == pytest.approx(np.std(acc, ddof=1), abs=0.006)
        cost = [r.result.metrics["train_cost"] for r in group]
        assert mean_sd(row[header.index("Training Cost")])[0] == pytest.approx(np.mean(cost), abs=6e-5)
        steps = [r.result.steps for r in group]
        assert mean_sd(row[header.index("Iterations")])[0] == pytest.approx(np.mean(steps))

    header, *rows = t["weights"]
    assert header == ["Layer", quick_runs[0].label, quick_runs[2].label]
    for layer, row in enumerate(rows):
        no_l2 = np.mean([r.result.network.mean_abs_weights()[layer] for r in quick_runs if r.index == 0])
        assert mean_sd(row[1])[0] == pytest.approx(no_l2, abs=6e-6)

    claims = {row[0]: row[1] for row in t["claims"][1:]}
    expected = {c.statement: c.verdict for c in tables.check_claims(quick_runs)}
    assert claims == expected

    # the test-set table: accuracy recomputed here from the networks (seed 3 and 4)
    header, *rows = t["test"]
    from digitlab.training import splits_for
    data = splits_for(quick_runs[0].result.config.replace(train_subset=None))
    for i, row in enumerate(rows):
        acc = [100 * np.mean(r.result.network.predict(data.x_test) == data.y_test)
               for r in quick_runs if r.index == i]
        assert mean_sd(row[header.index("Test accuracy (%)")])[0] == pytest.approx(np.mean(acc), abs=0.006)
        assert row[header.index("Test images")] == "10000"
    assert len(t["per_class"]) == 11 and len(t["sweep"]) == 3

    # every figure embedded, none linked
    assert len(parser.images) >= 7 and all(src.startswith("data:image/png;base64,") for src in parser.images)


def test_csv_and_json_keep_full_precision(report_dir, quick_runs):
    summary = json.loads((report_dir / "tables" / "summary.json").read_text())
    acc = [r.result.metrics["test_accuracy"] * 100 for r in quick_runs if r.index == 1]
    assert summary[1]["Test Accuracy (%)"]["mean"] == pytest.approx(np.mean(acc), rel=1e-12)
    assert summary[1]["Test Accuracy (%)"]["n"] == 2
    with open(report_dir / "tables" / "confusion.csv", newline="") as f:
        confusion = list(csv.reader(f))
    assert confusion[0][:4] == ["Model", "Seed", "True digit", "Predicted 0"]
    assert confusion[1][0] == quick_runs[0].label and confusion[1][1] == "3"
    counts = np.array([[int(v) for v in row[3:]] for row in confusion[1:11]])
    assert counts.sum() == 10000


def test_pdf_pages_and_text(report_dir):
    pdf = (report_dir / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert 3 <= pages <= 12
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: page count checked, text not")
    text = subprocess.run(["pdftotext", "-layout", str(report_dir / "report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert text.count("\f") in (pages, pages - 1)
    for phrase in ("The report's four experiments", "Setting", "The report's claims", "Summary",
                   "Experiment 4: With L2 and Batch Norm", "Lambda sweep",
                   "Per-class accuracy (recall) and precision"):
        assert phrase in text
    summary = json.loads((report_dir / "tables" / "summary.json").read_text())
    assert f"{summary[0]['Test Accuracy (%)']['mean']:.2f}" in text


def test_markdown_links_existing_figures(report_dir):
    md = (report_dir / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", md)
    assert len(links) >= 7 and all((report_dir / link).is_file() for link in links)
    assert "| Experiment | Training Cost |" in md


def test_an_existing_folder_is_never_overwritten(report_dir, quick_runs, tmp_path):
    before = (report_dir / "report.html").read_bytes()
    with pytest.raises(FileExistsError):
        write_report(quick_runs, report_dir, formats=("md",))
    assert (report_dir / "report.html").read_bytes() == before
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileExistsError):
        write_report(quick_runs, empty, formats=("md",))
    assert list(empty.iterdir()) == []
    with pytest.raises(ValueError, match="format"):
        write_report(quick_runs, tmp_path / "new", formats=("docx",))
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_overwrite_when_asked_and_failures_leave_nothing(quick_runs, tmp_path, monkeypatch):
    out = tmp_path / "r"
    write_report(quick_runs[:4], out, formats=("html",))
    (out / "mine.txt").write_text("old")
    write_report(quick_runs[:4], out, formats=("md",), overwrite=True)
    assert (out / "report.md").is_file() and not (out / "mine.txt").exists()
    import digitlab.reports.report as report_module

    def broken(report, path, paper="a4"):
        raise OSError("disk full")
    monkeypatch.setattr(report_module, "render_pdf", broken)
    with pytest.raises(OSError, match="disk full"):
        write_report(quick_runs[:4], tmp_path / "r2", formats=("md", "pdf"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


@pytest.mark.slow
def test_weights_table_against_the_model_files(quick_runs, tmp_path):
    folder = tmp_path / "experiments"
    folder.mkdir()
    for run in quick_runs:
        stem = f"{run.result.config.name}-seed{run.seed}"
        save_model(folder / f"{stem}.h5", run.result, name=stem)
    runs = load_experiment_folder(folder)
    assert [(r.index, r.seed) for r in runs] == [(r.index, r.seed) for r in quick_runs]
    report = build_report(runs)
    rows = report.tables["weights"]
    for layer, row in enumerate(rows):
        for index, column in ((0, quick_runs[0].label), (2, quick_runs[2].label)):
            name = quick_runs[index].result.config.name
            from_files = [np.mean(np.abs(load_model(folder / f"{name}-seed{s}.h5").network.weights[layer]))
                          for s in (3, 4)]
            assert row[column].mean == pytest.approx(np.mean(from_files), rel=1e-6)
            assert row[column].n == 2
    assert [c.verdict for c in report.claims] == [c.verdict for c in tables.check_claims(quick_runs)]


def test_report_of_chosen_models(quick_runs, tmp_path):
    a = tmp_path / "mine.h5"
    save_model(a, quick_runs[0].result, name="mine")
    # trained with the experiments' settings, so they count as experiments 1 and 4 ...
    runs = runs_from_models([a, quick_runs[3].result])
    assert [(r.index, r.label) for r in runs] == [(0, quick_runs[0].label), (3, quick_runs[3].label)]
    # ... unless asked otherwise: then each is its own row, named after the model
    runs = runs_from_models([a, quick_runs[3].result], as_experiments=False)
    assert [r.label for r in runs] == ["mine", "report-l2-bn"]
    report = build_report(runs)
    assert report.claims == [] and "claims" not in report.tables and report.title == "Model report"
    ev = report.evaluations["mine"]
    assert ev.cm.sum() == 10000
    assert ev.accuracy == pytest.approx(quick_runs[0].result.metrics["test_accuracy"], abs=1e-9)
    rows = report.tables["weights"]
    assert rows[0]["mine"].mean == pytest.approx(quick_runs[0].result.network.mean_abs_weights()[0])
    assert [row["Model"] for row in report.tables["test"]] == ["mine", "report-l2-bn"]


def test_the_sweep_states_its_setting(report_dir):
    """A sweep on 2,000 images must not pass for one on the full training set."""
    text = (report_dir / "report.md").read_text(encoding="utf-8")
    line = next(candidate for candidate in text.splitlines() if "L2 strengths" in candidate)
    assert "on 2,000 training images" in line and "lambda = 0, 5" in line and "seed 3" in line


def test_the_setting_names_what_differs_between_the_networks():
    """Two models trained differently: the setting gives each variant, not the first as if it were all."""
    from types import SimpleNamespace

    from digitlab.reports.report import _describe_setting
    from digitlab.training import PRESETS

    runs = [SimpleNamespace(seed=3, result=SimpleNamespace(config=PRESETS["report"])),
            SimpleNamespace(seed=3, result=SimpleNamespace(config=PRESETS["best"]))]
    text = "\n".join(_describe_setting(runs))
    assert "Network 784-20-7-5-10 (ReLU hidden layers, softmax output), he initialisation." in text
    assert ("Differs between the networks: SGD with learning rate 0.009, mini-batches of 256 / "
            "adam with learning rate 0.003, cosine schedule, mini-batches of 64.") in text
    assert "at most 100 epochs" in text and "at most 60 epochs" in text
    one = "\n".join(_describe_setting(runs[:1]))
    assert "Differs" not in one and "SGD with learning rate 0.009, mini-batches of 256." in one


def test_pdf_of_the_example_shape_stays_small_with_its_figures_lossless(report_dir):
    """The example report's shape (four experiments, a sweep, seven figures): under 800 KB, and
    every figure embedded Flate-compressed rather than as a JPEG (docs/example-report's PDF was
    2.8 MB of quality-94 JPEGs)."""
    pdf = (report_dir / "report.pdf").read_bytes()
    filters = re.findall(rb"/Subtype\s*/Image[^>]*?/Filter\s*/(\w+)", pdf)
    assert len(filters) >= 7
    assert set(filters) == {b"FlateDecode"}
    assert len(pdf) < 800_000, len(pdf)
