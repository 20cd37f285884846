"""The personal set file: a labelled drawing round-trips with its strokes, and a file from a
stranger is refused with a sentence before anything large is read or anything unpickled."""

import io
import os
import zipfile

import numpy as np
import pytest

import digitlab.atomic as atomic
from digitlab.data.personal import (
    FORMAT_VERSION,
    MAX_POINTS,
    MAX_SAMPLES,
    PersonalSet,
    PersonalSetError,
    default_personal_set_path,
    load_personal_set,
    save_personal_set,
)
from digitlab.data.strokes import Drawing, Stroke, drawing_to_mnist_steps


def _stroke(points, width=31.0, erase=False, pressures=None):
    points = np.asarray(points, np.float64)
    return Stroke(points, np.ones(len(points)) if pressures is None else pressures, width, erase)


def _drawing():
    """Two pen strokes and an eraser stroke on a 448-pixel canvas, as the canvas records them."""
    return Drawing(448, (
        _stroke([[100.5, 80.25], [120.0, 200.0], [130.0, 300.0]], 31.36),
        _stroke([[90.0, 90.0]], 31.36, pressures=np.array([0.4])),
        _stroke([[110.0, 150.0], [112.0, 151.0]], 47.04, erase=True)))


def _example_set():
    rng = np.random.default_rng(5)
    s = PersonalSet()
    s.add(rng.random((28, 28), dtype=np.float32), 3, _drawing())
    s.add(np.zeros(784), 7)                           # a loaded image: no strokes
    s.add(rng.integers(0, 256, (28, 28), dtype=np.uint8), 0, _drawing())
    return s


def test_a_set_round_trips_with_its_strokes(tmp_path):
    s = _example_set()
    path = save_personal_set(tmp_path / "mine.npz", s)
    back = load_personal_set(path)
    np.testing.assert_array_equal(back.x, s.x)
    assert back.x.dtype == np.uint8 and back.y.dtype == np.int64
    assert back.y.tolist() == [3, 7, 0]
    assert back.counts().tolist() == [1, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    assert back.drawings[1] is None
    for i in (0, 2):
        d = back.drawings[i]
        assert d.side == 448.0
        assert [len(st.points) for st in d.strokes] == [3, 1, 2]
        assert [st.erase for st in d.strokes] == [False, False, True]
        assert [st.width for st in d.strokes] == [31.36, 31.36, 47.04]
        np.testing.assert_array_equal(d.strokes[0].points, [[100.5, 80.25], [120.0, 200.0], [130.0, 300.0]])
        np.testing.assert_allclose(d.strokes[1].pressures, [0.4], rtol=1e-6)
    # the stored strokes are the drawing: they convert to the same network input as the original
    again = drawing_to_mnist_steps(back.drawings[0])["centred"]
    np.testing.assert_allclose(again, drawing_to_mnist_steps(_drawing())["centred"], atol=1e-6)
    assert again.max() > 0.5
    # the file is plain NumPy: the documented keys and dtypes, readable without digitlab
    with np.load(path, allow_pickle=False) as raw:
        assert sorted(raw.files) == ["canvas_side", "format_version", "stroke_info", "stroke_points",
                                     "x", "y"]
        assert raw["x"].shape == (3, 28, 28) and raw["x"].dtype == np.uint8
        assert raw["stroke_info"].shape == (6, 4) and raw["stroke_points"].shape == (12, 3)
        assert raw["stroke_info"][:, 0].tolist() == [0, 0, 0, 2, 2, 2]
        assert raw["stroke_info"][:, 1].tolist() == [0, 3, 4, 6, 9, 10]
        assert raw["canvas_side"].tolist() == [448.0, 0.0, 448.0]
        assert int(raw["format_version"]) == FORMAT_VERSION


def test_a_drawing_over_a_loaded_image_is_kept_without_strokes():
    s = PersonalSet()
    over_image = Drawing(448, _drawing().strokes, raster=np.zeros((448, 448), np.float32))
    s.add(np.zeros((28, 28)), 2, over_image)
    assert s.drawings == [None]
    with pytest.raises(PersonalSetError, match=r"the strokes to add are a list, not a Drawing"):
        s.add(np.zeros((28, 28)), 2, [])
    assert len(s) == 1


def test_x_is_the_network_input_times_255_rounded():
    x = np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28)
    s = PersonalSet()
    s.add(x, 5)
    np.testing.assert_array_equal(s.x[0], np.rint(x.astype(np.float64) * 255).astype(np.uint8))
    assert s.x[0, 0, 0] == 0 and s.x[0, -1, -1] == 255
    np.testing.assert_allclose(s.inputs()[0], x.reshape(784), atol=0.5 / 255 + 1e-7)


