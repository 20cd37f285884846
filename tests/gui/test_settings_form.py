"""The Train view's settings form on its own, used the way a person does: every field checked as
it is typed (keystroke by keystroke), the presets filling every field, and the ``TrainConfig`` it
builds from what was typed, also after a round trip through QSettings."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QSettings, Qt

from digitlab.gui.settings_form import PRESET_LABELS, SettingsForm
from digitlab.training import PRESETS, TrainConfig

RED = "d03030"          # the border colour of a field whose text is refused


@pytest.fixture
def form(qtbot):
    form = SettingsForm()
    qtbot.addWidget(form)
    form.show()
    return form


def _same_settings(a: TrainConfig, b: TrainConfig) -> bool:
    return a.replace(name="") == b.replace(name="")


def _type_key_by_key(qtbot, form: SettingsForm, key: str, text: str) -> list[bool]:
    """Clear the field, then type ``text`` one key at a time; the form's validity after each key."""
    edit = form.field(key)
    edit.clear()
    seen = []
    for ch in text:
        qtbot.keyClicks(edit, ch)
        seen.append(form.is_valid())
    assert edit.text() == text
    return seen


def _enable(form: SettingsForm, key: str) -> None:
    """Make the choice under which a field applies (a greyed-out field takes no typing)."""
    if key == "init_std":
        form.init.setCurrentIndex(form.init.findData("normal"))
    elif key == "momentum":
        form.optimizer.setCurrentIndex(form.optimizer.findData("momentum"))
    elif key == "augment_fraction":
        form.augment.setChecked(True)
    assert form.field(key).isEnabled()


# (field, text typed key by key, the form's validity after each key, the reason shown at the end
# or None when the end is valid). "F"/"T": invalid/valid after that key; on the way to 784-10001-10,
# "784-10" is itself a valid network.
TYPING = [
    ("layer_sizes", "784-32-10", "FFFFFFFFT", None),
    ("layer_sizes", "784-32-x", "FFFFFFFF", "'x' is not a whole number of units"),
    ("layer_sizes", "784-10001-10", "FFFFFTFFFFFF", "a hidden layer has at most 10000 units, got 10001"),
    ("learning_rate", "0.05", "FFFT", None),
    ("learning_rate", "50", "TF", "learning_rate must be at most 10, got 50"),
    ("init_std", "0.5", "FFT", None),
    ("init_std", "20", "TF", "init_std must be at most 10, got 20"),
    ("seed", "2147483648", "TTTTTTTTTF", "seed must be <= 2147483647, got 2147483648"),
    ("seed", "-1", "FF", "seed must be >= 0, got -1"),
    ("momentum", "0.99999", "TTTTTTF", "momentum must be <= 0.9999, got 0.99999"),
    ("batch_size", "60001", "TTTTF", "batch size must be <= 60000, got 60001"),
    ("batch_size", "64", "TT", None),
    ("l2", "1e5", "TFF", "l2 must be at most 10000, got 100000"),
    ("l2", "-", "F", "L2 lambda must be a number, got '-'"),
    ("eval_every", "0", "F", "validation interval must be >= 1, got 0"),
    ("patience", "1.5", "TFF", "patience must be a whole number, got '1.5'"),
    ("tol", "-0.1", "FTTF", "tolerance must be >= 0, got -0.1"),
    ("tol", "0.001", "TTTTT", None),
    ("max_epochs", "100001", "TTTTTF", "max epochs must be <= 100000, got 100001"),
    ("n_validation", "59001", "TTTTF", "validation size must be <= 59000, got 59001"),
    ("train_subset", "12.5", "TTFF", "training subset must be a whole number, got '12.5'"),
    ("train_subset", "all", "FFT", None),
    ("augment_fraction", "0.25", "FFTT", None),
    ("augment_fraction", "1.5", "TTF", "augmented share must be <= 1, got 1.5"),
]


@pytest.mark.parametrize("key, text, validity, reason", TYPING,
                         ids=[f"{k}={t}" for k, t, _v, _r in TYPING])
