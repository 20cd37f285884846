"""Model files built to hurt: each one is refused with a ModelFileError naming the problem.

Every file is made here with h5py from a genuine saved model, then changed in one way: storage or
links that point outside the file, datasets never written, unknown filters, declared sizes far
beyond the limits (loaded in a subprocess under a 1 GiB address-space limit), FIFOs and devices,
impossible batch-norm constants, flags that disagree with the arrays, huge strings.
"""

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest

from digitlab.atomic import OutputExistsError
from digitlab.io import ModelFileError, check_model_file, load_model, model_file, read_model_info, save_model

ROOT = Path(__file__).resolve().parents[2]
SECRET = b"root:x:0:0:TOP-SECRET-4f1c9e:/root:/bin/bash\n" * 4     # 184 bytes, >= 80 needed


def _model(tmp_path, result, edit=None, name="hostile.h5") -> Path:
    path = save_model(tmp_path / name, result)
    if edit is not None:
        with h5py.File(path, "r+") as f:
            edit(f)
    return path


def _refused(path, phrase, *, loader=load_model) -> str:
    with pytest.raises(ModelFileError, match=phrase) as info:
        loader(path)
    text = str(info.value)
    assert str(path) in text and "; " in text, text       # names the file and what to do
    return text


def _replace_dataset(f, where, **kwargs):
    """Swap the dataset at ``where`` for one made with ``create_dataset(**kwargs)``."""
    group, _, name = where.rpartition("/")
    del f[where]
    return f[group or "/"].create_dataset(name, **kwargs)


# ---------------------------------------------------------------------------- outside the file
def test_external_storage_pointing_at_a_secret_is_refused_and_not_leaked(tmp_path, result_bn):
    secret = tmp_path / "passwd"
    secret.write_bytes(SECRET)
    path = _model(tmp_path, result_bn, lambda f: _replace_dataset(
        f, "layers/1/b", shape=(20,), dtype=np.float32, external=[(str(secret), 0, 80)]))
    with h5py.File(path, "r") as f:           # the attack works on a plain reader
        assert f["layers/1/b"][()].tobytes() == SECRET[:80]
    for loader in (load_model, check_model_file):
        text = _refused(path, r"layer 1 bias b keeps its values outside the model file "
                              r"\(HDF5 external storage in .*passwd\)", loader=loader)
        assert "TOP-SECRET" not in text and "root:x" not in text


def test_dev_zero_as_external_storage(tmp_path, result_plain):
    path = _model(tmp_path, result_plain, lambda f: _replace_dataset(
        f, "layers/2/W", shape=(20, 7), dtype=np.float32, external=[("/dev/zero", 0, 560)]))
    _refused(path, r"layer 2 weight W keeps its values outside the model file .*/dev/zero")


def test_fifo_as_external_storage_does_not_block(tmp_path, result_plain):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    path = _model(tmp_path, result_plain, lambda f: _replace_dataset(
        f, "layers/4/b", shape=(10,), dtype=np.float32, external=[(str(fifo), 0, 40)]))
    _within_a_second(lambda: _refused(path, r"layer 4 bias b keeps its values outside"))


def _external_layers(f, other):
    del f["layers"]
    f["layers"] = h5py.ExternalLink(str(other), "/layers")


def test_external_link_at_layers(tmp_path, result_plain, result_bn):
    other = _model(tmp_path, result_bn, name="other.h5")
    path = _model(tmp_path, result_plain, lambda f: _external_layers(f, other))
    for loader in (load_model, read_model_info):           # the listing sees it too
        _refused(path, r"/layers is an external link to .*other\.h5:/layers, so its contents "
                       r"would come from another file", loader=loader)


def test_external_link_at_a_weight(tmp_path, result_plain):
    other = _model(tmp_path, result_plain, name="other.h5")

    def link(f):
        del f["layers/3/W"]
        f["layers/3/W"] = h5py.ExternalLink(str(other), "/layers/3/W")
    _refused(_model(tmp_path, result_plain, link),
             r"layer 3 weight W \(/layers/3/W\) is an external link to .*other\.h5")


