"""Export a network as an ONNX model: the inference network of docs/model-format.md, for onnxruntime
and every other ONNX runtime.

The graph, layer by layer from 1 (the arrays keep their export names, ``W1``, ``b1``, ``gamma1``...):

* input ``pixels``: ``(batch, 784)`` in the network's dtype (float32 for every model digitlab
  trains), a 28x28 image row by row, white digit on black, scaled to [0, 1] (MNIST's bytes / 255),
  exactly what ``Network.predict_proba`` takes; the batch dimension is dynamic;
* each hidden layer: ``Gemm`` (``A @ W + b``), then ``BatchNormalization`` in inference mode with the
  stored running statistics and ``bn_eps`` (batch norm is kept as its own operator, not folded, so
  the file holds the same arrays as the model file and reads like the docs), then the activation;
* the output layer: ``Gemm`` giving the output ``logits``, then ``Softmax`` over the classes giving
  the output ``probabilities`` ``(batch, 10)``.

The model's settings, metrics and provenance are metadata (``metadata_props``), one entry per value,
each value JSON text: ``layer_sizes``, ``batch_norm``, ``config.l2``, ``metrics.test_accuracy``, ...

The ``onnx`` package is an optional extra (``pip install 'digitlab[onnx]'``) and is imported only
when an export runs, so this module loads without it; a missing package is a
:class:`MissingExtraError` saying how to install it. Never imports Qt.
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from ..nn.activations import LEAKY_SLOPE
from .export import _clean, _extras, _network_info, _unpack, _write_atomic

INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"
LOGITS_NAME = "logits"
BATCH_DIM = "batch"
INPUT_TEXT = ("float (batch, 784): a 28x28 image row by row, white digit on black, scaled to [0, 1] "
              "(MNIST's uint8 pixels / 255)")
OPSET = 17         # Gemm, BatchNormalization, Relu and Softmax(axis) as used here: onnxruntime >= 1.14
IR_VERSION = 8     # opset 17's IR; a newer onnx package would stamp its own, which older runtimes refuse
MISSING_EXTRA = "ONNX export needs the onnx package: pip install 'digitlab[onnx]'"

# digitlab's hidden activation (a key of digitlab.nn.activations.ACTIVATIONS) -> its ONNX operator.
# A test requires an entry for every activation digitlab has.
ONNX_OPS = {"relu": "Relu", "leaky_relu": "LeakyRelu", "tanh": "Tanh", "sigmoid": "Sigmoid"}
# Operator attributes an activation needs: leaky ReLU's slope, written out rather than left to
# ONNX's default (which is also 0.01), so the graph says what digitlab computes.
ONNX_ATTRIBUTES = {"leaky_relu": {"alpha": LEAKY_SLOPE}}


class MissingExtraError(RuntimeError):
    """An optional extra needed for what was asked is not installed; the message says how to get it."""


def _onnx():
    """The ``onnx`` module, or :class:`MissingExtraError` in words."""
    try:
        import onnx
    except ImportError as e:
        if e.name == "onnx":
            raise MissingExtraError(MISSING_EXTRA) from None
        # installed, but something inside it failed: the person needs that reason too
        raise MissingExtraError(f"{MISSING_EXTRA} (it is installed but cannot be imported: {e})") from e
    return onnx


def metadata(network, source=None) -> dict[str, str]:
    """The metadata entries of an export: network shape, input, settings, metrics, provenance."""
    info = {**_network_info(network), "input": INPUT_TEXT, "input_range": [0.0, 1.0],
            "digitlab_version": __version__}
    extras = _extras(source)
    for key, value in extras.items():
        if isinstance(value, dict):                  # config, metrics: one entry per value
            info.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            info[key] = value
    return {key: json.dumps(_clean(value), allow_nan=False) for key, value in info.items()}


def _nodes(network, helper) -> list:
    """Gemm, BatchNormalization and activation per hidden layer; Gemm and Softmax at the output."""
    op = ONNX_OPS.get(network.activation)
    if op is None:
        raise ValueError(f"cannot export to ONNX: the activation {network.activation!r} has no ONNX "
                         f"operator here (known: {', '.join(ONNX_OPS)})")
    nodes, A, last = [], INPUT_NAME, network.n_layers
    for layer in range(1, last + 1):
        Z = LOGITS_NAME if layer == last else f"z{layer}"
        nodes.append(helper.make_node("Gemm", [A, f"W{layer}", f"b{layer}"], [Z], name=f"affine{layer}"))
        if layer == last:
            break
        if network.batch_norm:
            stats = [f"gamma{layer}", f"beta{layer}", f"running_mean{layer}", f"running_var{layer}"]
            nodes.append(helper.make_node("BatchNormalization", [Z, *stats], [f"bn{layer}"],
                                          name=f"batch_norm{layer}", epsilon=network.bn_eps))
            Z = f"bn{layer}"
        A = f"a{layer}"
        nodes.append(helper.make_node(op, [Z], [A], name=f"{network.activation}{layer}",
                                      **ONNX_ATTRIBUTES.get(network.activation, {})))
    nodes.append(helper.make_node("Softmax", [LOGITS_NAME], [OUTPUT_NAME], name="softmax", axis=1))
    return nodes


def to_onnx(model):
    """An ``onnx.ModelProto`` of a SavedModel, TrainResult or Network, checked by ``onnx.checker``."""
    onnx = _onnx()
    from onnx import helper, numpy_helper
    network, source = _unpack(model)
    elem = helper.np_dtype_to_tensor_dtype(network.dtype)
    classes = network.layer_sizes[-1]
    graph = helper.make_graph(
        _nodes(network, helper),
        getattr(source, "name", "") or "digitlab",
        inputs=[helper.make_tensor_value_info(INPUT_NAME, elem, [BATCH_DIM, network.layer_sizes[0]],
                                              doc_string=INPUT_TEXT)],
        outputs=[helper.make_tensor_value_info(OUTPUT_NAME, elem, [BATCH_DIM, classes],
                                               doc_string="class probabilities, each row sums to 1"),
                 helper.make_tensor_value_info(LOGITS_NAME, elem, [BATCH_DIM, classes],
                                               doc_string="the output layer's values before softmax")],
        initializer=[numpy_helper.from_array(a.array, a.name) for a in network.arrays()],
    )
    proto = helper.make_model(graph, producer_name="digitlab", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              doc_string=f"digitlab network; input {INPUT_NAME}: {INPUT_TEXT}")
    helper.set_model_props(proto, metadata(network, source))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, *, inputs=()) -> Path:
    """Write ``model`` (SavedModel, TrainResult or Network) to ``path`` as ONNX, atomically; return
    ``path``. ``inputs``: files the export is made from, which it may not replace."""
    path = Path(path)
    data = to_onnx(model).SerializeToString()
    _write_atomic(path, lambda fh: fh.write(data), inputs)
    return path
