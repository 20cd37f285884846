"""On-the-fly augmentation: each transform does what it says, a seed fixes every batch bit for bit,
labels and validation data are left alone, and the setting travels through files, CLI and form."""

import math

import numpy as np
import pytest

from digitlab.io import load_model, save_model
from digitlab.paths import bundled_models_dir
from digitlab.training import TrainConfig, preset, train
from digitlab.training.augment import (
    BANK_SIZE,
    CHUNK_IMAGES,
    DEFAULT_RANGES,
    SIDE,
    AugmentedBatches,
    Augmenter,
    Transforms,
    apply_transforms,
    random_transforms,
)

QUICK = TrainConfig(max_epochs=3, eval_every=10, patience=10**6, batch_size=64, optimizer="adam",
                    learning_rate=0.01, augment=True)


def centre_of_mass(images: np.ndarray) -> np.ndarray:
    """(m, 2) ink-weighted mean (x, y) of each 28x28 image."""
    img = images.reshape(-1, SIDE, SIDE).astype(float)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    mass = img.sum(axis=(1, 2))
    return np.stack([(img * xs).sum(axis=(1, 2)) / mass, (img * ys).sum(axis=(1, 2)) / mass], axis=1)


def ink_extent(image: np.ndarray) -> tuple[int, int]:
    """(width, height) of the box around the pixels of an image that carry ink."""
    rows = np.flatnonzero(image.reshape(SIDE, SIDE).max(axis=1) > 0)
    cols = np.flatnonzero(image.reshape(SIDE, SIDE).max(axis=0) > 0)
    return cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1


@pytest.fixture(scope="module")
def digits(mnist):
    """200 MNIST training digits as raw bytes, (200, 784) uint8."""
    return np.ascontiguousarray(mnist.train_images[:200].reshape(200, -1))


def test_no_transform_changes_nothing(digits):
    out = apply_transforms(digits, Transforms.identity(len(digits)))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, digits)


def test_a_shift_moves_the_centre_of_mass_by_the_shift(digits):
    # the digits that keep their ink inside the field when moved 3 px right and 2 px up
    img = digits.reshape(-1, SIDE, SIDE)
    inside = digits[(img[:, :, SIDE - 3:].max(axis=(1, 2)) == 0) & (img[:, :2].max(axis=(1, 2)) == 0)]
    assert len(inside) > 150
    t = Transforms.identity(len(inside))
    t.shift_x[:], t.shift_y[:] = 3, -2
    moved = apply_transforms(inside, t)
    np.testing.assert_allclose(centre_of_mass(moved) - centre_of_mass(inside), [[3, -2]] * len(inside),
                               atol=1e-9)
    assert moved.sum() == inside.sum()      # whole pixels move: nothing is lost or made


def test_a_quarter_turn_turns_a_bar_upright():
    bar = np.zeros((1, SIDE, SIDE), dtype=np.uint8)
    bar[0, 13:15, 5:23] = 255               # 18 px wide, 2 px high
    t = Transforms.identity(1)
    t.rotation[:] = math.pi / 2
    turned = apply_transforms(bar.reshape(1, -1), t)
    assert ink_extent(bar) == (18, 2)
    assert ink_extent(turned) == (2, 18)
    assert turned.sum() == bar.sum()


def test_scaling_grows_the_ink_and_shear_slants_it():
    square = np.zeros((1, SIDE, SIDE), dtype=np.uint8)
    square[0, 9:19, 9:19] = 255
    t = Transforms.identity(1)
    t.scale[:] = 1.4
    assert ink_extent(apply_transforms(square.reshape(1, -1), t)) == (14, 14)
    # a vertical bar slanted forward: its top moves right, its bottom left
    bar = np.zeros((1, SIDE, SIDE), dtype=np.uint8)
    bar[0, 4:24, 13:15] = 255
    t = Transforms.identity(1)
    t.shear[:] = 0.2
    slanted = apply_transforms(bar.reshape(1, -1), t).reshape(SIDE, SIDE).astype(float)
    cols = np.arange(SIDE)
    top = (slanted[4:8] @ cols).sum() / slanted[4:8].sum()
    bottom = (slanted[20:24] @ cols).sum() / slanted[20:24].sum()
    assert top - bottom == pytest.approx(0.2 * 16, abs=1.0)


