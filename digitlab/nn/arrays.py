"""The one list of a network's named arrays, which everything that walks a network uses.

A network of L weight layers holds, layer by layer from 1: ``W<l>`` (fan_in, fan_out) and ``b<l>``
(fan_out,); a hidden layer of a batch-normalised network also ``gamma<l>``, ``beta<l>`` (trained)
and ``running_mean<l>``, ``running_var<l>`` (state kept by training, used at inference). The walk
(:func:`array_specs` over sizes alone, :meth:`Network.arrays` with the arrays) yields them in that
order as :class:`NamedArray` records. The flat parameter buffer, saving, loading, export, the L2
sum, the weights table and the array table of ``docs/model-format.md`` all come from it.

Needs NumPy alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class ArrayKind:
    """What one kind of array is: its key (the HDF5 dataset's name and the prefix of the array's
    name), how messages name it, whether the optimiser trains it, whether only batch-normalised
    hidden layers have it, and a description template (``{l}`` layer, ``{r}`` rows, ``{c}`` columns)."""

    key: str
    words: str
    trainable: bool
    batch_norm: bool
    description: str


KINDS = (
    ArrayKind("W", "weight W", True, False,
              "weights of layer {l}, {r} rows (inputs) x {c} columns (units); Z = A @ W{l} + b{l}"),
    ArrayKind("b", "bias b", True, False, "biases of layer {l}, {c} values, one per unit"),
    ArrayKind("gamma", "scale gamma", True, True, "batch-norm scale of hidden layer {l}, {c} values"),
    ArrayKind("beta", "shift beta", True, True, "batch-norm shift of hidden layer {l}, {c} values"),
    ArrayKind("running_mean", "running_mean", False, True,
              "batch-norm running mean of hidden layer {l} (used at inference), {c} values"),
    ArrayKind("running_var", "running_var", False, True,
              "batch-norm running variance of hidden layer {l} (used at inference), {c} values"),
)
"""Every kind, in the order a layer lists its arrays."""

KIND = {kind.key: kind for kind in KINDS}


class NamedArray(NamedTuple):
    """One array of a network: ``name`` ("W1"), ``kind`` (a key of :data:`KIND`), ``layer`` (from
    1), ``shape``, and ``array`` itself (the network's own array, not a copy), or None in a walk
    over sizes alone. A named tuple, not a dataclass: the L2 sum walks the network at every
    validation check, and a tuple is made several times faster."""

    name: str
    kind: str
    layer: int
    shape: tuple[int, ...]
    array: np.ndarray | None = None

    @property
    def trainable(self) -> bool:
        return KIND[self.kind].trainable

    @property
    def words(self) -> str:
        """How messages name it after "layer <l>": "weight W", "scale gamma", "running_var", ..."""
        return KIND[self.kind].words

    @property
    def description(self) -> str:
        """A sentence for people, e.g. "biases of layer 2, 7 values, one per unit"."""
        rows, cols = self.shape if len(self.shape) == 2 else (1, self.shape[0])
        return KIND[self.kind].description.format(l=self.layer, r=rows, c=cols)


def array_specs(layer_sizes, batch_norm: bool) -> list[NamedArray]:
    """Every array a network of these sizes holds, layer by layer (without the arrays)."""
    sizes = tuple(int(s) for s in layer_sizes)
    last = len(sizes) - 1
    specs = []
    for layer in range(1, last + 1):
        fan_in, fan_out = sizes[layer - 1], sizes[layer]
        for kind in KINDS:
            if kind.batch_norm and not (batch_norm and layer < last):
                continue
            shape = (fan_in, fan_out) if kind.key == "W" else (fan_out,)
            specs.append(NamedArray(f"{kind.key}{layer}", kind.key, layer, shape))
    return specs


def affine_first(arrays) -> list[NamedArray]:
    """``arrays`` with every layer's W and b first, then the batch-norm arrays, each group in
    layer order: the order of the flat parameter buffer (its layout, and so the order of the L2
    sum, predates the walk and must not change) and of the save check's message."""
    return sorted(arrays, key=lambda a: KIND[a.kind].batch_norm)
