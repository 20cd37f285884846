"""The package's shape: imports point down, the bundled files are found from a wheel too, and a
wheel installed into a fresh virtual environment runs."""

import email.parser
import os
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digitlab.desktop_entry import ICON_SIZES

ROOT = Path(__file__).resolve().parents[1]


def test_nothing_below_the_gui_imports_qt():
    code = (
        "import sys\n"
        "import digitlab.nn, digitlab.data, digitlab.training, digitlab.io, digitlab.library, digitlab.cli\n"
        "from digitlab.data import load_dataset, prepare_splits, to_mnist\n"
        "from digitlab.training import train, EXPERIMENTS\n"
        "splits = prepare_splits(load_dataset(), train_subset=500)\n"
        "train(EXPERIMENTS[1][1].replace(max_epochs=1), splits)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"Qt was imported by the core: {out.stdout}"


def test_resources_and_models_are_found_from_a_source_checkout():
    from digitlab.paths import bundled_models_dir, resources_dir
    assert resources_dir() == ROOT / "resources"
    assert bundled_models_dir() == ROOT / "models"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True)
    return next(out.glob("digitlab-*.whl"))


def test_the_wheel_ships_mnist_and_the_models(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "README.md"):
        assert f"digitlab/resources/mnist/{f}" in names
    shipped = {p.name for p in (ROOT / "models").glob("*.h5")}
    assert shipped <= {n.rsplit("/", 1)[-1] for n in names if n.startswith("digitlab/models/")}


def test_an_installed_wheel_finds_its_data_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:       # a wheel is a zip laid out as site-packages
        z.extractall(target)
    code = (
        "import digitlab.paths as p\n"
        "from digitlab.data import load_dataset\n"
        "print(p.resources_dir()); print(p.bundled_models_dir()); print(len(load_dataset().train_labels))\n"
    )
    out = subprocess.run([sys.executable, "-I", "-c",
                          f"import sys; sys.path.insert(0, {str(target)!r})\n" + code],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    resources, models, n = out.stdout.split()
    assert Path(resources) == target / "digitlab" / "resources"
    assert Path(models) == target / "digitlab" / "models"
    assert n == "60000"


def test_the_wheel_ships_the_licences_the_icons_and_the_desktop_entry(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    licenses = {n.split("/licenses/", 1)[1] for n in names if ".dist-info/licenses/" in n}
    assert licenses == {"LICENSE", "resources/mnist/NOTICE"}
    assert "digitlab/resources/mnist/NOTICE" in names            # beside the data it is about
    assert "digitlab/resources/digitlab.desktop" in names
    assert "digitlab/resources/icons/digitlab.svg" in names
    assert {f"digitlab/resources/icons/digitlab-{s}.png" for s in ICON_SIZES} <= names
    with zipfile.ZipFile(wheel) as z:
        assert z.read("digitlab/resources/mnist/NOTICE") == (ROOT / "resources/mnist/NOTICE").read_bytes()
        licence = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert z.read(licence) == (ROOT / "LICENSE").read_bytes()


def test_the_wheel_metadata_names_the_licences_and_classifies_the_project(wheel):
    with zipfile.ZipFile(wheel) as z:
        text = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    meta = email.parser.Parser().parsestr(text, headersonly=True)
    assert meta["Metadata-Version"] in ("2.4", "2.5")
    assert meta["License-Expression"] == "MIT AND CC-BY-SA-3.0"
    assert sorted(meta.get_all("License-File")) == ["LICENSE", "resources/mnist/NOTICE"]
    classifiers = meta.get_all("Classifier")
    assert "Intended Audience :: Education" in classifiers
    assert "Topic :: Scientific/Engineering :: Artificial Intelligence" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]    # the expression says it
    assert "MNIST" in meta["Keywords"].split(",")
    assert any(u.startswith("MNIST database, http") for u in meta.get_all("Project-URL"))


# ---------------------------------------------------------------------------- a fresh install
def _mnist_test_digits_as_pgm(folder: Path, count: int) -> list[tuple[Path, int]]:
    """The first ``count`` MNIST test digits as binary PGM files (a format Qt reads), with labels."""
    from digitlab.data import load_dataset

    data = load_dataset()
    files = []
    for i in range(count):
        path = folder / f"mnist-test-{i}.pgm"
        path.write_bytes(b"P5 28 28 255\n" + np.ascontiguousarray(data.test_images[i], np.uint8).tobytes())
        files.append((path, int(data.test_labels[i])))
    return files


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed (no network: pip gets no index, and the dependencies
    are this interpreter's, made visible by a .pth file rather than installed again)."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True)
    venv_site = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                               check=True, capture_output=True, text=True).stdout.strip()
    ours = [*site.getsitepackages(), site.getusersitepackages()]
    # plain path lines: .pth files in those folders (this checkout's editable install) are not run
    (Path(venv_site) / "_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    return venv, Path(venv_site)


def _run(venv: Path, tmp_path: Path, *command: str, **env: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, DIGITLAB_HOME=str(tmp_path / "home"), DIGITLAB_SETTINGS=str(tmp_path / "s.ini"),
               XDG_DATA_HOME=str(tmp_path / "share"), **env)
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(venv / "bin" / command[0]), *command[1:]], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=180)


@pytest.mark.slow
def test_the_installed_wheel_predicts_runs_the_app_and_installs_its_desktop_entry(installed, tmp_path):
    venv, venv_site = installed
    where = _run(venv, tmp_path, "python", "-c", "import digitlab.paths as p; print(p.resources_dir())")
    assert Path(where.stdout.strip()) == venv_site / "digitlab" / "resources", where.stderr

    digits = _mnist_test_digits_as_pgm(tmp_path, 5)
    out = _run(venv, tmp_path, "digitlab", "predict", "best", *(str(p) for p, _ in digits))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [line.split(": ", 1)[1].split()[0] for line in lines] == [str(label) for _, label in digits]

    app = _run(venv, tmp_path, "digitlab-app", QT_QPA_PLATFORM="offscreen", DIGITLAB_STARTUP_PROBE="1")
    assert app.returncode == 0, app.stderr[-2000:]
    stamps = [line.split()[1] for line in app.stdout.splitlines() if line.startswith("startup-probe ")]
    assert stamps == ["window-painted", "first-prediction"]

    helped = _run(venv, tmp_path, "digitlab-app", "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: digitlab-app ")
    assert "--install-desktop-entry" in helped.stdout

    entry = _run(venv, tmp_path, "digitlab-app", "--install-desktop-entry")
    assert entry.returncode == 0, entry.stderr
    desktop = (tmp_path / "share" / "applications" / "digitlab.desktop").read_text()
    assert f"Exec={venv / 'bin' / 'digitlab-app'}\n" in desktop
    icon = tmp_path / "share" / "icons" / "hicolor" / "48x48" / "apps" / "digitlab.png"
    shipped = venv_site / "digitlab" / "resources" / "icons" / "digitlab-48.png"
    assert icon.read_bytes() == shipped.read_bytes()