def test_thickness_adds_or_removes_ink_in_the_right_direction(digits):
    ink = {}
    for level in (-0.5, 0.0, 0.5, 1.0):
        t = Transforms.identity(len(digits))
        t.thickness[:] = level
        ink[level] = apply_transforms(digits, t).reshape(len(digits), -1).sum(axis=1).astype(float)
    base = ink[0.0]
    assert np.all(ink[-0.5] < base) and np.all(ink[0.5] > base) and np.all(ink[1.0] > ink[0.5])
    # a 1 px dilation of 2-3 px strokes adds a lot of ink, halfway to it about half as much
    assert 1.4 < np.median(ink[1.0] / base) < 2.2
    assert 0.6 < np.median(ink[-0.5] / base) < 0.95
    t = Transforms.identity(1)
    t.thickness[:] = 0.3
    with pytest.raises(ValueError, match="thickness must be one of"):
        apply_transforms(digits[:1], t)


def test_elastic_deformation_keeps_the_ink_mass_within_a_bound(digits):
    rng = np.random.default_rng(0)
    t = Transforms.identity(len(digits))
    t.elastic[:] = rng.uniform(-DEFAULT_RANGES.elastic, DEFAULT_RANGES.elastic, t.elastic.shape)
    wobbled = apply_transforms(digits, t)
    ratio = wobbled.reshape(len(digits), -1).sum(axis=1) / digits.reshape(len(digits), -1).sum(axis=1)
    assert not np.array_equal(wobbled, digits)
    # stretched or squeezed by up to 1.5 px over 9 px between control points, nearest sampling
    # repeats or skips pixels: measured 0.82 to 1.35 for these 200 digits
    assert np.all(np.abs(ratio - 1) < 0.4)
    assert abs(np.mean(ratio) - 1) < 0.05             # and no drift on the whole
    # the digit stays where it was: centres of mass move by less than a pixel
    assert np.max(np.abs(centre_of_mass(wobbled) - centre_of_mass(digits))) < 1.5


def test_random_transforms_stay_within_their_ranges():
    t = random_transforms(np.random.default_rng(1), 5000)
    r = DEFAULT_RANGES
    assert np.abs(np.degrees(t.rotation)).max() <= r.rotation_degrees
    assert np.abs(np.degrees(t.rotation)).max() > 0.9 * r.rotation_degrees
    assert r.scale[0] <= t.scale.min() and t.scale.max() <= r.scale[1]
    assert np.abs(t.shear).max() <= r.shear and np.abs(t.shift_x).max() <= r.shift
    assert np.abs(t.elastic).max() <= r.elastic
    assert set(np.unique(t.thickness)) == set(r.thickness)


def test_the_same_seed_gives_the_same_images_bit_for_bit_and_others_differ(digits):
    a = Augmenter(seed=7, fraction=0.5).augment(digits, epoch=3, chunk=2)
    b = Augmenter(seed=7, fraction=0.5).augment(digits, epoch=3, chunk=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, Augmenter(seed=8, fraction=0.5).augment(digits, epoch=3, chunk=2))
    assert not np.array_equal(a, Augmenter(seed=7, fraction=0.5).augment(digits, epoch=4, chunk=2))
    changed = np.any(a != digits, axis=1).mean()
    assert 0.35 < changed < 0.6               # about half of them (fraction 0.5), the rest as they were