def test_soft_link_at_layers_and_at_a_weight(tmp_path, result_plain):
    def alias_layers(f):
        f.move("layers", "real_layers")
        f["layers"] = h5py.SoftLink("/real_layers")
    _refused(_model(tmp_path, result_plain, alias_layers, "a.h5"),
             r"/layers is a soft link to /real_layers, which digitlab never writes")

    def alias_weight(f):
        f.move("layers/1/b", "spare_b")
        f["layers/1/b"] = h5py.SoftLink("/spare_b")
    _refused(_model(tmp_path, result_plain, alias_weight, "b.h5"),
             r"layer 1 bias b \(/layers/1/b\) is a soft link to /spare_b")


@pytest.mark.parametrize("source_exists", [False, True])
def test_virtual_dataset(tmp_path, result_plain, source_exists):
    source = tmp_path / "source.h5"
    if source_exists:
        with h5py.File(source, "w") as s:
            s["data"] = np.full(10, 0.5, np.float32)

    def virtual(f):
        del f["layers/4/b"]
        layout = h5py.VirtualLayout(shape=(10,), dtype=np.float32)
        layout[:] = h5py.VirtualSource(str(source), "data", shape=(10,))
        f["layers/4"].create_virtual_dataset("b", layout, fillvalue=0)
    path = _model(tmp_path, result_plain, virtual)
    _refused(path, r"layer 4 bias b is a virtual dataset")


# ---------------------------------------------------------------------------- storage
@pytest.mark.parametrize("chunked", [False, True])
def test_dataset_never_written(tmp_path, result_plain, chunked):
    extra = {"chunks": (196, 10), "fletcher32": True} if chunked else {}
    path = _model(tmp_path, result_plain, lambda f: _replace_dataset(
        f, "layers/1/W", shape=(784, 20), dtype=np.float32, **extra))
    with h5py.File(path, "r") as f:
        assert not f["layers/1/W"][()].any()          # a plain reader gets zeros
    _refused(path, r"layer 1 weight W was never completely written .* would read as zeros")


def test_partly_written_chunked_dataset(tmp_path, result_plain):
    def half(f):
        ds = _replace_dataset(f, "layers/1/W", shape=(784, 20), dtype=np.float32,
                              chunks=(196, 10), fletcher32=True)
        ds[:392] = 0.25                                 # 4 of the 8 chunks
    _refused(_model(tmp_path, result_plain, half), r"layer 1 weight W was never completely written")


def test_unknown_filter_is_refused_by_number(tmp_path, result_plain):
    def filtered(f):
        data = f["layers/4/b"][()]
        _replace_dataset(f, "layers/4/b", data=data, chunks=(10,), compression=32999,
                         allow_unknown_filter=True)
    _refused(_model(tmp_path, result_plain, filtered),
             r"layer 4 bias b is stored through HDF5 filter 32999 \(unknown\); digitlab writes "
             r"only the Fletcher-32")


def test_deflate_is_refused(tmp_path, result_plain):
    def deflated(f):
        data = f["layers/2/W"][()]
        _replace_dataset(f, "layers/2/W", data=data, compression="gzip")
    _refused(_model(tmp_path, result_plain, deflated), r"layer 2 weight W is stored through HDF5 "
                                                       r"filter 1 \(deflate\)")


def test_big_endian_or_integer_weights(tmp_path, result_plain):
    def ints(f):
        _replace_dataset(f, "layers/4/b", data=np.arange(10, dtype=np.int32))
    _refused(_model(tmp_path, result_plain, ints, "i.h5"),
             r"layer 4 bias b is stored as int32, not as float32 numbers")

    def big_endian(f):          # same values, other byte order: HDF5 converts, values identical
        _replace_dataset(f, "layers/4/b", data=f["layers/4/b"][()].astype(">f4"))
    m = load_model(_model(tmp_path, result_plain, big_endian, "be.h5"))
    assert np.array_equal(m.network.biases[3], result_plain.network.biases[3])


