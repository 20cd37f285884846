"""The report's document: cell formatting and the three renderers, dispatched by block kind."""

import numpy as np
import pytest

from digitlab.reports import document
from digitlab.reports.document import (
    Block,
    Report,
    format_value,
    render_html,
    render_markdown,
    render_qt_html,
)
from digitlab.reports.tables import Stat


def _png(width: int, height: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QImage

    from digitlab.reports.figures import ensure_app
    ensure_app()
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(0x336699)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, "PNG")
    return bytes(data)


def _report(blocks, figures=None) -> Report:
    return Report(title="A <title>", blocks=blocks, tables={}, figures=figures or {})


ROWS = [{"Name": "a|b", "Score": Stat(1.23456, 0.5, 2), "Count": 3, "Ok": True, "Gap": float("nan")},
        {"Name": "c", "Score": Stat(2.0, 0.0, 1), "Count": np.int64(12), "Ok": False, "Gap": None}]


@pytest.mark.parametrize("value, digits, text", [
    (None, 4, "–"), (float("nan"), 4, "–"), (np.float32(np.inf), 2, "–"),
    (Stat(1.23456, 0.5, 2), 2, "1.23 ± 0.50"), (Stat(1.23456, 0.0, 1), 3, "1.235"),
    (True, 4, "yes"), (np.bool_(False), 4, "no"), (np.int64(7), 4, "7"), (0.5, 1, "0.5"),
    (np.float64(2.0 / 3), 4, "0.6667"), ("text", 4, "text"),
])
def test_format_value(value, digits, text):
    assert format_value(value, digits) == text


def test_a_stat_is_formatted_by_stat_format():
    stat = Stat(12.3456789, 1.5, 3)
    assert format_value(stat, 3) == stat.format(3) == "12.346 ± 1.500"


def test_every_renderer_knows_every_block_kind():
    for table in (document._HTML, document._MARKDOWN, document._QT_HTML):
        assert set(table) == set(document.BLOCK_KINDS)


@pytest.mark.parametrize("render", [render_html, render_markdown, lambda r: render_qt_html(r, 480)])
def test_an_unknown_block_kind_is_an_error_that_names_it(render):
    with pytest.raises(ValueError, match="unknown kind 'quote'.*h1, h2, h3, p, list, table, figure"):
        render(_report([Block("h1", "Title"), Block("quote", "words")]))


def test_markdown():
    report = _report([Block("h1", "Title"), Block("h2", "Part"), Block("h3", "Sub"), Block("p", "Words."),
                      Block("list", items=["one", "two"]),
                      Block("table", key="t", rows=ROWS, digits={"Score": 2}),
                      Block("table", key="empty", rows=[]),
                      Block("figure", key="drawn"), Block("figure", key="not_drawn")],
                     figures={"drawn": (b"png", "A caption")})
    assert render_markdown(report, figure_dir="figs") == (
        "# Title\n\n## Part\n\n### Sub\n\nWords.\n\n- one\n- two\n\n"
        "| Name | Score | Count | Ok | Gap |\n|:---|---:|---:|---:|---:|\n"
        "| a\\|b | 1.23 ± 0.50 | 3 | yes | – |\n| c | 2.00 | 12 | no | – |\n\n"
        "![A caption](figs/drawn.png)\n\n*A caption*\n")


def test_html():
    png = _png(40, 20)
    report = _report([Block("h1", "Title & more"), Block("p", "a < b"), Block("list", items=["x"]),
                      Block("table", key="t", rows=ROWS, digits={"Score": 1}),
                      Block("table", key="empty", rows=[]),
                      Block("figure", key="drawn"), Block("figure", key="not_drawn")],
                     figures={"drawn": (png, "Its caption")})
    text = render_html(report)
    assert text.startswith('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
                           "<title>A &lt;title&gt;</title>\n<style>")
    assert "<h1>Title &amp; more</h1>\n<p>a &lt; b</p>\n<ul><li>x</li></ul>\n" in text
    assert ('<table id="t">\n<thead><tr><th>Name</th><th>Score</th><th>Count</th><th>Ok</th><th>Gap</th>'
            '</tr></thead>\n<tbody>\n<tr><td class="text">a|b</td><td class="num">1.2 ± 0.5</td>'
            '<td class="num">3</td><td class="text">yes</td><td class="num">–</td></tr>\n') in text
    assert "<p>(no data)</p>" in text
    assert text.count("<figure") == 1 and 'id="fig-drawn"' in text and "not_drawn" not in text
    assert text.endswith("</body></html>\n")


def test_qt_html_for_the_pdf():
    png = _png(40, 20)
    wide_row = {f"Column {k}": Stat(float(k), 0.25, 2) for k in range(7)}
    report = _report([Block("h2", "Part"), Block("table", key="narrow", rows=ROWS[:1], digits={"Score": 2}),
                      Block("table", key="wide", rows=[wide_row]), Block("table", key="empty", rows=[]),
                      Block("figure", key="drawn"), Block("figure", key="not_drawn")],
                     figures={"drawn": (png, "Its caption")})
    text = render_qt_html(report, page_width_px=480)
    assert text.startswith('<html><body><h2 style="color:#0b3d66;">Part</h2>'
                           '<table border="1" cellspacing="0" cellpadding="3" width="100%"')
    assert '<td align="right">1.23&nbsp;±&nbsp;0.50</td>' in text            # narrow: one line
    assert 'cellpadding="2"' in text and "font-size:7pt;" in text and "Column<br>6" in text
    assert "±&nbsp;0.25" in text and "<br>±&nbsp;" in text                  # wide: spread on its own line
    assert text.count("<table") == 2                                        # the empty one is left out
    assert '<img src="fig://drawn.png" width="480" height="240">' in text     # 40x20 scaled to 480 wide
    assert "not_drawn" not in text and text.endswith("</body></html>")
