"""The Train form's activation and dropout, used the way a person does: chosen in the combo box,
typed key by key (checked as typed, in the form's words), kept through QSettings, and locked to
the starting model's activation when fine-tuning."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QSettings, Qt

from digitlab.gui.settings_form import SettingsForm
from digitlab.training import PRESETS, TrainConfig

RED = "d03030"


@pytest.fixture
def form(qtbot):
    form = SettingsForm()
    qtbot.addWidget(form)
    form.show()
    return form


def _type(qtbot, form, text: str) -> str:
    """Clear the dropout field and type ``text`` key by key; the validity after each key, T/F."""
    edit = form.field("dropout")
    edit.clear()
    seen = ""
    for ch in text:
        qtbot.keyClicks(edit, ch)
        seen += "T" if form.is_valid() else "F"
    return seen


def _pick(qtbot, combo, text: str) -> None:
    """Open the combo box with the keyboard and choose the entry, as a person does."""
    combo.setFocus()
    start = combo.currentIndex()
    target = combo.findText(text)
    assert target >= 0, [combo.itemText(i) for i in range(combo.count())]
    key = Qt.Key.Key_Down if target > start else Qt.Key.Key_Up
    for _ in range(abs(target - start)):
        qtbot.keyClick(combo, key)
    assert combo.currentText() == text


def test_the_report_preset_is_relu_without_dropout(form):
    assert form.activation.currentData() == "relu" and form.activation.currentText() == "ReLU"
    assert form.field("dropout").text() == "" and form.field("dropout").placeholderText() == "none"
    assert [form.activation.itemData(i) for i in range(form.activation.count())] == [
        "relu", "leaky_relu", "tanh", "sigmoid"]
    config = form.config()
    assert config.activation == "relu" and config.dropout == ()


def test_chosen_activation_and_typed_rates_make_the_config(qtbot, form):
    _pick(qtbot, form.activation, "Leaky ReLU (slope 0.01)")
    # "0.2,0" on the way is two rates for three hidden layers: refused until the third is typed
    assert _type(qtbot, form, "0.2,0.1,0") == "TTTTFFFFT"
    config = form.config()
    assert config.activation == "leaky_relu" and config.dropout == (0.2, 0.1, 0.0)
    assert config == PRESETS["report"].replace(activation="leaky_relu", dropout=(0.2, 0.1, 0.0))
    _pick(qtbot, form.activation, "Tanh")
    assert _type(qtbot, form, "0.3") == "TTT"
    assert form.config().activation == "tanh" and form.config().dropout == (0.3,)


@pytest.mark.parametrize("text, validity, reason, red", [
    ("1.5", "FFF", "a dropout rate must be in [0, 1) (the share of units dropped; 1 would drop them all), "
                   "got 1.5", True),
    ("0.2,x", "TTTTF", "dropout rate must be a number, got 'x'", True),
    # a well-formed list, but two rates for three hidden layers: the whole check's, under the form
    ("0.2,0.2", "TTTTFFF", "dropout gives 2 rates but the network has 3 hidden layers", False),
])
def test_bad_rates_are_refused_as_typed(qtbot, form, text, validity, reason, red):
    assert _type(qtbot, form, text) == validity
    edit = form.field("dropout")
    assert form.problem.isVisible() and reason in form.problem.text()
    assert (RED in edit.styleSheet()) is red
    with pytest.raises(ValueError):
        form.config()
    # two rates fit a network with two hidden layers
    if not red:
        form.field("layer_sizes").setText("784-32-16-10")
        assert form.is_valid() and form.config().dropout == (0.2, 0.2)


def test_activation_and_dropout_survive_a_restart_through_qsettings(qtbot, form, tmp_path):
    _pick(qtbot, form.activation, "Sigmoid")
    _type(qtbot, form, "0.25")
    path = str(tmp_path / "form.ini")
    settings = QSettings(path, QSettings.Format.IniFormat)
    settings.setValue("train/settings", json.dumps(form.values()))
    settings.sync()
    again = SettingsForm()
    qtbot.addWidget(again)
    again.set_values(json.loads(QSettings(path, QSettings.Format.IniFormat).value("train/settings")))
    assert again.activation.currentData() == "sigmoid" and again.field("dropout").text() == "0.25"
    assert again.config() == form.config()


def test_a_fine_tuned_network_keeps_its_models_activation(qtbot, form):
    tanh = TrainConfig(activation="tanh", dropout=(0.1,), name="tanh-model")
    form.set_start_models([("tanh-model", "/models/tanh.h5", tanh)])
    form.choose_start("/models/tanh.h5")
    assert form.activation.currentData() == "tanh" and not form.activation.isEnabled()
    assert "Set by the model it starts from" in form.activation.toolTip()
    assert form.config().activation == "tanh"
    form.choose_start(None)
    assert form.activation.isEnabled()
