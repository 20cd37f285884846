"""Drawn-digit preprocessing: MNIST's own recipe, checked on synthetic strokes and on MNIST itself."""

import os
import subprocess
import sys

import numpy as np
import pytest

from digitlab.data import load_dataset, read_image_file, to_mnist, to_mnist_steps
from digitlab.data.preprocess import _resample_matrix


def _canvas(h=280, w=280):
    return np.zeros((h, w))


def _ellipse(canvas, cy, cx, ry, rx, ring=0.0):
    """Soft-edged filled ellipse (or ring of relative thickness `ring`), ink high, in place."""
    yy, xx = np.mgrid[: canvas.shape[0], : canvas.shape[1]]
    r = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
    ink = np.clip((1.0 - r) * min(ry, rx), 0, 1)  # ~1 px anti-aliased edge
    if ring:
        ink = np.minimum(ink, np.clip((r - (1 - ring)) * min(ry, rx), 0, 1))
    np.maximum(canvas, ink, out=canvas)
    return canvas


def _stroke(canvas, p0, p1, width):
    """A thick anti-aliased line from p0 to p1 (row, col), ink high, in place."""
    yy, xx = np.mgrid[: canvas.shape[0], : canvas.shape[1]].astype(float)
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    t = np.clip(((yy - p0[0]) * d[0] + (xx - p0[1]) * d[1]) / (d @ d), 0, 1)
    dist = np.hypot(yy - (p0[0] + t * d[0]), xx - (p0[1] + t * d[1]))
    np.maximum(canvas, np.clip(width / 2 - dist + 0.5, 0, 1), out=canvas)
    return canvas


def _com(img):
    idx = np.arange(img.shape[0])
    return (idx @ img.sum(1) / img.sum(), idx @ img.sum(0) / img.sum())


