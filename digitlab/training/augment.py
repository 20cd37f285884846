"""On-the-fly augmentation of 28x28 training digits: shifts, rotations, scaling, shear, stroke
thickness and elastic deformation, seeded, in NumPy.

Networks trained on MNIST alone see digits that are centred, upright and drawn with one kind of
pen; a digit drawn on the pad is a little off in every one of these. Each epoch a seeded
fraction of the training images (``fraction``) is transformed afresh; validation and test images
never are.

An epoch of this network takes only 0.1-0.4 s, and the goal is to slow it by at most 30 %. What
was measured (benchmarks/augment_speed.py, models/README.md) and chosen:

* All geometric transforms of an image are composed into ONE sampling map: the source position
  of every output pixel is ``coefficients @ BASIS``, one small matrix product for many images,
  where ``BASIS`` holds the constant, the two pixel coordinates and the 16 smooth bumps of the
  elastic field (bilinear hats on a 4x4 grid of control points).
* Maps are precomputed as flat index arrays, a fresh bank of ``BANK_SIZE`` of them per
  epoch. The transformed images of a chunk go into the slots of one reused buffer, and slot j is
  read through map j, already offset to slot j: an image costs one copy in and one ``take``.
  The epoch's shuffle decides which image lands in which slot, so every image meets a random
  transform, and a new one every epoch.
* Sampling is nearest-neighbour. Bilinear sampling was measured first: even with the four
  neighbours gathered as one uint32 and planar float32 arithmetic it cost 6 to 10 times as much
  (about 1.5 s per epoch on a loaded 2-core machine against an epoch of 0.25-0.6 s), and a helper
  thread could not hide it (with the cores busy it made the epoch slower still). Nearest
  sampling of transforms this small moves an edge by at most half a pixel, less than the
  thickness changes do on purpose.
* Stroke thickness is a 1 px dilation, or halfway to a dilation or an erosion, in uint8 on runs
  of slots (a continuous blend in 16-bit fixed point on chosen images cost twice as much).
* A seeded half of the images is transformed (``augment_fraction`` 0.5): every one of them
  costs about 3 microseconds (the ``take`` alone 1 ns a pixel), about 70 ms an epoch: +24 % on
  the pad preset's 0.35 s epoch, but +56 % on the report setting's 0.14 s one.
* :class:`AugmentedBatches` can prepare the next chunks on a helper thread while the current
  batch trains (NumPy releases the GIL in these calls); on the shared 2-core machine it gained
  nothing, so by default everything runs on the training thread (see CHUNKS_AHEAD).

The random numbers of epoch e come from ``(seed, e)`` for the bank and ``(seed, e, chunk)`` for
each chunk of images, and one thread draws the permutations in order, so the same seed gives
the same batches bit for bit, with or without the helper thread and however it is scheduled.

Ranges (:class:`AugmentRanges`) are chosen so that a digit stays its digit: a 6 rotated by 180
degrees is a 9 and a 1 sheared far enough is a 7, so rotation stays within 12 degrees and shear
within 0.2 (11 degrees of slant).
"""

from __future__ import annotations

import math
import queue
import threading
import weakref
from dataclasses import dataclass

import numpy as np

SIDE = 28                       # MNIST's images are SIDE x SIDE
CENTRE = (SIDE - 1) / 2.0       # rotations and scaling turn about the middle of the field
SLOT = SIDE + 2                 # each image sits in a SLOT x SLOT block: a 1 px zero border
ELASTIC_GRID = 4                # control points per side of the elastic displacement field
BANK_SIZE = 512                 # sampling maps drawn per epoch (a few ms per epoch)
THICKNESS_LEVELS = (-0.5, 0.0, 0.5, 1.0)   # see _change_thickness_in_slots


