"""The input check: dots and tiny marks are "too small", scribbles and blobs "not a digit", MNIST's
digits pass (under 1 % rejected on the whole test set), and the shipped reference is what the fit
script makes."""

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from digitlab.data import load_dataset, to_mnist
from digitlab.data.drawn_set import TEMPLATE_STYLES, template_strokes
from digitlab.data.input_check import (
    MIN_EXTENT,
    check_input,
    check_inputs,
    input_scores,
    load_reference,
    reference_path,
)
from digitlab.data.input_check_fit import fit_reference
from digitlab.data.non_digit_drawings import non_digit_inputs, rasterise
from digitlab.data.strokes import Drawing, Stroke, drawing_to_mnist_steps

ROOT = Path(__file__).resolve().parents[2]
SIDE = 448
DEFAULT_BRUSH = 0.07 * SIDE  # the canvas's default brush, 7 % of its side


def _pad(strokes, brush=DEFAULT_BRUSH):
    """What the Draw view would hand the check: the pad's input and the ink's extent."""
    steps = drawing_to_mnist_steps(Drawing(SIDE, tuple(Stroke(p, np.ones(len(p)), brush) for p in strokes)))
    return steps["centred"], steps["ink_extent"]


def _scratch():
    """A person scratching something out: one stroke back and forth, irregularly, over a patch."""
    rng = np.random.default_rng(5)
    xs = np.where(np.arange(24) % 2 == 0, 140.0, 300.0) + rng.uniform(-30, 30, 24)
    ys = 150.0 + np.arange(24) * 6.0 + rng.uniform(-10, 10, 24)
    return [np.stack([xs, ys], axis=1)]


def _colouring_in():
    """A filled blob as drawn on the pad: a patch coloured in with close back-and-forth lines."""
    ys = np.arange(120.0, 300.0, 0.6 * DEFAULT_BRUSH)
    half = 90.0 * np.sqrt(np.clip(1 - ((ys - 210.0) / 95.0) ** 2, 0.05, 1))
    xs = np.where(np.arange(len(ys)) % 2 == 0, 224.0 - half, 224.0 + half)
    return [np.stack([xs, ys], axis=1)]


# --------------------------------------------------------------------------- too small

def test_a_click_is_too_small():
    x, extent = _pad([np.array([[224.0, 224.0]])])
    assert extent == pytest.approx(0.07, abs=0.005)
    verdict = check_input(x, extent)
    assert verdict.state == "too small"
    assert verdict.message == "Draw bigger: this mark is too small to read as a digit."
    assert "extent" in verdict.reasons and "box" in verdict.reasons
    # Without the canvas's extent the 28x28 input still shows it: the pad does not magnify a dot.
    alone = check_input(x)
    assert alone.state == "too small" and alone.reasons == ("box",)
    assert alone.scores["box"] <= 4 and np.isnan(alone.scores["extent"])


def test_a_tiny_mark_is_too_small():
    x, extent = _pad([np.array([[220.0, 220.0], [232.0, 226.0], [236.0, 236.0]])])
    assert extent < MIN_EXTENT
    assert check_input(x, extent).state == "too small"


def test_a_big_dot_from_a_thick_brush_is_too_small_from_the_input_alone():
    x, extent = _pad([np.array([[224.0, 224.0]])], brush=0.25 * SIDE)
    assert extent > MIN_EXTENT                 # a 25 % brush: the ink is large on the canvas...
    verdict = check_input(x, extent)
    assert verdict.state == "too small" and verdict.reasons == ("box",)  # ...but it is one dot


def test_a_small_digit_is_not_too_small():
    # The failing case: digits drawn at 20 % of the canvas with the default brush.
    for digit in (0, 1, 3, 5, 8):
        unit = template_strokes(digit, TEMPLATE_STYLES[digit][0], np.random.default_rng(digit))
        pts = np.vstack(unit)
        scale = 0.20 * SIDE / float(np.ptp(pts, axis=0).max())
        strokes = [(s - pts.min(axis=0)) * scale + 200.0 for s in unit]
        x, extent = _pad(strokes)
        verdict = check_input(x, extent)
        assert extent > MIN_EXTENT
        assert verdict.state == "ok", (digit, verdict)