def _bbox(img, threshold=0.05):
    rows = np.flatnonzero((img > threshold).any(1))
    cols = np.flatnonzero((img > threshold).any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


SHAPES = {
    "round-centre": lambda: _ellipse(_canvas(), 140, 140, 90, 90),
    "tall-corner": lambda: _ellipse(_canvas(), 60, 220, 50, 20),
    "wide-bottom": lambda: _ellipse(_canvas(), 240, 100, 15, 70),
    "small-zero": lambda: _ellipse(_canvas(), 100, 90, 25, 16, ring=0.35),
    "big-zero-rect-canvas": lambda: _ellipse(_canvas(300, 500), 150, 330, 120, 80, ring=0.3),
    "slanted-one": lambda: _stroke(_canvas(), (40, 170), (230, 120), 18),
    "tiny-blob-upscaled": lambda: _ellipse(_canvas(16, 16), 7, 9, 3, 2),
}


@pytest.mark.parametrize("name", SHAPES)
def test_synthetic_digits_are_centred_and_sized_like_mnist(name):
    # MNIST's framing alone: some of these shapes are filled blobs, far wider than MNIST's
    # strokes, which the default stroke-width normalisation would redraw as centre lines.
    steps = to_mnist_steps(SHAPES[name](), normalise_width=False)
    out = steps["centred"]
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0 and out.max() > 0.9
    cy, cx = _com(out)
    assert abs(cy - 14) <= 0.501 and abs(cx - 14) <= 0.501  # whole-pixel shift, as MNIST did
    assert abs(max(_bbox(out)) - 20) <= 1
    assert max(steps["scaled"].shape) == 20
    # The aspect ratio survives scaling.
    ch, cw = steps["cropped"].shape
    sh, sw = steps["scaled"].shape
    assert sh / sw == pytest.approx(ch / cw, rel=0.15, abs=1 / 20)


def test_steps_have_the_documented_keys_and_shapes():
    image = (255 - SHAPES["tall-corner"]() * 255).astype(np.uint8)  # dark ink on white paper
    steps = to_mnist_steps(image)
    assert {"input", "cropped", "scaled", "centred"} <= steps.keys()
    assert steps["ink_is_dark"] is True
    assert steps["input"].shape == image.shape and steps["input"].dtype == np.float32
    np.testing.assert_allclose(steps["input"], image / 255.0, atol=1e-6)
    assert steps["cropped"].max() == pytest.approx(1.0)  # inverted: ink high
    np.testing.assert_array_equal(to_mnist(image), steps["centred"])


@pytest.mark.parametrize("name", ["slanted-one", "small-zero"])
def test_dark_on_light_equals_light_on_dark(name):
    light_ink = SHAPES[name]()
    expected = to_mnist(light_ink)
    np.testing.assert_allclose(to_mnist(1.0 - light_ink), expected, atol=1e-6)
    np.testing.assert_allclose(to_mnist(1.0 - light_ink, ink_is_dark=True), expected, atol=1e-6)
    np.testing.assert_allclose(to_mnist(light_ink, ink_is_dark=False), expected, atol=1e-6)
    # uint8 input is the same picture.
    as_uint8 = np.rint((1.0 - light_ink) * 255).astype(np.uint8)
    np.testing.assert_allclose(to_mnist(as_uint8), expected, atol=0.02)


def test_grey_paper_and_faint_pen_are_normalised():
    ink = SHAPES["small-zero"]()
    photo = 0.8 - 0.5 * ink  # grey paper (0.8), grey pencil (0.3)
    np.testing.assert_allclose(to_mnist(photo), to_mnist(ink), atol=1e-5)


@pytest.mark.parametrize(
    "image",
    [np.zeros((280, 280)), np.ones((280, 280)), np.full((50, 60), 0.5),
     np.zeros((280, 280), np.uint8), np.full((280, 280), 255, np.uint8),
     np.random.default_rng(0).uniform(0, 0.05, (100, 100))],
    ids=["black", "white", "grey", "black-uint8", "white-uint8", "faint-noise"],
)
def test_empty_canvas_gives_no_prediction(image):
    assert to_mnist(image) is None
    steps = to_mnist_steps(image)
    assert steps["centred"] is None and steps["cropped"] is None and steps["input"] is not None


def test_lopsided_shape_keeps_all_its_ink():
    # A "7"-like shape: heavy top bar, so its centre of mass is high in its box.
    canvas = _stroke(_canvas(), (40, 60), (40, 220), 30)
    _stroke(canvas, (40, 220), (250, 120), 6)
    out = to_mnist(canvas)
    assert out[0].max() < 0.05 or out[-1].max() < 0.05  # not cut off at both edges
    assert max(_bbox(out)) in (19, 20, 21)


def test_mnist_digits_pass_through_nearly_unchanged():
    raw = load_dataset()
    images = raw.test_images[:1000]
    out = np.stack([to_mnist(img) for img in images])
    diff = np.abs(out - images / 255.0).mean(axis=(1, 2))
    assert diff.mean() < 0.005
    assert (diff < 1e-3).mean() > 0.8  # most come through untouched


def test_resampling_preserves_ink_and_identity():
    np.testing.assert_array_equal(_resample_matrix(7, 7), np.eye(7))
    for n_in, n_out in [(280, 20), (33, 20), (21, 20), (5, 20), (1, 3)]:
        w = _resample_matrix(n_in, n_out)
        assert w.shape == (n_out, n_in)
        np.testing.assert_allclose(w.sum(axis=1), 1.0)
        assert (w >= 0).all()
    # Area averaging: shrinking 4 -> 2 averages pairs.
    np.testing.assert_allclose(_resample_matrix(4, 2) @ [0, 1, 1, 1], [0.5, 1.0])


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match=r"2-D grayscale array \(H, W\), got shape \(10, 10, 3\)"):
        to_mnist(np.zeros((10, 10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        to_mnist(np.full((10, 10), np.nan))
    with pytest.raises(ValueError, match="must not be empty"):
        to_mnist(np.zeros((0, 5)))
    with pytest.raises(ValueError, match=r"0\.\.255, got 0\.\.1000"):
        to_mnist(np.array([[0, 1000]], dtype=np.int32))


# ---- image files ------------------------------------------------------------------------------

def _save_png(path, gray, alpha=None):
    from PySide6.QtGui import QImage
    h, w = gray.shape
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3] = gray[..., None]
    rgba[..., 3] = 255 if alpha is None else alpha
    img = QImage(rgba.tobytes(), w, h, 4 * w, QImage.Format.Format_RGBA8888)
    assert img.save(str(path))


def test_read_image_file_round_trip_and_predictable(tmp_path):
    ink = SHAPES["slanted-one"]()
    paper = np.rint((1 - ink) * 255).astype(np.uint8)
    _save_png(tmp_path / "one.png", paper)
    gray = read_image_file(tmp_path / "one.png")
    assert gray.shape == (280, 280) and gray.dtype == np.float32
    np.testing.assert_allclose(gray, paper / 255.0, atol=1 / 255 + 1e-6)
    np.testing.assert_allclose(to_mnist(gray), to_mnist(ink), atol=0.02)


def test_transparent_png_reads_as_strokes(tmp_path):
    ink = SHAPES["small-zero"]()
    alpha = np.rint(ink * 255).astype(np.uint8)  # black strokes on a transparent background
    _save_png(tmp_path / "clear.png", np.zeros(ink.shape, np.uint8), alpha=alpha)
    gray = read_image_file(tmp_path / "clear.png")
    assert np.median(gray) == pytest.approx(1.0)  # laid over white paper
    np.testing.assert_allclose(to_mnist(gray), to_mnist(ink), atol=0.02)


def test_read_image_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.png: no such image file"):
        read_image_file(tmp_path / "missing.png")
    (tmp_path / "notes.png").write_text("not really a png")
    with pytest.raises(ValueError, match=r"notes\.png: cannot read this file as an image.*png"):
        read_image_file(tmp_path / "notes.png")


def test_read_image_file_works_headless_without_qapplication(tmp_path):
    ink = SHAPES["small-zero"]()
    _save_png(tmp_path / "zero.png", np.rint(ink * 255).astype(np.uint8))
    code = (
        "import sys; from digitlab.data import read_image_file, to_mnist\n"
        "from PySide6.QtCore import QCoreApplication\n"
        f"g = read_image_file({str(tmp_path / 'zero.png')!r})\n"
        "assert QCoreApplication.instance() is None\n"
        "assert to_mnist(g) is not None\n"
        "print(g.shape)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(280, 280)"


def test_digitlab_data_does_not_import_qt():
    code = (
        "import sys, numpy as np, digitlab.data as d\n"
        "d.to_mnist(np.eye(50)); d.prepare_splits(d.load_dataset(), train_subset=10)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
