"""Training with augmentation from the Train view: the checkbox reaches the run on the worker thread,
and the run is the one the core gives for the same settings, bit for bit."""

import numpy as np
from PySide6.QtCore import Qt

from digitlab.training import splits_for, train

RUN_TIMEOUT = 60_000


def test_an_augmented_run_from_the_form_is_the_cores_run(qtbot, train_view, fill_form, quick_settings):
    form = train_view.form
    fill_form(form, quick_settings)
    qtbot.mouseClick(form.augment, Qt.MouseButton.LeftButton, pos=form.augment.rect().center())
    fill_form(form, {"augment_fraction": "0.4"})
    assert form.augment.isChecked() and "augmented" in form.config().describe()
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT) as blocker:
        qtbot.mouseClick(train_view.start_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0][0]
    assert result.stop_reason == "max_epochs"
    assert result.config.augment is True and result.config.augment_fraction == 0.4
    again = train(result.config, splits_for(result.config))
    np.testing.assert_array_equal(result.network.params, again.network.params)
    plain = train(result.config.replace(augment=False), splits_for(result.config))
    assert not np.array_equal(result.network.params, plain.network.params)


def test_an_augmented_run_can_be_stopped_midway(qtbot, train_view, fill_form, quick_settings):
    form = train_view.form
    fill_form(form, {**quick_settings, "max_epochs": "200"})
    form.augment.setChecked(True)
    checks = []
    train_view.controller.check.connect(lambda _i, c: checks.append(c))
    qtbot.mouseClick(train_view.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(checks) >= 5, timeout=RUN_TIMEOUT)
    with qtbot.waitSignal(train_view.controller.finished, timeout=RUN_TIMEOUT) as blocker:
        qtbot.mouseClick(train_view.stop_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0][0]
    assert result.stop_reason == "cancelled" and result.config.augment
    assert result.epochs < 200 and np.all(np.isfinite(result.network.params))