# --------------------------------------------------------------------------- not a digit

def test_a_scribble_is_not_a_digit():
    x, extent = _pad(_scratch())
    verdict = check_input(x, extent)
    assert extent > MIN_EXTENT
    assert verdict.state == "not a digit"
    assert verdict.message.startswith("This doesn't look like a digit.")
    assert verdict.reasons


def test_a_filled_blob_is_not_a_digit_on_the_pad_and_as_an_image():
    x, extent = _pad(_colouring_in())
    verdict = check_input(x, extent)
    assert verdict.state == "not a digit" and "solid" in verdict.reasons
    assert verdict.message == ("This doesn't look like a digit. "
                               "It is mostly filled-in ink; draw the digit's lines.")
    assert verdict.scores["solid"] > load_reference().solid_limit
    # The same blob as an image file (a disc of ink) through the raster conversion.
    disc = rasterise([np.array([[140.0, 140.0]])], 90.0, 280)
    image_verdict = check_input(to_mnist(disc, ink_is_dark=False))
    assert image_verdict.state == "not a digit"


def test_a_wavy_line_on_its_side_is_not_a_digit():
    t = np.linspace(0, 4 * np.pi, 60)
    wave = np.stack([120 + 200 * t / t[-1], 224 + 25 * np.sin(t)], axis=1)
    x, extent = _pad([wave])
    verdict = check_input(x, extent)
    assert verdict.state == "not a digit" and "wide" in verdict.reasons
    assert verdict.scores["wide"] > load_reference().wide_limit > 1.0
    assert "wider than it is tall" in verdict.message
    # The same line standing up is read as a stroke (a wavy 1), not refused for its width.
    upright = check_input(*_pad([wave[:, ::-1]]))
    assert "wide" not in upright.reasons


def test_pixel_noise_is_not_a_digit():
    x, _ = non_digit_inputs("noise", 5, seed=3, path="raster")
    assert list(check_inputs(x)) == ["not a digit"] * 5
    assert np.all(input_scores(x)["faint"] > load_reference().faint_limit)


def test_scattered_clicks_are_many_pieces():
    x, extents = non_digit_inputs("speckle", 20, seed=3)
    states = check_inputs(x, extents)
    assert np.mean(states == "not a digit") >= 0.9
    assert np.median(input_scores(x)["pieces"]) > 3


# --------------------------------------------------------------------------- digits pass

@pytest.mark.slow
def test_under_one_percent_of_mnist_test_digits_are_rejected():
    raw = load_dataset()
    states = check_inputs(raw.test_images / 255.0)
    rejected = float(np.mean(states != "ok"))
    assert rejected < 0.01
    assert rejected > 0.0        # the limits are quantiles: a few odd digits must fall outside
    assert not np.any(states == "too small")


def test_a_mnist_digit_is_ok_with_every_score_within_its_limit():
    raw = load_dataset()
    ref = load_reference()
    verdict = check_input(raw.test_images[0] / 255.0, None)
    assert verdict.state == "ok" and verdict.message == "" and verdict.reasons == () and verdict.ok
    limits = ref.limits
    assert verdict.scores["box"] >= limits["box"]
    for name in ("solid", "wide", "faint", "pieces", "shape"):
        assert verdict.scores[name] <= limits[name], name


def test_batch_and_single_checks_agree():
    x, extents = non_digit_inputs("letter", 12, seed=4)
    batch = check_inputs(x, extents)
    single = [check_input(xi, float(e)).state for xi, e in zip(x, extents)]
    assert list(batch) == single
    assert set(batch) <= {"ok", "not a digit"}


# --------------------------------------------------------------------------- refusals