# ---------------------------------------------------------------------------- declared sizes
_CHILD = textwrap.dedent("""
    import resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from digitlab.io import ModelFileError, load_model
    start = time.perf_counter()
    try:
        load_model(sys.argv[1])
    except ModelFileError as e:
        print(f"{time.perf_counter() - start:.3f}")
        print(e)
        sys.exit(3)
    sys.exit(0)
""")


def _load_in_small_process(path) -> tuple[float, str]:
    """Load under a 1 GiB address-space limit; returns (seconds, message) of the refusal."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env=env)
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    seconds, message = proc.stdout.split("\n", 1)
    return float(seconds), message.strip()


def test_history_declaring_a_hundred_million_rows(tmp_path, result_plain):
    def huge(f):
        columns = f["history"].attrs["columns"]
        ds = _replace_dataset(f, "history", shape=(10**8, 7), dtype=np.float64, chunks=(1000, 7))
        ds.attrs["columns"] = columns
        ds[:5] = 1.0
        del f["training_state"]                        # a smaller file: the weights alone
    path = _model(tmp_path, result_plain, huge)
    assert path.stat().st_size < 200_000                # 5.6 GB declared in a tiny file
    seconds, message = _load_in_small_process(path)
    assert "the history declares 100,000,000 rows, more than the 1,000,000" in message
    assert seconds < 1.0


@pytest.mark.parametrize("hidden", [10**9, 100_000])
def test_huge_layer_sizes_are_refused_before_allocation(tmp_path, result_plain, hidden):
    def grow(f):
        for group in ("layers", "config"):
            f[group].attrs["layer_sizes"] = np.array([784, hidden, 10], np.int64)
        f["layers"].attrs["n_layers"] = 2
    seconds, message = _load_in_small_process(_model(tmp_path, result_plain, grow))
    assert f"a hidden layer has at most 10000 units, got {hidden}" in message
    assert seconds < 1.0


def test_layers_attribute_alone_too_big(tmp_path, result_plain):
    def grow(f):
        f["layers"].attrs["layer_sizes"] = np.array([784, 10**9, 10], np.int64)
    _refused(_model(tmp_path, result_plain, grow),
             r"its layer sizes \(784, 1000000000, 10\) cannot be a digitlab network \(a hidden "
             r"layer has at most 10000 units")


@pytest.mark.parametrize("sizes, phrase", [
    ([783, 20, 7, 5, 10], "the input layer must have 784 units"),
    ([784, 20, 3], "the output layer must have 10 units"),
])
def test_networks_digitlab_cannot_use(tmp_path, result_plain, sizes, phrase):
    def change(f):
        for group in ("layers", "config"):
            f[group].attrs["layer_sizes"] = np.array(sizes, np.int64)
    _refused(_model(tmp_path, result_plain, change), phrase)


def test_attribute_with_thousands_of_values(tmp_path, result_plain):
    def many(f):
        f["layers"].attrs["layer_sizes"] = np.arange(5000, dtype=np.int64)   # HDF5 caps one at 64 KB
    _refused(_model(tmp_path, result_plain, many),
             r"the layer_sizes attribute of /layers holds 5,000 values, more than any digitlab "
             r"model has \(64\)")


def test_file_bigger_than_the_cap(tmp_path):
    big = tmp_path / "big.h5"
    with open(big, "wb") as fh:                       # sparse: costs no disk
        fh.truncate(model_file.MAX_FILE_BYTES + 1)
    _refused(big, r"it is 256 MiB, more than the 256 MiB of the largest network")


# ---------------------------------------------------------------------------- special files
def _within_a_second(action):
    done, box = threading.Event(), {}

    def run():
        try:
            box["value"] = action()
        except BaseException as e:       # handed to the test thread
            box["error"] = e
        done.set()
    threading.Thread(target=run, daemon=True).start()
    assert done.wait(1.0), "blocked for more than a second"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_fifo_as_model_path(tmp_path):
    fifo = tmp_path / "model.h5"
    os.mkfifo(fifo)
    for loader in (load_model, read_model_info):
        _within_a_second(lambda: _refused(fifo, r"it is a FIFO \(named pipe\), not a regular file",
                                          loader=loader))


def test_device_as_model_path():
    _refused(Path("/dev/null"), r"it is a character device, not a regular file")


# ---------------------------------------------------------------------------- values
@pytest.mark.parametrize("eps, phrase", [
    (np.nan, r"the bn_eps attribute of /layers is nan, not a finite number"),
    (np.inf, r"the bn_eps attribute of /layers is inf, not a finite number"),
    (-1e-5, r"bn_eps is -1e-05; batch norm divides by sqrt\(running_var \+ bn_eps\), so it must "
            r"be > 0"),
    (0.0, r"bn_eps is 0.0; .* must be > 0"),
    (2.0, r"bn_eps is 2.0; .* at most 1"),
])
def test_impossible_bn_eps(tmp_path, result_bn, eps, phrase):
    def change(f):
        f["layers"].attrs["bn_eps"] = eps
    _refused(_model(tmp_path, result_bn, change), phrase)


@pytest.mark.parametrize("value, phrase", [
    (-0.5, r"layer 2 running_var has negative variances"),
    (np.nan, r"layer 2 running_var contains 1 non-finite value \(NaN or infinity\)"),
])
def test_impossible_running_var(tmp_path, result_bn, value, phrase):
    def change(f):
        data = f["layers/2/running_var"][()]
        data[3] = value
        f["layers/2/running_var"][...] = data
    _refused(_model(tmp_path, result_bn, change), phrase)


def test_zero_variance_with_a_vanishing_eps(tmp_path, result_bn):
    def change(f):
        f["layers"].attrs["bn_eps"] = 1e-300          # > 0, but 0 in float32
        f["layers/1/running_var"][...] = np.zeros(20, np.float32)
    _refused(_model(tmp_path, result_bn, change),
             r"layer 1's batch-norm scale gamma / sqrt\(running_var \+ bn_eps\) reaches inf")


def test_weights_of_3e38(tmp_path, result_plain):
    def change(f):
        data = f["layers/2/W"][()]
        data[0, :3] = 3e38
        f["layers/2/W"][...] = data
    _refused(_model(tmp_path, result_plain, change),
             r"layer 2 weight W has 3 values beyond \+-1e\+06 \(up to 3e\+38\)")


def test_non_finite_metric(tmp_path, result_plain):
    def change(f):
        f["metrics"].attrs["test_accuracy"] = np.nan
    _refused(_model(tmp_path, result_plain, change), r"the metric test_accuracy is nan, not a "
                                                     r"finite number")


def test_non_finite_history(tmp_path, result_plain):
    def change(f):
        data = f["history"][()]
        data[1, 3] = np.inf
        f["history"][...] = data
    _refused(_model(tmp_path, result_plain, change), r"the history contains 1 non-finite value")


# ---------------------------------------------------------------------------- flags and structure
def test_batch_norm_flag_flipped_on_layers_only(tmp_path, result_bn):
    def flip(f):
        f["layers"].attrs["batch_norm"] = False
    _refused(_model(tmp_path, result_bn, flip),
             r"/layers says batch_norm is false but /config says true; one of them was edited")


def test_batch_norm_flag_flipped_false_with_arrays_present(tmp_path, result_bn):
    def flip(f):
        f["layers"].attrs["batch_norm"] = False
        f["config"].attrs["batch_norm"] = False
    _refused(_model(tmp_path, result_bn, flip),
             r"/layers/1 says batch_norm is true but the network's batch_norm flag makes it false")

    def flip_all(f):
        flip(f)
        for layer in range(1, 5):
            f[f"layers/{layer}"].attrs["batch_norm"] = False
    _refused(_model(tmp_path, result_bn, flip_all, "all.h5"),
             r"layer 1 scale gamma \(/layers/1/gamma\) is present but /layers says batch_norm is "
             r"false")


def test_batch_norm_flag_flipped_true_with_arrays_missing(tmp_path, result_plain):
    def flip(f):
        f["layers"].attrs["batch_norm"] = True
        f["config"].attrs["batch_norm"] = True
        for layer in range(1, 4):
            f[f"layers/{layer}"].attrs["batch_norm"] = True
    _refused(_model(tmp_path, result_plain, flip),
             r"layer 1 scale gamma \(/layers/1/gamma\) is missing \(batch_norm is true")


def test_config_stored_as_a_dataset(tmp_path, result_plain):
    def swap(f):
        del f["config"]
        f["config"] = np.zeros(3)
    path = _model(tmp_path, result_plain, swap)
    for loader in (load_model, read_model_info):
        _refused(path, r"/config is a dataset, not a group", loader=loader)


def test_unknown_activation(tmp_path, result_plain):
    def change(f):
        f["layers"].attrs["hidden_activation"] = "tanh"
    _refused(_model(tmp_path, result_plain, change), r"/layers says hidden_activation is 'tanh'")


def test_extra_layer_group(tmp_path, result_plain):
    def extra(f):
        f["layers"].copy("4", "5")
    _refused(_model(tmp_path, result_plain, extra), r"/layers has a group /layers/5 beyond the 4 "
                                                    r"layers")


def test_fan_in_attribute_disagrees(tmp_path, result_plain):
    def change(f):
        f["layers/2"].attrs["fan_in"] = 21
    _refused(_model(tmp_path, result_plain, change),
             r"/layers/2 says fan_in is 21 but the layer sizes .* say 20")


def test_huge_strings_are_cut(tmp_path, result_plain):
    def change(f):
        f.attrs["name"] = "n" * 50_000_000
        f.attrs["message"] = "m" * 1_000_000
        f["config"].attrs["name"] = "c" * 1_000_000
    m = load_model(_model(tmp_path, result_plain, change))
    assert len(m.name) == model_file.MAX_TEXT_CHARS == 200 and m.name.startswith("nnn")
    assert m.name.endswith("\u2026")
    assert len(m.message) == model_file.MAX_MESSAGE_CHARS
    assert len(m.config.name) == 200
    assert np.array_equal(m.network.weights[0], result_plain.network.weights[0])


def test_read_model_info_reads_no_arrays(tmp_path, result_plain):
    """Listing stays fast: the arrays are not read, so damage in them shows only on loading or
    with check_model_file."""
    def poison(f):
        f["layers/1/W"][0, 0] = np.nan
    path = _model(tmp_path, result_plain, poison)
    info = read_model_info(path)
    assert info["layer_sizes"] == (784, 20, 7, 5, 10) and info["name"] == "plain"
    _refused(path, r"layer 1 weight W contains 1 non-finite value", loader=check_model_file)


def test_check_model_file_on_a_good_file(tmp_path, result_bn):
    path = _model(tmp_path, result_bn)
    info = check_model_file(path)
    assert info == read_model_info(path)
    assert info["batch_norm"] is True and info["metrics"] == result_bn.metrics


# ---------------------------------------------------------------------------- saving
def test_save_without_replace_keeps_the_existing_file(tmp_path, result_plain, result_bn):
    path = _model(tmp_path, result_plain, name="m.h5")
    before = path.read_bytes()
    with pytest.raises(OutputExistsError):
        save_model(path, result_bn, replace=False)
    assert path.read_bytes() == before
    assert save_model(tmp_path / "new.h5", result_bn, replace=False).is_file()


def test_full_disk_is_a_clean_error(tmp_path, result_plain):
    """A write that runs out of room (here: a 20 KB file size limit) is an OutputError."""
    path = _model(tmp_path, result_plain, name="m.h5")
    code = textwrap.dedent(f"""
        import resource, signal, sys
        from digitlab.atomic import OutputError
        from digitlab.io import load_model, save_model
        model = load_model({str(path)!r})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        try:
            save_model({str(tmp_path / 'out.h5')!r}, model)
        except OutputError as e:
            print(e)
            sys.exit(3)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    assert "out.h5" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5"]


