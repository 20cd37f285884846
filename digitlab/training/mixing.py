"""Train on a dataset plus a few extra digits (a person's own), each epoch a stated share of them.

Tens of personal digits against MNIST's 48,000 training images would be a rounding error if the
two were simply joined: an epoch would show each personal digit once among 1,600 MNIST ones. So
the extra digits are oversampled: repeated (each as often as the others, give or take one) until
they make up ``share`` of every epoch's training images. Validation and test stay the dataset's
own, so early stopping and the test figures still measure MNIST, and the model file records
what was mixed in (its name, checksum and share).

The default share, 10 %, gives the extra digits the weight of one more digit class (MNIST's ten
classes are about 10 % of an epoch each): enough that a network trained on them learns them, not
so much that it forgets MNIST for a person's handful of digits.

Never imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data import Splits

DEFAULT_EXTRA_SHARE = 0.1
# At 1 nothing of the dataset would be left; past 0.9 an epoch is mostly copies of the extra set.
MAX_EXTRA_SHARE = 0.9


@dataclass(eq=False)
class MixedSplits(Splits):
    """:class:`~digitlab.data.Splits` whose training rows include the extra set, oversampled.

    Attributes (besides those of Splits, which describe the base dataset: ``name`` and
    ``checksum`` stay the base dataset's, as do the validation and test sets)
    ----------
    x_extra : numpy.ndarray, shape (n_extra, 784), in [0, 1]
        The extra set once each, for measuring accuracy on it.
    y_extra : numpy.ndarray, shape (n_extra,), int64
    n_extra_rows : int
        How many of the ``x_train`` rows are (copies of) extra digits: the last ones.
    origin : dict
        ``extra_data``, ``extra_data_checksum``, ``extra_share`` (the share as mixed), recorded in
        the model file (see :class:`digitlab.training.TrainResult`).
    """

    x_extra: np.ndarray = field(default_factory=lambda: np.zeros((0, 784), np.float32))
    y_extra: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_extra_rows: int = 0
    origin: dict = field(default_factory=dict)

    @property
    def share(self) -> float:
        """The share of each epoch's training rows that are extra digits."""
        return self.n_extra_rows / self.n_train if self.n_train else 0.0


def extra_share_problem(share) -> str | None:
    """Why ``share`` cannot be an extra-data share, as a sentence; None if it can."""
    if isinstance(share, bool) or not isinstance(share, (int, float, np.floating)) or not np.isfinite(share):
        return f"the extra-data share must be a number, got {share!r}"
    if not 0 < share <= MAX_EXTRA_SHARE:
        return (f"the extra-data share must be more than 0 and at most {MAX_EXTRA_SHARE:g} (a "
                f"fraction of each epoch), got {share:g}")
    return None


def extra_rows(n_base: int, n_extra: int, share: float) -> int:
    """Rows of extra digits to add to ``n_base`` so that they are ``share`` of the total."""
    return max(1, round(share / (1.0 - share) * n_base)) if n_extra else 0


def mix_extra(splits: Splits, x_extra: np.ndarray, y_extra: np.ndarray, *, share: float = DEFAULT_EXTRA_SHARE,
              name: str = "", checksum: str = "", seed: int = 0) -> MixedSplits:
    """``splits`` with the extra digits added to its training rows as ``share`` of them.

    Parameters
    ----------
    splits : Splits
        The base dataset, split as usual.
    x_extra : numpy.ndarray, shape (n, 28, 28) or (n, 784), uint8 (0..255, as MNIST stores them)
    y_extra : numpy.ndarray, shape (n,), classes 0..9
    share : float
        The fraction of each epoch's training rows that are extra digits, in (0, 0.9].
    name, checksum : str
        What the extra set is, recorded in the model file.
    seed : int
        Chooses which extra digits get one copy more than the others when the rows do not divide
        evenly (or which are used at all, when the extra set is larger than its share).

    The rows are added once, so the trainer's per-epoch shuffle spreads them over every epoch.
    """
    flat, y_extra = _checked_extra(splits, x_extra, y_extra, share)
    n_extra = len(flat)
    n_rows = extra_rows(splits.n_train, n_extra, float(share))
    rng = np.random.default_rng(seed)
    repeats, rest = divmod(n_rows, n_extra)
    chosen = np.concatenate([np.tile(np.arange(n_extra), repeats), rng.permutation(n_extra)[:rest]])
    extra_bytes = flat[chosen]
    dtype = splits.x_train.dtype
    extra_x = extra_bytes.astype(dtype)
    extra_x /= 255.0                      # exactly as prepare_splits scales, so the bytes round-trip
    base_bytes = splits.x_train_bytes
    if base_bytes is None or base_bytes.shape != splits.x_train.shape:
        train_bytes = None                # the base set is not bytes / 255; neither is the mix
    else:
        train_bytes = np.concatenate([base_bytes, extra_bytes])
    x_train = np.concatenate([splits.x_train, extra_x])
    y_train = np.concatenate([np.asarray(splits.y_train, dtype=np.int64), y_extra[chosen].astype(np.int64)])
    once = flat.astype(dtype)
    once /= 255.0
    mixed = MixedSplits(x_train=x_train, y_train=y_train, x_val=splits.x_val, y_val=splits.y_val,
                        x_test=splits.x_test, y_test=splits.y_test, name=splits.name,
                        checksum=splits.checksum, x_train_bytes=train_bytes,
                        x_extra=once, y_extra=y_extra.astype(np.int64), n_extra_rows=n_rows)
    mixed.origin = {"extra_data": str(name), "extra_data_checksum": str(checksum),
                    "extra_share": round(float(mixed.share), 6)}
    return mixed


def _checked_extra(splits: Splits, x_extra, y_extra, share) -> tuple[np.ndarray, np.ndarray]:
    """The extra images as rows of pixels, and their labels, once both and ``share`` are checked
    against ``splits`` (``ValueError`` saying what is wrong otherwise)."""
    problem = extra_share_problem(share)
    if problem:
        raise ValueError(problem)
    x_extra = np.asarray(x_extra)
    y_extra = np.asarray(y_extra)
    n_extra = int(x_extra.shape[0]) if x_extra.ndim else 0
    if n_extra == 0:
        raise ValueError("the extra data holds no digits; add some before training on them")
    if x_extra.dtype != np.uint8:
        raise ValueError(f"the extra images must be uint8 pixels 0..255 (as MNIST stores them), "
                         f"got {x_extra.dtype}")
    flat = x_extra.reshape(n_extra, -1)
    if flat.shape[1] != splits.n_features:
        raise ValueError(f"the extra images have {flat.shape[1]} pixels but {splits.name} has "
                         f"{splits.n_features}; they must be 28x28 digits as MNIST's are")
    if y_extra.shape != (n_extra,):
        raise ValueError(f"{n_extra} extra images but labels of shape {y_extra.shape}; "
                         f"give one label per image")
    return flat, y_extra