def test_refusals_say_what_was_wrong():
    with pytest.raises(ValueError, match="no ink"):
        check_input(np.zeros((28, 28), np.float32))
    with pytest.raises(ValueError, match="28x28"):
        check_input(np.ones((20, 20)))
    with pytest.raises(ValueError, match="NaN"):
        check_input(np.full((28, 28), np.nan))
    with pytest.raises(ValueError, match="one input"):
        check_input(np.ones((2, 28, 28)))
    with pytest.raises(ValueError, match="one ink extent per input"):
        check_inputs(np.ones((3, 28, 28)), [0.5, 0.5])
    with pytest.raises(ValueError, match="unknown kind"):
        non_digit_inputs("doodle", 1)
    with pytest.raises(ValueError, match="cannot be drawn with a pen"):
        non_digit_inputs("noise", 1, path="strokes")


def test_a_missing_reference_file_says_how_to_rebuild_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="input_check_fit"):
        load_reference(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, mean=np.zeros(10))
    with pytest.raises(ValueError, match="not a valid input-check reference"):
        load_reference(bad)


# --------------------------------------------------------------------------- the shipped file

@pytest.mark.slow      # refits the reference on MNIST's 60,000 training digits: about 5 s
def test_the_shipped_reference_matches_a_recomputation():
    shipped = load_reference()
    fresh = fit_reference()
    assert shipped.info["dataset_checksum"] == load_dataset().checksum
    np.testing.assert_allclose(shipped.mean, fresh.mean, atol=1e-6)
    np.testing.assert_allclose(shipped.components, fresh.components, atol=1e-5)
    np.testing.assert_allclose(shipped.prototypes, fresh.prototypes, atol=1e-4)
    for name in ("solid_limit", "wide_limit", "faint_limit", "shape_limit"):
        assert getattr(shipped, name) == pytest.approx(getattr(fresh, name), rel=1e-5), name
    assert shipped.info["validation_rejected"] == pytest.approx(fresh.info["validation_rejected"])
    assert shipped.info["validation_rejected"] < 0.01


def test_the_reference_is_small_and_packaged():
    assert reference_path().stat().st_size < 200_000
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "input_check.npz" in pyproject["tool"]["setuptools"]["package-data"]["digitlab.resources"]


def test_the_check_and_the_generated_drawings_do_not_import_qt():
    code = ("import sys\n"
            "import digitlab.data.input_check, digitlab.data.input_check_fit\n"
            "import digitlab.data.non_digit_drawings\n"
            "qt = ('PySide6', 'pyqtgraph', 'shiboken6')\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in qt)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_generated_drawings_are_deterministic_for_a_seed():
    a, ea = non_digit_inputs("scribble", 3, seed=7)
    b, eb = non_digit_inputs("scribble", 3, seed=7)
    c, _ = non_digit_inputs("scribble", 3, seed=8)
    assert np.array_equal(a, b) and np.array_equal(ea, eb)
    assert not np.array_equal(a, c)


def test_ignore_leaves_out_a_score_and_refuses_an_unknown_name():
    """The Draw view ignores "faint" for an image it enlarged smoothly onto the canvas (28 to 448
    pixels, linear interpolation like Qt's smooth scaling): the enlarged digit's edges are soft
    and some read as faint, yet they are MNIST's own digits."""
    from digitlab.data import load_dataset, to_mnist_steps
    from digitlab.data.preprocess import _resize

    images = load_dataset().test_images[:100].astype(np.float32) / 255
    soft = [to_mnist_steps(np.clip(_resize(a, 448, 448), 0, 1), ink_is_dark=False)["centred"]
            for a in images]
    judged = [check_input(x, 0.7) for x in soft]
    faint = [x for x, c in zip(soft, judged) if c.reasons == ("faint",)]
    assert len(faint) >= 5                     # measured: 14 % of MNIST test digits
    assert all(check_input(x, 0.7, ignore=("faint",)).ok for x in soft)
    with pytest.raises(ValueError, match="ignore names no score"):
        check_input(soft[0], ignore=("fuzzy",))