def test_saved_bytes_equal_a_file_written_by_hdf5_itself(tmp_path, result_bn, monkeypatch):
    """The in-memory image is the same HDF5 layout as the file writer's: both load identically."""
    path = save_model(tmp_path / "m.h5", result_bn)
    with h5py.File(path, "r") as f:
        assert f["layers/1/W"].fletcher32 and f["history"].fletcher32
        assert list(f) == ["config", "layers", "history", "metrics", "training_state"]  # track_order kept
    assert np.array_equal(load_model(path).network.params, result_bn.network.params)


# ---------------------------------------------------------------------------- HDF5's own traps
# Damage that makes the HDF5 library itself hang, crash or read zeros; found by
# test_model_fuzz.py. Loaded in a subprocess: a regression would hang or kill the process.
def _chunk_entry(path, dataset) -> tuple[int, object]:
    """Where the v1 B-tree holds the address of ``dataset``'s first chunk, and that chunk."""
    with h5py.File(path, "r") as f:
        pieces = []
        f[dataset].id.chunk_iter(pieces.append)
    data = path.read_bytes()
    at = data.find(pieces[0].byte_offset.to_bytes(8, "little"))
    assert at > 0 and data.count(pieces[0].byte_offset.to_bytes(8, "little")) == 1
    return at, pieces[0]


