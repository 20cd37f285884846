"""Evaluate on a chosen dataset: MNIST test by default, "My digits" (the Draw view's personal set)
or another .npz; accuracy, confusion and mistakes are computed on it and equal NumPy's."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab import paths
from digitlab.data import load_dataset
from digitlab.data.personal import PersonalSet, default_personal_set_path, save_personal_set
from digitlab.gui.evaluate_view import EvaluateView
from digitlab.library import ModelLibrary

N = 60


@pytest.fixture(scope="module")
def mnist():
    return load_dataset()


@pytest.fixture
def view(qtbot, tmp_path, mnist):
    # the shipped models: their accuracy on real digits is far from chance, so a wrong scaling
    # or a shuffled label would show
    library = ModelLibrary(bundled_dir=paths.bundled_models_dir(), user_dir=tmp_path / "models")
    small = _small_splits(mnist)
    v = EvaluateView(library, splits_for=lambda config: small)
    qtbot.addWidget(v)
    v.resize(1280, 800)
    v.show()
    qtbot.waitUntil(lambda: not v.is_evaluating(), timeout=30000)
    yield v
    assert v.shutdown(30000)


def _small_splits(mnist):
    from digitlab.data import prepare_splits
    s = prepare_splits(mnist, n_validation=500, seed=0, train_subset=1000)
    s.x_test, s.y_test = s.x_test[:500], s.y_test[:500]
    return s


def _my_digits(mnist, start=0, n=N):
    """MNIST test digits written as a personal set (as if drawn and labelled)."""
    s = PersonalSet()
    for i in range(start, start + n):
        s.add(mnist.test_images[i], int(mnist.test_labels[i]))
    return save_personal_set(default_personal_set_path(), s)


def _numpy_accuracy(entry, mnist, start=0, n=N):
    x = mnist.test_images[start:start + n].reshape(n, 784).astype(np.float64) / 255
    return float(np.mean(np.argmax(entry.network.logits(x), axis=1) == mnist.test_labels[start:start + n]))


def _choose(qtbot, view, key_or_path):
    view.set_data_set(key_or_path)
    qtbot.waitUntil(lambda: not view.is_evaluating(), timeout=30000)


def test_mnist_test_is_the_default(view):
    assert view.set_combo.currentData() == "test"
    assert view.eval_a is not None and view.eval_a.n == 500
    assert "500 images of the test set of mnist" in view.headline.text()


def test_my_digits_accuracy_confusion_and_mistakes_are_numpys(qtbot, view, mnist):
    _my_digits(mnist)
    _choose(qtbot, view, "personal")
    a, b = view.pair.a, view.pair.b
    assert view.set_combo.currentText() == "My digits"
    assert view.eval_a.n == N and view.eval_a.cm.sum() == N
    assert view.eval_a.accuracy == pytest.approx(_numpy_accuracy(a, mnist), abs=1e-12)
    assert view.eval_b.accuracy == pytest.approx(_numpy_accuracy(b, mnist), abs=1e-12)
    assert 0.8 < view.eval_a.accuracy < 1.0          # real digits, a real model: not chance
    text = view.headline.text()
    assert f"accuracy {100 * view.eval_a.accuracy:.2f} %" in text
    assert f"{N} images of My digits ({default_personal_set_path()})" in text
    np.testing.assert_array_equal(view.eval_a.y, mnist.test_labels[:N])
    wrong = np.flatnonzero(view.eval_a.pred != mnist.test_labels[:N])
    assert sorted(view.gallery_indices().tolist()) == wrong.tolist()
    assert view.gallery.count() == len(wrong)


def test_digits_added_in_draw_are_counted_when_the_view_is_shown_again(qtbot, view, mnist):
    _my_digits(mnist)
    _choose(qtbot, view, "personal")
    assert view.eval_a.n == N
    view.hide()
    _my_digits(mnist, n=N + 15)                      # more digits, as the My digits tab writes them
    view.show()
    qtbot.waitUntil(lambda: not view.is_evaluating() and view.eval_a is not None, timeout=30000)
    assert view.eval_a.n == N + 15
    assert view.eval_a.accuracy == pytest.approx(_numpy_accuracy(view.pair.a, mnist, n=N + 15), abs=1e-12)


def test_another_npz_from_the_chooser_and_a_cancelled_choice(qtbot, view, mnist, tmp_path):
    keras = tmp_path / "keras-style.npz"
    np.savez(keras, x_train=mnist.test_images[:10], y_train=mnist.test_labels[:10],
             x_test=mnist.test_images[100:140], y_test=mnist.test_labels[100:140])
    view.ask_dataset_file = lambda: str(keras)
    view.set_combo.setCurrentIndex(view.set_combo.count() - 1)       # "Another .npz file…"
    qtbot.waitUntil(lambda: not view.is_evaluating(), timeout=30000)
    assert view.set_combo.currentText() == "keras-style.npz"
    assert view.eval_a.n == 40                       # a Keras dataset: its test part
    assert view.eval_a.accuracy == pytest.approx(_numpy_accuracy(view.pair.a, mnist, 100, 40), abs=1e-12)
    # cancelling the file dialog keeps the set that was shown
    view.ask_dataset_file = lambda: ""
    view.set_combo.setCurrentIndex(view.set_combo.count() - 1)
    assert view.set_combo.currentText() == "keras-style.npz" and view.eval_a.n == 40


def test_missing_empty_and_bad_sets_are_said_in_the_headline(qtbot, view, tmp_path):
    _choose(qtbot, view, "personal")
    assert view.eval_a is None
    assert "Cannot evaluate on this set: you have no digits yet" in view.headline.text()
    save_personal_set(default_personal_set_path(), PersonalSet())
    view.hide()
    view.show()
    qtbot.waitUntil(lambda: not view.is_evaluating(), timeout=30000)
    assert "x holds no images; add some digits first" in view.headline.text()
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((2, 28, 28), np.uint8), y=np.array([3, 11]))
    _choose(qtbot, view, bad)
    assert "Cannot evaluate on this set:" in view.headline.text()
    assert "labels range over 3..11" in view.headline.text()