def test_every_field_is_checked_at_every_key(qtbot, form, key, text, validity, reason):
    _enable(form, key)
    assert form.is_valid()
    flips = []
    form.validity_changed.connect(flips.append)
    seen = _type_key_by_key(qtbot, form, key, text)
    assert "".join("T" if ok else "F" for ok in seen) == validity
    # validity_changed (which drives Start) fires exactly when the validity flips, not on every
    # key; clearing the field is the first flip unless empty is allowed (the subset: all images)
    before = key == "train_subset"
    expected_flips = [] if before else [False]
    for ok in seen:
        if ok != before:
            expected_flips.append(ok)
            before = ok
    assert flips == expected_flips
    edit = form.field(key)
    if reason is None:
        assert form.is_valid() and not form.problem.isVisible() and form.problems() == []
        assert RED not in edit.styleSheet()
    else:
        assert not form.is_valid()
        assert form.problem.isVisible() and reason in form.problem.text()
        assert any(reason in p for p in form.problems())
        with pytest.raises(ValueError):
            form.config()
        if reason in edit.toolTip():               # the field's own rule: red, the reason beside it
            assert RED in edit.styleSheet()
        else:                                      # a rule of the core's: named below the form only
            assert RED not in edit.styleSheet()


def test_a_field_refuses_and_accepts_in_place(qtbot, form):
    """The same field goes red with its reason and back to plain when the text is fixed."""
    edit = form.field("learning_rate")
    _type_key_by_key(qtbot, form, "learning_rate", "abc")
    assert RED in edit.styleSheet()
    assert "learning rate must be a number, got 'abc'" in edit.toolTip()
    assert edit.toolTip().startswith("Step size of gradient descent")     # the help stays
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, "0.02")
    assert edit.text() == "0.02" and form.is_valid()
    assert edit.styleSheet() == "" and "⚠" not in edit.toolTip()
    assert form.config().learning_rate == 0.02


def test_fields_apply_only_under_their_choice(form):
    assert not form.field("init_std").isEnabled()
    assert not form.field("momentum").isEnabled()
    assert not form.field("augment_fraction").isEnabled()
    for key in ("init_std", "momentum", "augment_fraction"):
        _enable(form, key)
    form.augment.setChecked(False)
    assert not form.field("augment_fraction").isEnabled()


def test_the_two_main_presets_are_buttons_and_the_rest_are_in_the_menu(form):
    assert list(form.preset_buttons) == ["report", "best"]
    assert [b.text() for b in form.preset_buttons.values()] == ["Report", "Best"]
    menu = [a.text() for a in form.more_presets.menu().actions()]
    assert menu == ["Report + batch norm", "Report + L2", "Report + L2 + batch norm",
                    "Pad (augmented, no L2)", "Pad + L2 (augmented)"]
    # report-no-l2 is the report's setting under a second name: not offered twice
    assert _same_settings(PRESETS["report-no-l2"], PRESETS["report"])


def _choose_preset(qtbot, form: SettingsForm, key: str) -> None:
    if key in form.preset_buttons:
        qtbot.mouseClick(form.preset_buttons[key], Qt.MouseButton.LeftButton)
        return
    action = next(a for a in form.more_presets.menu().actions() if a.text() == PRESET_LABELS[key])
    action.trigger()                       # what a click on the menu entry does


@pytest.mark.parametrize("key", ["report", "best", "report-bn", "report-l2", "report-l2-bn", "pad", "pad-l2"])
def test_a_preset_fills_every_field(qtbot, form, key, fill_form):
    fill_form(form, {"learning_rate": "0.5", "batch_size": "17", "seed": "99", "train_subset": "300"})
    form.augment.setChecked(key != "pad")
    _choose_preset(qtbot, form, key)
    preset = PRESETS[key]
    texts = {k: form.field(k).text() for k in ("layer_sizes", "learning_rate", "batch_size", "l2", "seed",
                                               "eval_every", "patience", "max_epochs", "n_validation",
                                               "train_subset", "augment_fraction", "momentum", "tol")}
    assert texts == {
        "layer_sizes": "784-20-7-5-10",
        "learning_rate": f"{preset.learning_rate:g}",
        "batch_size": str(preset.batch_size),
        "l2": f"{preset.l2:g}",
        "seed": "3",
        "eval_every": str(preset.eval_every),
        "patience": str(preset.patience),
        "max_epochs": str(preset.max_epochs),
        "n_validation": "12000",
        "train_subset": "",
        "augment_fraction": "0.5",
        "momentum": "0.9",
        "tol": "0",
    }
    assert form.batch_norm.isChecked() is preset.batch_norm
    assert form.augment.isChecked() is preset.augment
    assert form.optimizer.currentData() == preset.optimizer
    assert form.schedule.currentData() == preset.schedule
    assert form.init.currentData() == "he"
    assert form.is_valid() and _same_settings(form.config(), preset)


