"""Inverted dropout: in training, each hidden unit of each example is kept with probability ``1 - p``
and scaled by ``1 / (1 - p)``, so a unit's expected output is unchanged and inference simply uses
every unit unscaled (dropout is off there: nothing to undo).

A run gives one rate per hidden layer (0 keeps the layer whole). The masks are drawn here, from a
random generator the caller owns (the trainer's seeded stream, so the same seed gives the same run
bit for bit), and handed to :meth:`Network.loss_and_grad`; the gradient check hands fixed ones.

Needs NumPy alone.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def rate_problems(rates, n_hidden: int | None = None) -> list[str]:
    """Why ``rates`` cannot be dropout rates for ``n_hidden`` hidden layers, as sentences; empty if
    they can. One rate per hidden layer, or a single rate for every one; each in [0, 1)."""
    try:
        if isinstance(rates, (str, bytes)):
            raise TypeError("text is not a list of rates")
        rates = tuple(rates)
    except TypeError:
        return [f"dropout must be a list of rates, one per hidden layer (or one for all), got {rates!r}"]
    p = []
    for r in rates:
        if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Real) or not math.isfinite(r):
            p.append(f"a dropout rate must be a number in [0, 1), got {r!r}")
        elif not 0 <= r < 1:
            p.append(f"a dropout rate must be in [0, 1) (the share of units dropped; 1 would drop "
                     f"them all), got {r:g}")
    if n_hidden is not None and len(rates) > 1 and len(rates) != n_hidden:
        p.append(f"dropout gives {len(rates)} rates but the network has {n_hidden} hidden layer"
                 f"{'s' if n_hidden != 1 else ''}; give one rate per hidden layer, or one for all")
    return p


def per_layer(rates, n_hidden: int) -> tuple[float, ...]:
    """The rate of each of ``n_hidden`` hidden layers: ``()`` is no dropout, one rate is every
    layer's, else one each."""
    rates = tuple(float(r) for r in rates)
    if not rates:
        return (0.0,) * n_hidden
    return rates * n_hidden if len(rates) == 1 else rates


def draw_masks(rng: np.random.Generator, m: int, units, rates, dtype) -> list[np.ndarray | None]:
    """One mask per hidden layer for a batch of ``m`` rows: ``(m, units)`` of 0 (dropped) and
    ``1 / (1 - p)`` (kept), or None for a layer with rate 0 (nothing drawn for it).

    ``units`` and ``rates`` are per hidden layer. The uniform numbers are drawn in ``dtype``
    (float32 draws are half the work of float64) and compared with ``p``.
    """
    masks = []
    for u, p in zip(units, rates):
        if p <= 0:
            masks.append(None)
            continue
        keep = rng.random((m, u), dtype=np.dtype(dtype).type) >= p
        masks.append(keep * np.dtype(dtype).type(1.0 / (1.0 - p)))
    return masks