@dataclass(frozen=True)
class AugmentRanges:
    """How far each transform may go; every transform is drawn uniformly within its range.

    The defaults keep a digit its digit (checked by eye on every class and by the pad networks'
    MNIST test accuracy, models/README.md):

    * ``shift``: up to 2 px in x and y. Drawn digits are centred by their centre of mass, as
      MNIST's are, but a person's centre of mass moves with how the strokes are weighted.
    * ``rotation``: up to 12 degrees either way (handwriting leans; a 6 turned far is a 9).
    * ``scale``: 0.85 to 1.12, the same in x and y. MNIST digits fill a 20 px box; 1.12 keeps a
      shifted digit inside the 28 px field.
    * ``shear``: up to 0.2 (x moves by 0.2 px per px of y), italic writing's slant.
    * ``thickness``: one of these levels, each as likely: -0.5 halfway to the 1 px erosion of the
      strokes (thinner), 0 unchanged, 0.5 halfway to the 1 px dilation, 1 the dilation (thicker).
      Thinning stops at half: MNIST's thinnest strokes are 1-2 px and an erosion breaks them.
    * ``elastic``: up to 1.5 px of smooth displacement at each of the 4x4 control points, the
      wobble of a hand-drawn line, too gentle to close a 4's gap or open an 8's loop.
    """

    shift: float = 2.0
    rotation_degrees: float = 12.0
    scale: tuple[float, float] = (0.85, 1.12)
    shear: float = 0.2
    thickness: tuple[float, ...] = THICKNESS_LEVELS
    elastic: float = 1.5


DEFAULT_RANGES = AugmentRanges()


@dataclass
class Transforms:
    """The transform of each of ``m`` images, arrays of length ``m`` (``elastic``: (m, 2, 16)).

    The output pixel at column x, row y (centred on the field's middle, y down) shows the source
    image at ``inverse(A) @ (p - shift) + elastic(p)`` where ``A = scale * rotation @ shear``:
    ``rotation`` turns the digit anticlockwise as seen on screen by that many radians, ``shear``
    moves each row right by ``shear`` times its height above the middle (a forward slant),
    ``shift_x`` moves it right and ``shift_y`` down. ``elastic[:, 0]`` and ``elastic[:, 1]`` are the
    x and y displacements (px) at the 4x4 control points, interpolated bilinearly in between.
    ``thickness``, one of THICKNESS_LEVELS, is applied first: -0.5 halfway to the 1 px erosion of
    the image (thinner strokes), 0.5 halfway to its 1 px dilation, 1 the dilation (thicker).
    """

    rotation: np.ndarray
    scale: np.ndarray
    shear: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray
    thickness: np.ndarray
    elastic: np.ndarray

    @classmethod
    def identity(cls, m: int) -> Transforms:
        """``m`` transforms that change nothing (tests and callers set the fields they want)."""
        zeros = np.zeros(m)
        return cls(zeros.copy(), np.ones(m), zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(),
                   np.zeros((m, 2, ELASTIC_GRID * ELASTIC_GRID)))

    def __len__(self) -> int:
        return len(self.rotation)


def random_transforms(rng: np.random.Generator, m: int, ranges: AugmentRanges = DEFAULT_RANGES) -> Transforms:
    """``m`` transforms drawn uniformly within ``ranges`` from ``rng``."""
    r = ranges
    angle = math.radians(r.rotation_degrees)
    return Transforms(
        rotation=rng.uniform(-angle, angle, m),
        scale=rng.uniform(r.scale[0], r.scale[1], m),
        shear=rng.uniform(-r.shear, r.shear, m),
        shift_x=rng.uniform(-r.shift, r.shift, m),
        shift_y=rng.uniform(-r.shift, r.shift, m),
        thickness=rng.choice(np.asarray(r.thickness, dtype=float), m),
        elastic=rng.uniform(-r.elastic, r.elastic, (m, 2, ELASTIC_GRID * ELASTIC_GRID)),
    )


def _basis() -> np.ndarray:
    """(3 + 16, 784) float32: the constant, x, y, and the elastic field's bilinear hats."""
    row, col = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    nodes = np.linspace(0, SIDE - 1, ELASTIC_GRID)
    spacing = nodes[1] - nodes[0]

    def hats(v):
        return np.clip(1 - np.abs(v.ravel()[None, :] - nodes[:, None]) / spacing, 0, None)

    bumps = (hats(row)[:, None, :] * hats(col)[None, :, :]).reshape(ELASTIC_GRID ** 2, SIDE * SIDE)
    return np.vstack([np.ones(SIDE * SIDE), (col - CENTRE).ravel(), (row - CENTRE).ravel(),
                      bumps]).astype(np.float32)


BASIS = _basis()


