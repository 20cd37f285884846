"""The package's shape: imports point down, and the bundled files are found from a wheel too."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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