def _patched(path, at, new: bytes, name) -> Path:
    data = bytearray(path.read_bytes())
    data[at:at + len(new)] = new
    out = path.with_name(name)
    out.write_bytes(bytes(data))
    return out


def test_zeroed_global_heap_object_would_hang_hdf5(tmp_path, result_plain):
    path = _model(tmp_path, result_plain)
    heap = path.read_bytes().find(b"GCOL")
    assert heap > 0
    bad = _patched(path, heap + 16 + 16, bytes(64), "heap.h5")    # from the second object on
    seconds, message = _load_in_small_process(bad)
    assert "global heap" in message and "loop forever" in message and seconds < 1


def test_zero_byte_chunk_in_the_index_would_crash_hdf5(tmp_path, result_plain):
    path = _model(tmp_path, result_plain)
    at, _ = _chunk_entry(path, "layers/1/W")
    # v1 B-tree key of a 2-D chunk: size (4), filter mask (4), 3 offsets (24), then the address.
    bad = _patched(path, at - 32, bytes(4), "chunk.h5")
    seconds, message = _load_in_small_process(bad)
    assert "layer 1 weight W has a damaged chunk index" in message


def test_damaged_attribute_type_would_crash_h5py(tmp_path, result_plain):
    path = _model(tmp_path, result_plain)
    data = path.read_bytes()
    at = data.find(b"init\x00\x00\x00\x00\x19\x01\x01")       # variable-length string type
    assert at > 0
    bad = _patched(path, at + 9, b"\x7d", "type.h5")
    seconds, message = _load_in_small_process(bad)
    assert "the init attribute of /layers has an HDF5 type digitlab never writes" in message


def test_damaged_index_key_reads_zeros_in_hdf5_but_the_real_chunk_here(tmp_path, result_plain):
    path = _model(tmp_path, result_plain)
    at, _ = _chunk_entry(path, "layers/4/b")
    bad = _patched(path, at + 8, bytes(24), "key.h5")      # the key after the chunk's address
    with h5py.File(bad, "r") as f:
        assert not f["layers/4/b"][()].any()               # plain HDF5: silently all zeros
    m = load_model(bad)
    assert np.array_equal(m.network.biases[3], result_plain.network.biases[3])
    assert m.network.biases[3].any()


def test_chunk_address_pointing_at_another_array(tmp_path, result_bn):
    path = _model(tmp_path, result_bn)
    at, _ = _chunk_entry(path, "layers/2/gamma")
    _, beta = _chunk_entry(path, "layers/2/beta")            # same size, valid checksum
    bad = _patched(path, at, beta.byte_offset.to_bytes(8, "little"), "alias.h5")
    with h5py.File(bad, "r") as f:
        assert np.array_equal(f["layers/2/gamma"][()], result_bn.network.betas[1])
    _refused(bad, r"claim the same bytes of the file .* a storage address is damaged")