def _sampling_coefficients(t: Transforms) -> np.ndarray:
    """(2m, 19) float32: rows 0..m-1 give each image's source row, m..2m-1 its source column,
    as coefficients of ``BASIS``, in the padded image's coordinates (one zero pixel before)."""
    m = len(t)
    cos, sin = np.cos(t.rotation), np.sin(t.rotation)
    # A = scale * R @ H with R = [[cos, sin], [-sin, cos]] (anticlockwise on screen, y down) and
    # H = [[1, -shear], [0, 1]] (rows above the middle, y < 0, move right: a forward slant).
    a00, a01 = t.scale * cos, t.scale * (-cos * t.shear + sin)
    a10, a11 = -t.scale * sin, t.scale * (sin * t.shear + cos)
    det = a00 * a11 - a01 * a10
    i00, i01, i10, i11 = a11 / det, -a01 / det, -a10 / det, a00 / det     # inverse(A)
    coef = np.empty((2 * m, BASIS.shape[0]), dtype=np.float64)
    # source x = i00 (x - sx) + i01 (y - sy) + centre + 1 (padding) + elastic x
    coef[m:, 0] = CENTRE + 1 - i00 * t.shift_x - i01 * t.shift_y
    coef[m:, 1], coef[m:, 2] = i00, i01
    coef[m:, 3:] = t.elastic[:, 0]
    coef[:m, 0] = CENTRE + 1 - i10 * t.shift_x - i11 * t.shift_y
    coef[:m, 1], coef[:m, 2] = i10, i11
    coef[:m, 3:] = t.elastic[:, 1]
    return coef.astype(np.float32)


