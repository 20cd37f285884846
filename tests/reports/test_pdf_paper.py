"""The PDF: its paper size (A4 or Letter), figures embedded losslessly compressed, and its size."""

import re
import zlib

import numpy as np
import pytest

from digitlab.cli import main
from digitlab.reports import figures as F
from digitlab.reports.document import Block, Report, render_pdf
from digitlab.reports.report import write_report

# PDF page sizes in points (1/72 inch)
A4 = (595, 842)
LETTER = (612, 792)


def media_boxes(pdf: bytes) -> list[tuple[int, int]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(round(float(w)), round(float(h))) for w, h in boxes]


def images(pdf: bytes) -> list[dict]:
    """Every image XObject: its width, height, filter and the length of its data."""
    found = []
    for m in re.finditer(rb"<<([^<>]*/Subtype\s*/Image[^<>]*)>>\s*stream\r?\n", pdf):
        head = m.group(1)
        width = int(re.search(rb"/Width\s+(\d+)", head).group(1))
        height = int(re.search(rb"/Height\s+(\d+)", head).group(1))
        filt = re.search(rb"/Filter\s*/(\w+)", head)
        end = pdf.index(b"endstream", m.end())
        found.append({"width": width, "height": height, "filter": filt.group(1).decode() if filt else "",
                      "data": pdf[m.end():end]})
    return found


@pytest.fixture(scope="module")
def confusion_report():
    """A small report with one real figure: two confusion matrices, as the report draws them."""
    rng = np.random.default_rng(0)
    cms = []
    for _ in range(2):
        cm = rng.integers(0, 30, size=(10, 10))
        cm[np.diag_indices(10)] = rng.integers(850, 1100, size=10)
        cms.append(cm)
    fig = F.confusion_figure([("A", cms[0]), ("B", cms[1])])
    png = fig.png()
    fig.close()
    blocks = [Block("h1", text="Paper sizes"), Block("p", text="One figure follows."),
              Block("figure", key="confusion")]
    return Report(title="Paper sizes", blocks=blocks, tables={}, figures={"confusion": (png, "Two matrices")})


@pytest.mark.parametrize("paper, size", [("a4", A4), ("letter", LETTER), ("Letter", LETTER)])
def test_the_pdf_has_the_chosen_paper_size(confusion_report, tmp_path, paper, size):
    path = tmp_path / "r.pdf"
    render_pdf(confusion_report, path, paper)
    boxes = media_boxes(path.read_bytes())
    assert boxes and set(boxes) == {size}


def test_an_unknown_paper_size_is_refused_in_words(confusion_report, tmp_path):
    with pytest.raises(ValueError, match="a4, letter"):
        render_pdf(confusion_report, tmp_path / "r.pdf", "legal")
    with pytest.raises(ValueError, match="paper size 'a5'"):
        write_report(confusion_report, tmp_path / "rep", formats="pdf", paper="a5")
    assert not (tmp_path / "rep").exists()


def test_a_figure_is_embedded_whole_and_flate_compressed(confusion_report, tmp_path):
    """Lossless: the figure at its full resolution, Flate (not a JPEG, which blurs thin lines), and
    the PDF little larger than the figure's PNG."""
    path = tmp_path / "r.pdf"
    render_pdf(confusion_report, path)
    pdf = path.read_bytes()
    png = confusion_report.figures["confusion"][0]
    from PySide6.QtGui import QImage
    source = QImage.fromData(png)
    embedded = [im for im in images(pdf) if (im["width"], im["height"]) == (source.width(), source.height())]
    assert len(embedded) == 1, [(im["width"], im["height"], im["filter"]) for im in images(pdf)]
    figure = embedded[0]
    assert figure["filter"] == "FlateDecode"
    pixels = zlib.decompress(figure["data"])
    assert len(pixels) == source.width() * source.height() * 3          # RGB, every pixel
    # the pixels are the figure's: spot-check a row through the heatmaps
    rgb = np.frombuffer(pixels, np.uint8).reshape(source.height(), source.width(), 3)
    y = source.height() // 2
    expected = np.array([[source.pixelColor(x, y).getRgb()[:3] for x in range(0, source.width(), 7)]])
    assert np.array_equal(rgb[y, ::7][None], expected)
    assert len(pdf) < 1.6 * len(png) + 40_000, (len(pdf), len(png))


def test_the_cli_passes_the_paper_on_and_refuses_others(tmp_path, capsys, monkeypatch):
    import digitlab.reports.report as report_module
    seen = []

    def write(*args, **kwargs):
        seen.append(kwargs.get("paper"))
        return tmp_path / "rep"
    monkeypatch.setattr(report_module, "write_report", write)
    monkeypatch.setattr(report_module, "load_experiment_folder", lambda folder: ["run"])
    (tmp_path / "exp").mkdir()
    assert main(["report", "--from", str(tmp_path / "exp"), "--out", str(tmp_path / "rep"),
                 "--paper", "LETTER"]) == 0
    assert main(["report", "--from", str(tmp_path / "exp"), "--out", str(tmp_path / "rep2")]) == 0
    assert seen == ["letter", "a4"]
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--from", str(tmp_path / "exp"), "--paper", "a5"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'a5'" in capsys.readouterr().err