def test_the_best_preset_in_numbers(qtbot, form):
    """Not only 'equal to the preset': the values a person reads in the form after one click."""
    _choose_preset(qtbot, form, "best")
    assert (form.field("learning_rate").text(), form.field("batch_size").text(), form.field("l2").text(),
            form.field("eval_every").text(), form.field("patience").text(),
            form.field("max_epochs").text()) == ("0.003", "64", "1", "750", "7500", "60")
    assert form.optimizer.currentText() == "Adam" and form.schedule.currentText() == "Cosine decay"
    assert form.batch_norm.isChecked() and not form.augment.isChecked()


def test_the_config_is_built_from_what_was_typed(qtbot, form, fill_form):
    form.init.setCurrentIndex(form.init.findData("normal"))
    form.optimizer.setCurrentIndex(form.optimizer.findData("momentum"))
    form.schedule.setCurrentIndex(form.schedule.findData("step"))
    qtbot.mouseClick(form.batch_norm, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(form.augment, Qt.MouseButton.LeftButton)
    form.dataset.setCurrentIndex(form.dataset.findData("fashion-mnist"))
    fill_form(form, {"layer_sizes": "784 - 64 - 32 - 10", "init_std": "0.02", "seed": "17",
                     "learning_rate": "0.125", "momentum": "0.85", "batch_size": "128", "l2": "2.5",
                     "eval_every": "40", "patience": "800", "tol": "0.0005", "max_epochs": "12",
                     "n_validation": "5000", "train_subset": "20000", "augment_fraction": "0.75"})
    assert form.is_valid()
    expected = TrainConfig(layer_sizes=(784, 64, 32, 10), init="normal", init_std=0.02, seed=17,
                           batch_norm=True, l2=2.5, optimizer="momentum", learning_rate=0.125,
                           momentum=0.85, schedule="step", batch_size=128, eval_every=40, patience=800,
                           tol=0.0005, max_epochs=12, dataset="fashion-mnist", n_validation=5000,
                           train_subset=20000, augment=True, augment_fraction=0.75)
    config = form.config()
    assert config == expected
    assert config.layer_sizes == (784, 64, 32, 10) and type(config.seed) is int
    # an empty subset is the whole training set
    fill_form(form, {"train_subset": ""})
    assert form.config().train_subset is None


def test_settings_survive_a_restart_through_qsettings(qtbot, form, fill_form, tmp_path):
    """values() into QSettings and back into a new form: the same config, and a half-typed value
    comes back as it was typed (so the person sees what they left, with its reason)."""
    _choose_preset(qtbot, form, "pad-l2")
    fill_form(form, {"seed": "5", "train_subset": "1000", "batch_size": "32"})
    path = str(tmp_path / "form.ini")
    settings = QSettings(path, QSettings.Format.IniFormat)
    settings.setValue("train/settings", json.dumps(form.values()))     # as TrainView.save_state
    settings.sync()
    again = SettingsForm()
    qtbot.addWidget(again)
    again.set_values(json.loads(QSettings(path, QSettings.Format.IniFormat).value("train/settings")))
    assert again.config() == form.config()
    assert again.config().seed == 5 and again.config().train_subset == 1000 and again.config().augment

    fill_form(form, {"learning_rate": "0.0.1"})
    assert form.values()["learning_rate"] == "0.0.1"
    third = SettingsForm()
    qtbot.addWidget(third)
    third.set_values(form.values())
    assert third.field("learning_rate").text() == "0.0.1" and not third.is_valid()
    assert "learning rate must be a number, got '0.0.1'" in third.problem.text()


def test_unknown_keys_from_a_newer_version_are_ignored(form):
    form.set_values({**PRESETS["best"].to_dict(), "label_smoothing": 0.3})
    assert _same_settings(form.config(), PRESETS["best"])
