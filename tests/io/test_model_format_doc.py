"""docs/model-format.md's table of arrays is the network's walk over its arrays, so they cannot drift."""

from pathlib import Path

import h5py
import numpy as np

from digitlab.io import SavedModel, named_arrays, save_model
from digitlab.nn import Network

DOC = Path(__file__).resolve().parents[2] / "docs" / "model-format.md"
HEADER = "| HDF5 dataset | export name | shape | what it holds |"
EXAMPLE = {"layer_sizes": (784, 20, 7, 5, 10), "batch_norm": True}    # the report's BN network


def table_from_walk(network: Network) -> str:
    """The Markdown table of every array of ``network``, one row per record of its walk."""
    lines = [HEADER, "|---|---|---|---|"]
    for a in network.arrays():
        lines.append(f"| `/layers/{a.layer}/{a.kind}` | `{a.name}` | `{a.shape}` | {a.description} |")
    return "\n".join(lines)


def table_in_doc() -> str:
    text = DOC.read_text(encoding="utf-8")
    assert text.count(HEADER) == 1, f"{DOC} must hold the arrays table once, under the header {HEADER}"
    rest = text[text.index(HEADER):]
    return rest[:rest.index("\n\n")]


def test_doc_table_is_the_walk():
    expected = table_from_walk(Network(**EXAMPLE))
    assert table_in_doc() == expected, f"docs/model-format.md's arrays table should read:\n{expected}"


def test_doc_table_names_what_save_and_export_write(tmp_path, result_bn):
    """The walk the table comes from is what the files hold: every HDF5 dataset and export name."""
    network = Network(**EXAMPLE, seed=5)
    model = SavedModel(network=network, config=result_bn.config.replace(**EXAMPLE))
    path = save_model(tmp_path / "m.h5", model)
    with h5py.File(path, "r") as f:
        stored = []
        f["layers"].visititems(lambda name, obj: stored.append(f"/layers/{name}")
                               if isinstance(obj, h5py.Dataset) else None)
        for a in network.arrays():
            assert np.array_equal(f[f"layers/{a.layer}/{a.kind}"][()], a.array), a.name
    walk = [f"/layers/{a.layer}/{a.kind}" for a in network.arrays()]
    assert sorted(stored) == sorted(walk) and len(walk) == 4 * 2 + 3 * 4
    assert list(named_arrays(network)) == [a.name for a in network.arrays()]
    rows = table_in_doc().splitlines()[2:]
    assert [r.split(" | ")[0].strip("| `") for r in rows] == walk

