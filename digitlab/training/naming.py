"""How a network's layer sizes and a model's default name are written, for every part of digitlab.

Model files store the default name, the library, the Train view and the command line show it, and
the Train view makes file names from it: one function each, so they cannot drift apart.
"""

from __future__ import annotations

__all__ = ["default_model_name", "format_layer_sizes"]


def format_layer_sizes(layer_sizes) -> str:
    """``(784, 20, 7, 5, 10)`` -> ``"784-20-7-5-10"`` (NumPy integers from a file read the same)."""
    return "-".join(str(int(s)) for s in layer_sizes)


def default_model_name(config, *, with_optimizer: bool = False) -> str:
    """The name of a model nobody named: layers, [optimiser,] L2 when on, BN when on.

    ``"784-20-7-5-10 L2 5 BN"``; with the optimiser, ``"784-20-7-5-10 sgd L2 5 BN"`` (the Train
    view's names, which also give its file names).
    """
    parts = [format_layer_sizes(config.layer_sizes)]
    if with_optimizer:
        parts.append(config.optimizer)
    if config.l2:
        parts.append(f"L2 {config.l2:g}")
    if config.batch_norm:
        parts.append("BN")
    return " ".join(parts)