def test_relabel_remove_and_insert_back(tmp_path):
    s = _example_set()
    s.relabel(1, 9)
    assert s.y.tolist() == [3, 9, 0]
    x0, label, drawing = s.remove(0)
    assert label == 3 and len(drawing.strokes) == 3 and s.y.tolist() == [9, 0]
    s.insert(0, x0, label, drawing)                   # undo
    np.testing.assert_array_equal(s.x, _example_set().x)
    path = save_personal_set(tmp_path / "m.npz", s)
    assert load_personal_set(path).y.tolist() == [3, 9, 0]
    with pytest.raises(PersonalSetError, match=r"the label is 11; expected a digit 0\.\.9"):
        s.relabel(0, 11)
    with pytest.raises(IndexError, match=r"no digit 3 in the set: it holds 3"):
        s.remove(3)
    with pytest.raises(PersonalSetError, match=r"the digit to add has shape \(20, 20\)"):
        s.add(np.zeros((20, 20)), 1)
    with pytest.raises(PersonalSetError, match=r"the digit to add holds NaN"):
        s.add(np.full((28, 28), np.nan), 1)
    assert s.y.tolist() == [3, 9, 0]                  # refused changes leave the set as it was


def test_a_plain_keras_npz_with_x_and_y_loads_without_strokes(tmp_path):
    path = tmp_path / "keras.npz"
    np.savez(path, x=np.full((4, 28, 28), 9, np.uint8), y=np.array([1, 2, 3, 4], np.uint8))
    s = load_personal_set(path)
    assert s.y.tolist() == [1, 2, 3, 4] and s.y.dtype == np.int64
    assert s.drawings == [None] * 4 and int(s.x.sum()) == 4 * 784 * 9


def test_a_missing_file_is_an_empty_set_only_when_asked(tmp_path):
    assert len(load_personal_set(tmp_path / "none.npz", missing_ok=True)) == 0
    with pytest.raises(PersonalSetError, match=r"none\.npz: no such file"):
        load_personal_set(tmp_path / "none.npz")


def test_default_path_is_in_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOME", str(tmp_path / "home"))
    assert default_personal_set_path() == tmp_path / "home" / "my-digits.npz"


# ------------------------------------------------------------------------ files from strangers
def _npy(array) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=True)
    return buf.getvalue()


def _npy_header(shape, dtype="|u1") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _write(path, **members):
    good = {k: v for k, v in np.load(_saved_example(path.parent)).items()}
    good.update(members)
    with zipfile.ZipFile(path, "w") as zf:
        for key, value in good.items():
            if value is not None:
                zf.writestr(key + ".npy", value if isinstance(value, bytes) else _npy(value))
    return path


def _saved_example(folder):
    path = folder / "example.npz"
    if not path.exists():
        save_personal_set(path, _example_set())
    return path


