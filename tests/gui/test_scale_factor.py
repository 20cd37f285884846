"""At QT_SCALE_FACTOR=1.5 (a 1920x1080 screen gives 1280x720 logical pixels) the Models table
shows every model's full name, and Evaluate's per-class table shows all its columns when two
models are compared.

Before: the name column shrank to "repo..." so report-no-l2, report-l2, report-bn and report-l2-bn
could not be told apart, and the per-class table was cut off after "B pr...". The scale factor is
read once, when the QApplication is made, so the window is measured in a child process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROBE = textwrap.dedent(r"""
    import json, sys, time
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication
    from digitlab.process import install_refcount_guard
    install_refcount_guard()   # an entry point of its own: no GUI module installs it on import
    app = QApplication(sys.argv[:1])
    from digitlab.gui.main_window import MainWindow

    def spin(ms):
        loop = QEventLoop(); QTimer.singleShot(ms, loop.quit); loop.exec()

    window = MainWindow()
    window.confirm_close = lambda: True
    window.show()
    out = {"dpr": window.devicePixelRatioF(), "sizes": {}}
    for width, height in ((1280, 720), (1024, 700)):
        window.resize(width, height)
        window.show_view("models")
        spin(200)
        table = window.models_view.table
        header = table.horizontalHeader()
        model = table.model()
        names = [model.index(r, 0).data() for r in range(model.rowCount())]
        out["sizes"][f"{width}x{height}"] = {
            "window": [window.width(), window.height()],
            "names": names,
            "name_column": header.sectionSize(0),
            "name_needs": table.sizeHintForColumn(0),
            "name_right_edge": header.sectionViewportPosition(0) + header.sectionSize(0),
            "viewport": table.viewport().width(),
        }
    # compare mode in Evaluate at 1280x720
    window.resize(1280, 720)
    lib = window.library
    window.pair.set_pair(lib.get("report-no-l2"), lib.get("report-l2"))
    window.show_view("evaluate")
    ev = window.evaluate_view
    ev.tabs.setCurrentIndex(0)
    end = time.time() + 90
    while ev.comparison is None and time.time() < end:
        spin(100)
    spin(300)
    t = ev.class_table
    h = t.horizontalHeader()
    out["class_table"] = {
        "compared": ev.comparison is not None,
        "columns": t.columnCount(),
        "headers": [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())],
        "sections": [h.sectionSize(c) for c in range(t.columnCount())],
        "header_needs": [h.sectionSizeHint(c) for c in range(t.columnCount())],
        "cells_need": [t.sizeHintForColumn(c) for c in range(t.columnCount())],
        "viewport": t.viewport().width(),
        "scroll_max": t.horizontalScrollBar().maximum(),
        "visible": t.isVisible(),
    }
    print("PROBE" + json.dumps(out))
    window.close()
    window.shutdown(30000)
""")


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scaled")
    (tmp / "home").mkdir()
    env = dict(os.environ, QT_SCALE_FACTOR="1.5", QT_QPA_PLATFORM="offscreen",
               DIGITLAB_HOME=str(tmp / "home"), DIGITLAB_SETTINGS=str(tmp / "settings.ini"),
               OPENBLAS_NUM_THREADS="1")
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=240)
    line = next((candidate for candidate in done.stdout.splitlines() if candidate.startswith("PROBE")), None)
    assert done.returncode == 0 and line, done.stderr[-3000:]
    return json.loads(line[len("PROBE"):])


@pytest.mark.slow
def test_the_scale_factor_is_in_effect(scaled):
    assert scaled["dpr"] == pytest.approx(1.5)


@pytest.mark.parametrize("size", ["1280x720", "1024x700"])
def test_every_model_name_is_shown_in_full(scaled, size):
    m = scaled["sizes"][size]
    assert {"report-no-l2", "report-l2", "report-bn", "report-l2-bn"} <= set(m["names"])
    assert m["name_column"] >= m["name_needs"], m          # no "repo..."
    assert m["name_right_edge"] <= m["viewport"], m        # and not scrolled out of sight


def test_the_per_class_table_shows_all_columns_when_comparing(scaled):
    t = scaled["class_table"]
    assert t["compared"] and t["columns"] == 6 and t["visible"], t
    for section, header, cells in zip(t["sections"], t["header_needs"], t["cells_need"]):
        assert section >= min(header, max(cells, 1)) - 1, t      # no column cut to "B pr..."
    assert t["scroll_max"] == 0 and sum(t["sections"]) <= t["viewport"], t