def test_the_feed_keeps_images_with_their_rows_and_is_reproducible(digits):
    def batches(seed, ahead=None):
        with AugmentedBatches(digits, 32, np.random.default_rng(seed), Augmenter(seed, fraction=0.5),
                              ahead=ahead) as feed:
            return [feed.next_batch() for _ in range(2 * math.ceil(len(digits) / 32))]    # two epochs

    # with a helper thread preparing chunks ahead or without it: the same batches
    first, again = batches(5, ahead=2), batches(5, ahead=0)
    for (x1, i1), (x2, i2) in zip(first, again):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(i1, i2)
    per_epoch = len(first) // 2
    for epoch in range(2):
        rows = np.concatenate([i for _, i in first[epoch * per_epoch:(epoch + 1) * per_epoch]])
        np.testing.assert_array_equal(np.sort(rows), np.arange(len(digits)))   # each image once
    # every image sits in the row of its own index (so its label, y[idx], is its own): the
    # batches are exactly the epoch's images in that order, a chunk of them augmented at once
    x = np.concatenate([b for b, _ in first[:per_epoch]])
    idx = np.concatenate([i for _, i in first[:per_epoch]])
    per_chunk = CHUNK_IMAGES                  # a whole number of 32-image batches
    augmenter = Augmenter(5, fraction=0.5)
    expected = np.concatenate([augmenter.augment(digits[idx[c:c + per_chunk]], 0, c // per_chunk)
                               for c in range(0, len(idx), per_chunk)])
    np.testing.assert_array_equal(x, expected)
    same = np.all(x == digits[idx], axis=1)
    assert 0.3 < same.mean() < 0.7
    assert not np.array_equal(first[0][0], batches(6)[0][0])


def test_a_run_with_augmentation_is_reproducible_bit_for_bit_and_differs_from_one_without(small_splits):
    x_train, x_val = small_splits.x_train.copy(), small_splits.x_val.copy()
    a = train(QUICK, small_splits)
    b = train(QUICK, small_splits)
    np.testing.assert_array_equal(a.network.params, b.network.params)
    np.testing.assert_array_equal(a.history.column("val_cost"), b.history.column("val_cost"))
    plain = train(QUICK.replace(augment=False), small_splits)
    assert not np.array_equal(a.network.params, plain.network.params)
    assert a.metrics["val_accuracy"] > 0.45          # it learns (chance: 0.1; without: 0.57)
    # nothing was transformed in place: the training and validation images are as they were,
    # and the recorded validation figures are those of the untouched validation images
    np.testing.assert_array_equal(small_splits.x_train, x_train)
    np.testing.assert_array_equal(small_splits.x_val, x_val)
    cost, accuracy = a.network.cost_and_accuracy(x_val, small_splits.y_val)
    assert a.metrics["val_accuracy"] == accuracy and a.metrics["val_cost"] == pytest.approx(cost)


def test_float_data_that_is_not_bytes_is_augmented_too(small_splits):
    import dataclasses
    # a dataset of arbitrary floats: the trainer rounds it to bytes for the transforms
    odd = dataclasses.replace(small_splits, x_train=small_splits.x_train * np.float32(0.999),
                              x_train_bytes=None)
    a = train(QUICK, odd)
    # 0.999 x rounds back to the same bytes, so the run is the one on the bytes, bit for bit
    np.testing.assert_array_equal(a.network.params, train(QUICK, small_splits).network.params)
    assert a.metrics["val_accuracy"] > 0.45


def test_the_setting_is_checked():
    assert TrainConfig(augment=True, augment_fraction=0.25).problems() == []
    assert any("augment must be true or false" in p for p in TrainConfig(augment="yes").problems())
    assert any("augment_fraction must be > 0" in p for p in TrainConfig(augment_fraction=0.0).problems())
    assert any("augment_fraction must be at most 1" in p
               for p in TrainConfig(augment_fraction=1.5).problems())
    assert "augmented (25% of images)" in TrainConfig(augment=True, augment_fraction=0.25).describe()
    with pytest.raises(ValueError, match="fraction"):
        Augmenter(0, fraction=0.0)


def test_the_pad_presets_augment_and_differ_only_in_l2():
    pad, pad_l2 = preset("pad"), preset("pad-l2")
    assert pad.augment and pad_l2.augment and pad.layer_sizes == (784, 20, 7, 5, 10)
    assert pad.l2 == 0 and pad_l2.l2 > 0
    assert pad.replace(l2=pad_l2.l2, name="") == pad_l2.replace(name="")
    assert BANK_SIZE >= 512


def test_the_setting_travels_through_a_model_file(small_splits, tmp_path):
    config = QUICK.replace(max_epochs=1, augment_fraction=0.3)
    path = save_model(tmp_path / "aug.h5", train(config, small_splits))
    loaded = load_model(path).config
    assert loaded.augment is True and loaded.augment_fraction == 0.3
    assert loaded == config


def test_a_file_written_before_the_setting_loads_with_augmentation_off():
    old = load_model(bundled_models_dir() / "report-no-l2.h5")    # written before augmentation
    assert old.config.augment is False and old.config.augment_fraction == TrainConfig().augment_fraction
    import h5py
    with h5py.File(bundled_models_dir() / "report-no-l2.h5", "r") as f:
        assert "augment" not in f["config"].attrs


def test_the_command_line_switches_it_on():
    from digitlab.cli import build_parser, config_from_args
    args = build_parser().parse_args(["train", "--augment", "--augment-fraction", "0.3"])
    config = config_from_args(args)
    assert config.augment is True and config.augment_fraction == 0.3
    assert config_from_args(build_parser().parse_args(["train"])).augment is False
    no = build_parser().parse_args(["train", "--preset", "pad", "--no-augment"])
    assert config_from_args(no).augment is False


def test_the_forms_checkbox_sets_the_config(qtbot):
    from PySide6.QtCore import Qt

    from digitlab.gui.settings_form import SettingsForm
    form = SettingsForm()
    qtbot.addWidget(form)
    form.show()
    assert form.config().augment is False
    assert not form.field("augment_fraction").isEnabled()
    assert "training images" in form.augment.toolTip()
    qtbot.mouseClick(form.augment, Qt.MouseButton.LeftButton, pos=form.augment.rect().center())
    assert form.augment.isChecked() and form.config().augment is True
    assert form.field("augment_fraction").isEnabled()
    edit = form.field("augment_fraction")
    edit.clear()
    qtbot.keyClicks(edit, "0.25")
    assert form.config().augment_fraction == 0.25
    edit.clear()
    qtbot.keyClicks(edit, "2")
    assert not form.is_valid() and "Augmented share" in form.problem.text()
    form.apply_preset("pad-l2")
    assert form.augment.isChecked() and form.config() == preset("pad-l2").replace(name="")
    form.apply_preset("report")
    assert not form.augment.isChecked()


def test_the_shipped_default_pair_is_the_pad_networks(tmp_path):
    from digitlab.library import ModelLibrary
    a, b = ModelLibrary(bundled_models_dir(), tmp_path).default_pair()
    assert (a.name, b.name) == ("pad", "pad-l2")
    assert a.source == b.source == "bundled"
    for entry, l2 in ((a, 0.0), (b, preset("pad-l2").l2)):
        model = load_model(entry.path)
        assert model.config == preset(entry.name)
        assert model.config.augment and model.config.l2 == l2
        assert model.metrics["test_accuracy"] > 0.96


def test_a_report_on_augmented_networks_says_so():
    from types import SimpleNamespace

    from digitlab.reports.report import _describe_setting
    runs = [SimpleNamespace(seed=3, result=SimpleNamespace(config=preset(name))) for name in ("pad", "best")]
    data = next(line for line in _describe_setting(runs) if "validation images" in line)
    assert "Differs between the networks" in data
    assert "50% of the training images augmented afresh every epoch" in data
    only_pad = [SimpleNamespace(seed=3, result=SimpleNamespace(config=preset("pad")))]
    assert any(line.startswith("Data:") and "augmented" in line for line in _describe_setting(only_pad))


def test_ink_never_comes_from_beyond_the_field():
    # a digit touching the field's left edge, thickened and moved right: the columns it leaves
    # behind are background, not copies of what a dilation pushed past the edge
    edge = np.zeros((1, SIDE, SIDE), dtype=np.uint8)
    edge[0, 8:20, 0:3] = 255
    t = Transforms.identity(1)
    t.thickness[:], t.shift_x[:] = 1.0, 3
    moved = apply_transforms(edge.reshape(1, -1), t).reshape(SIDE, SIDE)
    assert moved[:, :3].max() == 0 and moved[8:20, 3:7].min() == 255
    augmenter = Augmenter(seed=0, fraction=1.0)
    many = np.repeat(edge.reshape(1, -1), 64, axis=0)
    out = augmenter.augment(many, 0, 0).reshape(-1, SIDE, SIDE)
    assert out[:, :, SIDE - 4:].max() == 0          # nothing smeared in from the far side