def _halfway(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rounded-up mean of two uint8 arrays, without leaving uint8: (a | b) - ((a ^ b) >> 1)."""
    mean = a | b
    mean -= (a ^ b) >> 1
    return mean


def _change_thickness_in_slots(slots: np.ndarray, level: float) -> None:
    """Thicken (level > 0) or thin (< 0) the images in ``slots`` (k, SLOT, SLOT) in place.

    +1 is the 1 px dilation by a plus-shaped neighbourhood (the pixel and its 4 neighbours),
    +0.5 halfway to it, -0.5 halfway to the 1 px erosion (a full erosion breaks MNIST's thinnest
    strokes). ``slots`` must be contiguous with zero borders: the neighbours are taken in the
    flat buffer (offsets 1 and SLOT), five times faster than row by row, and the border keeps
    one image's pixels from reaching the next. A dilation spreads into the border; the caller
    zeroes it again (:func:`_zero_borders`) before sampling, where it stands for the background.
    """
    if level == 0 or not len(slots):
        return
    flat = slots.reshape(-1)
    extreme = np.maximum if level > 0 else np.minimum
    moved = flat.copy()
    for step in (1, SLOT):
        extreme(moved[step:], flat[:-step], out=moved[step:])
        extreme(moved[:-step], flat[step:], out=moved[:-step])
    flat[...] = moved if abs(level) == 1 else _halfway(flat, moved)


def _zero_borders(slots: np.ndarray) -> None:
    """Zero the 1 px border of every slot: samples from beyond the 28x28 field read background."""
    slots[:, 0] = slots[:, -1] = 0
    slots[:, :, 0] = slots[:, :, -1] = 0


def sampling_maps(transforms: Transforms) -> np.ndarray:
    """(m, 784) intp: for each output pixel, the flat index of its source pixel in a SLOT x SLOT
    block that holds the image at rows and columns 1 .. 28 with a zero border around it.

    Nearest-neighbour: the source position is rounded; positions beyond the image land on the
    zero border (background).
    """
    m = len(transforms)
    where = _sampling_coefficients(transforms) @ BASIS      # (2m, 784): rows, then columns
    np.rint(where, out=where)
    np.clip(where, 0, SLOT - 1, out=where)
    rows, cols = where[:m], where[m:]
    rows *= SLOT
    rows += cols
    return rows.astype(np.intp)       # take() converts other index types first, a pass per call


def _checked(images) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != SIDE * SIDE:
        raise ValueError(f"augmentation takes (m, {SIDE * SIDE}) uint8 images, got {images.shape} "
                         f"{images.dtype}; pass the raw pixel bytes (Splits.x_train_bytes)")
    return images


def _levels_problem(thickness: np.ndarray) -> str | None:
    wrong = ~np.isin(thickness, THICKNESS_LEVELS)
    return f"thickness must be one of {THICKNESS_LEVELS}, got {thickness[wrong][0]}" if wrong.any() else None


def apply_transforms(images: np.ndarray, transforms: Transforms) -> np.ndarray:
    """The images transformed, (m, 784) uint8: thickness first, then the sampling map.

    ``images``: (m, 784) uint8, MNIST's raw pixels. What falls outside the field is background.
    """
    images = _checked(images)
    m = len(images)
    if len(transforms) != m:
        raise ValueError(f"{len(transforms)} transforms for {m} images; give one per image")
    thickness = np.asarray(transforms.thickness, dtype=float)
    problem = _levels_problem(thickness)
    if problem:
        raise ValueError(problem)
    slots = np.zeros((m, SLOT, SLOT), dtype=np.uint8)
    slots[:, 1:SIDE + 1, 1:SIDE + 1] = images.reshape(m, SIDE, SIDE)
    for level in THICKNESS_LEVELS:
        chosen = np.flatnonzero(thickness == level)
        if level and len(chosen):
            these = slots[chosen]
            _change_thickness_in_slots(these, level)
            slots[chosen] = these
    _zero_borders(slots)                # what a dilation spread there: beyond the field
    flat = sampling_maps(transforms) + (np.arange(m, dtype=np.intp) * (SLOT * SLOT))[:, None]
    return slots.reshape(-1).take(flat)


class Augmenter:
    """Transforms a seeded ``fraction`` of each chunk of images; the rest pass unchanged.

    Each epoch draws a bank of ``bank_size`` random transforms (:meth:`bank`). In a chunk, the
    chosen images (in the chunk's order, which the epoch's shuffle makes random) go into slots
    0, 1, 2, ... of a reused buffer (28x28 fields in a 1 px zero border), and slot j is read
    through the bank's map j, its index already offset to slot j: no per-image index arithmetic.
    Stroke thickness goes by slot too: the slots are split into equal runs, one per level of
    ``ranges.thickness``.
    """

    def __init__(self, seed: int, fraction: float = 1.0, ranges: AugmentRanges = DEFAULT_RANGES,
                 bank_size: int = BANK_SIZE):
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        problem = _levels_problem(np.asarray(ranges.thickness, dtype=float))
        if problem:
            raise ValueError(problem)
        self.seed = int(seed)
        self.fraction = float(fraction)
        self.ranges = ranges
        self.bank_size = int(bank_size)
        self._bank_epoch, self._bank = None, None
        self._slots = np.zeros((self.bank_size, SLOT, SLOT), dtype=np.uint8)

    def bank(self, epoch: int) -> np.ndarray:
        """Epoch ``epoch``'s sampling maps, (bank_size, 784) intp flat indices, map j into slot j."""
        if self._bank_epoch != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            maps = sampling_maps(random_transforms(rng, self.bank_size, self.ranges))
            maps += (np.arange(self.bank_size, dtype=np.intp) * (SLOT * SLOT))[:, None]
            self._bank_epoch, self._bank = epoch, maps
        return self._bank

    def augment(self, images: np.ndarray, epoch: int, chunk: int) -> np.ndarray:
        """(m, 784) uint8 -> (m, 784) uint8, a fresh draw for each (epoch, chunk)."""
        out = _checked(images).copy()
        self.augment_in_place(out, epoch, chunk)
        return out

    def augment_in_place(self, images: np.ndarray, epoch: int, chunk: int) -> None:
        """:meth:`augment` into ``images`` itself (a writable (m, 784) uint8 array)."""
        images = _checked(images)
        rng = np.random.default_rng([self.seed, epoch, chunk])
        chosen = np.flatnonzero(rng.random(len(images)) < self.fraction)
        maps = self.bank(epoch)
        flat_slots = self._slots.reshape(-1)
        for begin in range(0, len(chosen), self.bank_size):    # more images than slots: in turns
            part = chosen[begin:begin + self.bank_size]
            k = len(part)
            slots = self._slots[:k]
            slots[:, 1:SIDE + 1, 1:SIDE + 1] = images[part].reshape(k, SIDE, SIDE)
            levels = self.ranges.thickness
            bounds = [k * i // len(levels) for i in range(len(levels) + 1)]
            for level, a, b in zip(levels, bounds, bounds[1:]):
                _change_thickness_in_slots(slots[a:b], level)
            _zero_borders(slots)            # what a dilation spread there: beyond the field
            images[part] = flat_slots.take(maps[:k])


# Images augmented at once: large enough that NumPy's per-call overhead is small, small enough to
# stay in the cache. At most BANK_SIZE, so that a chunk's chosen images fit the slots at once.
CHUNK_IMAGES = 512


# Chunks prepared ahead by a helper thread; 0: none, everything on the training thread. Measured
# on the shared 2-core machine (benchmarks/augment_speed.py, models/README.md), the helper took
# the pad preset's epoch from +24 % to +14 % but the report setting's from +56 % to +65-118 %:
# it competes for the GIL with a training loop that holds it, and a third busy thread would take
# the GIL from the GUI as well. So it is off by default; the batches are the same either way.
CHUNKS_AHEAD = 0


class AugmentedBatches:
    """The training batches of every epoch, shuffled and augmented, a chunk of batches at a time.

    ``x_bytes`` (n, 784) uint8 are the training images; ``shuffle`` is the generator whose
    ``permutation(n)`` orders each epoch (as the trainer without augmentation uses it), so an
    augmented run visits the images in the same order. :meth:`next_batch` returns the batch
    (``dtype``, 0..255) and its row indices.

    With ``ahead`` > 0 a helper thread prepares up to that many chunks ahead while the training
    thread trains (NumPy releases the GIL in its loops, so it runs on a second core when there
    is one); the chunks are the same bit for bit either way, since each one's random numbers come
    from (seed, epoch, chunk) and the permutations are drawn in order by one thread. Call
    :meth:`close` when done (or use ``with``); if a run ends by an exception instead, the helper
    stops once this object is collected. ``first_epoch``: a continued run starts at that epoch.
    """

    def __init__(self, x_bytes: np.ndarray, batch_size: int, shuffle: np.random.Generator,
                 augmenter: Augmenter, dtype=np.float32, ahead: int | None = None, first_epoch: int = 0):
        x = _checked(x_bytes)
        ahead = CHUNKS_AHEAD if ahead is None else ahead
        self.batch_size = batch_size
        self.per_chunk = max(1, CHUNK_IMAGES // batch_size) * batch_size   # no batch straddles two
        chunks = _chunks(x, self.per_chunk, shuffle, augmenter, dtype, first_epoch)
        self._chunk, self._idx, self._next = None, None, 0
        self._thread = None
        if ahead <= 0:
            self._take = lambda: next(chunks)
            return
        self._queue: queue.Queue = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        # The thread gets what it needs but not this object, so that dropping the object stops it.
        weakref.finalize(self, self._stop.set)
        self._thread = threading.Thread(target=_produce, args=(chunks, self._queue, self._stop),
                                        name="augment", daemon=True)
        self._thread.start()
        self._take = self._from_queue

    def _from_queue(self):
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise RuntimeError(f"augmenting the training images failed: {item}") from item
        return item

    def next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        """The next batch in training order: (images, row indices). Epoch after epoch."""
        if self._chunk is None or self._next >= len(self._idx):
            self._chunk, self._idx = self._take()
            self._next = 0
        begin, self._next = self._next, self._next + self.batch_size
        return self._chunk[begin:self._next], self._idx[begin:self._next]

    def close(self) -> None:
        """Stop the helper thread, if any, and wait for it."""
        if self._thread is None:
            return
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                continue    # it is between two chunks; it sees the stop before the next
        self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _chunks(x, per_chunk, shuffle, augmenter, dtype, first_epoch=0):
    """Every chunk of every epoch from ``first_epoch`` on (a continued run: ``shuffle`` has already
    drawn the earlier epochs' permutations), in training order: (images as ``dtype``, row indices)."""
    epoch = first_epoch
    while True:
        order = shuffle.permutation(len(x))
        for chunk, begin in enumerate(range(0, len(x), per_chunk)):
            idx = order[begin:begin + per_chunk]
            images = x[idx]                  # a copy: augmented in place
            augmenter.augment_in_place(images, epoch, chunk)
            yield images.astype(dtype), idx
        epoch += 1


def _produce(chunks, out: queue.Queue, stop: threading.Event) -> None:
    """The helper thread: puts chunk after chunk into ``out`` until ``stop`` is set."""
    try:
        for item in chunks:
            if not _put(out, item, stop):
                return
    except BaseException as e:      # handed to the training thread, which raises it
        _put(out, e, stop)


def _put(out: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue    # the training loop is busy or paused: wait, but notice a stop
    return False