class _Tripwire:
    """Unpickling this creates a folder: the proof that a pickle was (or was not) executed."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_pickled_object_arrays_are_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    objects = np.empty(3, dtype=object)
    objects[:] = [_Tripwire(marker)] * 3
    path = _write(tmp_path / "pickled.npz", y=objects)
    with pytest.raises(PersonalSetError, match=r"pickled\.npz: member y\.npy holds Python objects "
                                               r"\(dtype object\), which would have to be unpickled"):
        load_personal_set(path)
    assert not marker.exists()


@pytest.mark.parametrize("key, value, message", [
    ("x", np.zeros((3, 784), np.uint8), r"member x\.npy has shape \(3, 784\); expected \(N, 28, 28\)"),
    ("x", np.zeros((3, 28, 28), np.float32),
     r"member x\.npy has dtype float32; expected integers 0\.\.255"),
    ("y", np.eye(3, 10, dtype=np.int64), r"member y\.npy has shape \(3, 10\); expected \(N,\)"),
    ("stroke_points", np.zeros((12, 2), np.float32),
     r"stroke_points\.npy has shape \(12, 2\); expected \(N, 3\)"),
    ("y", np.array([3, 11, 0]),
     r"labels range over 0\.\.11 \(1 outside 0\.\.9, e\.g\. 11\); a label is a digit"),
    ("y", np.array([3, 7]), r"3 images but 2 labels"),
    ("x", np.full((3, 28, 28), 300, np.int64), r"pixels range over 300\.\.300, outside 0\.\.255"),
    ("format_version", np.array(2, np.int64),
     r"format version 2; this digitlab reads versions 1\.\.1, update"),
    ("stroke_info", np.array([[0, 0, 31, 0], [0, 3, 31, 0], [0, 2, 31, 0], [2, 6, 31, 0], [2, 9, 31, 0],
                              [2, 10, 31, 1]], np.float64), r"first points must start at 0 and rise"),
    ("stroke_info", np.array([[0, 0, 31, 0], [0, 3, 31, 0], [0, 4, 31, 0], [2, 6, 31, 0], [2, 9, 31, 0],
                              [5, 10, 31, 1]], np.float64), r"sample indices must be whole numbers 0\.\.2"),
    ("canvas_side", np.array([448.0, 0.0, 0.0]), r"a sample with strokes has no canvas side"),
    ("canvas_side", None, r"has stroke_info, stroke_points but not canvas_side; the strokes are incomplete"),
])
def test_wrong_shapes_dtypes_and_values_are_refused_with_what_is_wrong(tmp_path, key, value, message):
    path = _write(tmp_path / "bad.npz", **{key: value})
    with pytest.raises(PersonalSetError, match=r"bad\.npz: .*" + message):
        load_personal_set(path)


def test_nan_in_strokes_is_refused(tmp_path):
    points = np.load(_saved_example(tmp_path))["stroke_points"].copy()
    points[4, 1] = np.nan
    path = _write(tmp_path / "nan.npz", stroke_points=points)
    with pytest.raises(PersonalSetError, match=r"nan\.npz: stroke points hold NaN or infinite values"):
        load_personal_set(path)
    info = np.load(_saved_example(tmp_path))["stroke_info"].copy()
    info[1, 2] = np.inf
    with pytest.raises(PersonalSetError, match=r"stroke_info holds NaN or infinite values"):
        load_personal_set(_write(tmp_path / "inf.npz", stroke_info=info))


def test_huge_declared_sizes_are_refused_from_the_header(tmp_path):
    path = _write(tmp_path / "huge.npz", x=_npy_header((10**9, 28, 28)))
    with pytest.raises(PersonalSetError, match=r"huge\.npz: member x\.npy declares 1,000,000,000 rows, "
                                               r"more than the 100,000 digitlab reads"):
        load_personal_set(path)
    assert MAX_SAMPLES == 100_000
    path = _write(tmp_path / "points.npz", stroke_points=_npy_header((MAX_POINTS + 1, 3), "<f4"))
    with pytest.raises(PersonalSetError, match=r"member stroke_points\.npy declares 5,000,001 rows"):
        load_personal_set(path)
    # under the caps, but the entry does not hold what its header promises
    path = _write(tmp_path / "short.npz", y=_npy_header((90_000,), "<i8"))
    with pytest.raises(PersonalSetError, match=r"member y\.npy is a zip entry of 128 bytes but its header "
                                               r"declares shape \(90000,\) of int64"):
        load_personal_set(path)


def test_other_files_are_refused_with_a_sentence(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file")
    with pytest.raises(PersonalSetError,
                       match=r"junk\.npz: not a readable \.npz file .*; choose a personal set"):
        load_personal_set(junk)
    keras = tmp_path / "mnist.npz"
    np.savez(keras, x_train=np.zeros((2, 28, 28), np.uint8), y_train=np.zeros(2, np.uint8))
    with pytest.raises(PersonalSetError, match=r"missing the arrays x and y \(found: x_train, y_train\).*"
                                               r"open it as a dataset"):
        load_personal_set(keras)
    with pytest.raises(PersonalSetError, match=r"member x\.npy is not a readable \.npy array"):
        load_personal_set(_write(tmp_path / "damaged.npz", x=b"not an array"))


def test_a_failed_save_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = save_personal_set(tmp_path / "mine.npz", _example_set())
    before = path.read_bytes()
    bigger = _example_set()
    bigger.add(np.ones((28, 28)), 4)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(atomic.OutputError, match=r"mine\.npz: the disk is full"):
        save_personal_set(path, bigger)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_personal_set(path).y.tolist() == [3, 7, 0]
    assert [p.name for p in tmp_path.iterdir()] == ["mine.npz"]      # no temp file left behind
