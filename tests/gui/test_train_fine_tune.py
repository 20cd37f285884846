"""The Train form's fine-tuning rows: start from a library model, train on a person's digits too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from digitlab.data import load_dataset
from digitlab.data.personal import default_personal_set_path
from digitlab.gui.settings_form import FRESH_START
from digitlab.io import load_model
from digitlab.paths import bundled_models_dir

RUN_TIMEOUT = 60_000


def _thick_digits(n: int = 30):
    raw = load_dataset()
    idx = np.random.default_rng(1).choice(len(raw.test_labels), n, replace=False)
    images = raw.test_images[idx]
    for _ in range(2):
        p = np.pad(images, ((0, 0), (1, 1), (1, 1)))
        images = np.max([p[:, i:i + 28, j:j + 28] for i in range(3) for j in range(3)], axis=0)
    return images, raw.test_labels[idx].astype(np.int64)


@pytest.fixture
def view(qtbot, isolated_home):
    from digitlab.gui.train_view import TrainView
    from digitlab.library import ModelLibrary

    library = ModelLibrary(bundled_dir=bundled_models_dir())
    view = TrainView(library)
    qtbot.addWidget(view)
    view.resize(1200, 900)
    view.show()
    yield view
    assert view.shutdown(30000), "the training thread did not stop"


def _choose(combo, text: str) -> None:
    index = combo.findText(text, Qt.MatchFlag.MatchStartsWith)
    assert index >= 0, [combo.itemText(i) for i in range(combo.count())]
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_a_run_from_a_library_model_on_my_digits_shows_the_accuracy_before_and_after(qtbot, view, fill_form):
    x, y = _thick_digits()
    personal = default_personal_set_path()
    personal.parent.mkdir(parents=True, exist_ok=True)
    np.savez(personal, x=x, y=y)
    form = view.form
    start = bundled_models_dir() / "report-no-l2.h5"

    _choose(form.start_from, "report-no-l2")
    assert view.headline.text() == "Ready to fine-tune report-no-l2: its settings are filled in."
    # the model's architecture, shown and locked; its settings with the fine-tuning defaults
    assert form.field("layer_sizes").text() == "784-20-7-5-10" and not form.field("layer_sizes").isEnabled()
    assert not form.batch_norm.isEnabled() and not form.batch_norm.isChecked()
    assert form.field("learning_rate").text() == "0.009" and form.field("max_epochs").text() == "5"
    assert form.schedule.currentData() == "constant" and form.field("patience").text() == "1000000"
    assert not form.extra_share.isEnabled()
    _choose(form.extra_data, "My digits")
    assert form.extra_share.isEnabled()
    form.extra_share.setValue(20)
    fill_form(form, {"train_subset": "8000"})
    assert form.is_valid(), form.problems()

    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        assert view.start()
    result = view.last_result
    assert result is not None and result.stop_reason == "max_epochs", view.message_label.text()
    before, after = result.extra_accuracy["before"], result.extra_accuracy["after"]
    assert after > before + 0.2, (before, after)
    text = view.message_label.text()
    assert f"Accuracy on my-digits.npz: {before * 100:.2f} % before, {after * 100:.2f} % after." in text
    assert text.startswith("Run 1 from report-no-l2")
    assert result.origin["init_from"] == "report-no-l2" and result.origin["extra_data"] == str(personal)
    assert result.origin["extra_share"] == pytest.approx(0.2, abs=1e-3)
    # the saved model records where it started and what it learnt besides MNIST
    with qtbot.waitSignal(view.model_saved, timeout=5000) as saved:
        qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    model = load_model(saved.args[0])
    assert model.name.endswith("from report-no-l2")
    import hashlib
    assert model.origin["init_from_checksum"] == hashlib.sha256(start.read_bytes()).hexdigest()

    # back to a fresh initialisation: the architecture is the person's again
    _choose(form.start_from, FRESH_START)
    assert view.headline.text() == "Ready to train from a fresh initialisation."
    assert form.field("layer_sizes").isEnabled() and form.batch_norm.isEnabled()
    assert form.fine_tuning().start_path is None


def test_another_file_of_digits_can_be_chosen_and_a_bad_one_is_reported(qtbot, view, tmp_path, fill_form):
    form = view.form
    bad = tmp_path / "notes.npz"
    bad.write_text("not an archive")
    form.ask_extra_file = lambda: str(bad)
    _choose(form.extra_data, "File")
    assert form.extra_data.currentText() == "File: notes.npz"
    assert form.fine_tuning().extra_path == Path(bad) and form.fine_tuning().start_path is None
    fill_form(form, {"train_subset": "2000", "max_epochs": "1"})
    with qtbot.waitSignal(view.controller.finished, timeout=RUN_TIMEOUT):
        assert view.start()
    text = view.message_label.text()
    assert text.startswith("Training failed:") and "notes.npz: not a readable .npz file" in text
    # cancelling the chooser keeps the file chosen before
    form.ask_extra_file = lambda: ""
    _choose(form.extra_data, "File")
    assert form.fine_tuning().extra_path == Path(bad)
    _choose(form.extra_data, "None")
    assert form.fine_tuning().extra_path is None and not form.extra_share.isEnabled()


def test_presets_keep_the_starting_models_architecture(qtbot, view):
    form = view.form
    _choose(form.start_from, "report-bn")
    form.apply_preset("report")                 # the report's preset has no batch norm
    assert form.batch_norm.isChecked() and not form.batch_norm.isEnabled()
    assert form.config().batch_norm
