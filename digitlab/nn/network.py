"""A fully-connected network in NumPy: hidden layers with an activation from a table (ReLU by
default), softmax output, optional batch norm and, in training, optional inverted dropout.

Layout and conventions
----------------------
* Row-major: a batch ``X`` is ``(n_samples, n_features)``; a weight matrix ``W[i]`` is
  ``(fan_in, fan_out)`` so a layer is ``Z = A @ W + b``.
* Every trainable number lives in one flat buffer, ``params``, and its gradient in ``grads``, with
  the same layout. ``weights``, ``biases``, ``gammas`` and ``betas`` are views into it. The optimiser
  therefore updates the whole network with one in-place operation, and the L2 penalty covers every
  weight in one pass (the micrograd idea).
* A hidden layer is an affine map, then (``batch_norm=True``) batch normalisation, then the activation
  (``activations.py``; ReLU unless chosen otherwise), then in training only (dropout masks given)
  inverted dropout (``dropout.py``): ``A = mask * relu(gamma * (Z - mean) / sqrt(var + eps) + beta)``.
  Training uses the batch's statistics and updates running averages; inference uses the running averages
  only, folded into the weights, so one image is classified exactly as it would be inside any
  batch. The bias ``b`` of a normalised layer is kept for a uniform layout, but it would cancel in
  ``Z - mean``, so training neither adds nor updates it: it stays exactly 0 (``beta`` plays its role).
* Each step lives in its own module: ``layers.py`` (affine and batch norm, forward and backward),
  ``activations.py`` (tables of activations and derivatives), ``loss.py`` (softmax with
  cross-entropy), ``l2.py`` (the report's L2). This module wires them into forward and backward
  passes.
* The fast paths that pay, each commented where it lives: the first layer scales its small product
  by ``input_scale`` instead of scaling every pixel (``layers.affine_forward``); column sums are
  products with a ones vector (``layers``); activations work in place and their derivatives read
  the output (``activations``); softmax and cross-entropy are fused for training, shifted by the
  batch maximum (``loss.softmax_cross_entropy``); the L2 penalty and its gradient take one pass
  over the flat buffer (``l2.FlatL2``); batch norm is folded into the weights at inference.
* Every named array (weights, biases, batch-norm parameters and running statistics) is listed once,
  in ``arrays.py``: :meth:`Network.arrays` walks them with their names, kinds, layers, shapes and
  descriptions, and the flat buffer's layout, :meth:`parameters`, :meth:`buffers`, the L2 sum, the
  weights table, saving, loading and export all come from that walk.
"""

from __future__ import annotations

import numpy as np

from .activations import ACTIVATIONS, DERIVATIVES
from .arrays import NamedArray, affine_first, array_specs
from .l2 import FlatL2, l2_penalty, sum_of_squares
from .layers import (
    SPARSE_INPUT_MIN_UNITS,
    affine_backward,
    affine_forward,
    batch_norm_backward,
    batch_norm_forward,
    fold_batch_norm,
    sparse_input_backward,
    sparse_input_forward,
)
from .loss import cross_entropy_from_logits, softmax, softmax_cross_entropy

INITS = ("he", "normal")


def settings_problems(layer_sizes, init="he", init_std=0.01, activation="relu") -> list[str]:
    """Why these settings cannot make a network, as sentences in the words of
    ``TrainConfig.problems`` (which adds digitlab's own limits: 784 inputs, 10 classes, sizes);
    empty if they can. Only what the arrays themselves need is checked here."""
    sizes = tuple(layer_sizes)
    p = []
    if len(sizes) < 2:
        p.append(f"layer_sizes needs at least an input and an output size, got {sizes}")
    elif any(s < 1 for s in sizes):
        p.append(f"layer_sizes must be whole numbers >= 1, got {sizes}")
    elif sizes[-1] < 2:
        p.append(f"the output layer needs at least 2 classes, got {sizes[-1]}")
    if init not in INITS:
        p.append(f"init must be one of {', '.join(INITS)}, got {init!r}")
    elif init == "normal" and not init_std > 0:
        p.append(f"init_std must be > 0, got {init_std:g}")
    if activation not in ACTIVATIONS:
        p.append(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    return p


def _buffer_layout(specs):
    """``[(name, offset, shape)]`` of every trainable array of the walk ``specs`` in the flat
    buffer, and its length."""
    layout, offset = [], 0
    for spec in affine_first(s for s in specs if s.trainable):
        layout.append((spec.name, offset, spec.shape))
        offset += int(np.prod(spec.shape))
    return layout, offset


class Network:
    """A multilayer perceptron with hidden layers of one activation and a softmax output.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer including the input and the output, e.g. ``(784, 20, 7, 5, 10)``.
    batch_norm : bool
        Normalise every hidden layer (learnable scale ``gamma`` and shift ``beta``).
    init : {"he", "normal"}
        Gaussian initialisation: ``"he"`` draws W with standard deviation sqrt(2 / fan_in), the
        scaling that keeps ReLU activations from shrinking layer by layer; ``"normal"`` uses the
        fixed ``init_std``. Biases start at zero either way.
    init_std : float
        Standard deviation for ``init="normal"``.
    seed : int
        Seed of the initialisation; the same seed gives the same network bit for bit.
    dtype : numpy dtype
        ``float32`` for speed, ``float64`` for gradient checks.
    bn_momentum, bn_eps : float
        Running statistics are ``momentum * running + (1 - momentum) * batch``; ``eps`` keeps the
        normalisation finite for a unit whose batch variance is zero.
    activation : str
        The hidden layers' activation, a key of ``activations.ACTIVATIONS``: "relu" (the
        default), "leaky_relu", "tanh" or "sigmoid".
    """

    def __init__(self, layer_sizes=(784, 20, 7, 5, 10), *, batch_norm=False, init="he",
                 init_std=0.01, seed=0, dtype=np.float32, bn_momentum=0.9, bn_eps=1e-5,
                 activation="relu"):
        sizes = tuple(int(s) for s in layer_sizes)
        problems = settings_problems(sizes, init, init_std, activation)
        if problems:
            raise ValueError("invalid network settings: " + "; ".join(problems))
        self.layer_sizes = sizes
        self.batch_norm = bool(batch_norm)
        self.init = init
        self.init_std = float(init_std)
        self.seed = int(seed)
        self.dtype = np.dtype(dtype)
        self.bn_momentum = float(bn_momentum)
        self.bn_eps = float(bn_eps)
        self.activation = activation
        self._activate = ACTIVATIONS[activation]
        self._derivative = DERIVATIVES[activation]
        self._allocate()
        self._initialise()
        self._constants = {}
        self._ones_out = np.ones(sizes[-1], dtype=self.dtype)
        # a wide first layer skips the batch's empty input columns in training (layers.py)
        self._sparse_input = sizes[1] >= SPARSE_INPUT_MIN_UNITS

    def _allocate(self) -> None:
        """The flat parameter and gradient buffers and the named views into them."""
        self._specs = array_specs(self.layer_sizes, self.batch_norm)     # the walk without the arrays
        self._layout, total = _buffer_layout(self._specs)
        self.params = np.zeros(total, dtype=self.dtype)
        self.grads = np.zeros(total, dtype=self.dtype)
        self._views = {n: self.params[o:o + int(np.prod(s))].reshape(s) for n, o, s in self._layout}
        self._grad_views = {n: self.grads[o:o + int(np.prod(s))].reshape(s) for n, o, s in self._layout}
        layers, hidden = range(1, self.n_layers + 1), range(1, self.n_layers) if self.batch_norm else ()
        self.weights = [self._views[f"W{i}"] for i in layers]
        self.biases = [self._views[f"b{i}"] for i in layers]
        self._dW = [self._grad_views[f"W{i}"] for i in layers]
        self._db = [self._grad_views[f"b{i}"] for i in layers]
        self.gammas = [self._views[f"gamma{i}"] for i in hidden]
        self.betas = [self._views[f"beta{i}"] for i in hidden]
        self._dgamma = [self._grad_views[f"gamma{i}"] for i in hidden]
        self._dbeta = [self._grad_views[f"beta{i}"] for i in hidden]
        # Running statistics are state, not parameters: the optimiser never touches them.
        units = self.layer_sizes[1:-1] if self.batch_norm else ()
        self.running_means = [np.zeros(u, dtype=self.dtype) for u in units]
        self.running_vars = [np.ones(u, dtype=self.dtype) for u in units]
        weight_mask = np.zeros(total, dtype=self.dtype)    # 1 where the buffer holds a weight
        for name, offset, shape in self._layout:
            if name.startswith("W"):
                weight_mask[offset:offset + int(np.prod(shape))] = 1
        self._l2 = FlatL2(weight_mask)

    def _initialise(self) -> None:
        """Gaussian weights (He or fixed std) from the seed, zero biases, batch-norm scales 1."""
        for g in self.gammas:
            g[...] = 1.0
        rng = np.random.default_rng(self.seed)
        for W in self.weights:
            std = np.sqrt(2.0 / W.shape[0]) if self.init == "he" else self.init_std
            W[...] = rng.standard_normal(W.shape) * std

    # ------------------------------------------------------------------ structure
    @property
    def n_layers(self) -> int:
        """Number of weight layers (4 for 784-20-7-5-10)."""
        return len(self.layer_sizes) - 1

    def arrays(self) -> list[NamedArray]:
        """Every array of the network, layer by layer (W, b, then a normalised layer's gamma, beta,
        running_mean, running_var), each with its name, kind, layer, shape and the network's own
        array (a view, not a copy): the one walk over a network (``arrays.py``)."""
        state = {"running_mean": self.running_means, "running_var": self.running_vars}
        return [NamedArray(s.name, s.kind, s.layer, s.shape,
                           self._views[s.name] if s.trainable else state[s.kind][s.layer - 1])
                for s in self._specs]

    def parameters(self):
        """``[(name, view)]`` of every trainable array, in the order of the flat buffer."""
        return [(name, self._views[name]) for name, _, _ in self._layout]

    def buffers(self):
        """``[(name, array)]`` of the non-trainable state (batch-norm running statistics)."""
        return [(a.name, a.array) for a in self.arrays() if not a.trainable]

    def state(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by name."""
        return {name: arr.copy() for name, arr in self.parameters() + self.buffers()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Set every parameter and buffer from ``state`` (as made by :meth:`state`)."""
        own = dict(self.parameters() + self.buffers())
        missing = sorted(set(own) - set(state))
        extra = sorted(set(state) - set(own))
        if missing or extra:
            raise ValueError(f"state does not fit this network: missing {missing}, unexpected {extra}")
        for name, arr in own.items():
            value = np.asarray(state[name])
            if value.shape != arr.shape:
                raise ValueError(f"{name} has shape {value.shape}, this network needs {arr.shape}")
            arr[...] = value

    def copy(self, dtype=None) -> Network:
        """An independent copy, optionally in another dtype (float64 for gradient checks)."""
        other = Network(self.layer_sizes, batch_norm=self.batch_norm, init=self.init,
                        init_std=self.init_std, seed=self.seed, dtype=dtype or self.dtype,
                        bn_momentum=self.bn_momentum, bn_eps=self.bn_eps, activation=self.activation)
        other.load_state(self.state())
        return other

    def mean_abs_weights(self) -> list[float]:
        """Mean absolute value of each weight matrix: the report's weights table."""
        return [float(np.mean(np.abs(a.array))) for a in self.arrays() if a.kind == "W"]

    def l2_sum(self) -> float:
        """Sum of the squared weights (biases and BN parameters excluded)."""
        return sum_of_squares(a.array for a in self.arrays() if a.kind == "W")

    def __repr__(self) -> str:
        arch = "-".join(str(s) for s in self.layer_sizes)
        bn = ", batch_norm" if self.batch_norm else ""
        bn += f", {self.activation}" if self.activation != "relu" else ""
        return f"Network({arch}{bn}, {self.params.size} parameters, {self.dtype.name})"

    # ------------------------------------------------------------------ inference
    def _inference_layers(self):
        """(W, b) per layer with batch norm folded in: BN at inference is an affine map."""
        if not self.batch_norm:
            return list(zip(self.weights, self.biases))
        layers = []
        for i in range(self.n_layers):
            W, b = self.weights[i], self.biases[i]
            if i < self.n_layers - 1:
                W, b = fold_batch_norm(W, b, self.gammas[i], self.betas[i], self.running_means[i],
                                       self.running_vars[i], self.bn_eps)
            layers.append((W, b))
        return layers

    def inference_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(W, b)`` per layer as inference uses them (batch norm folded in): the weights a digit
        meets, e.g. to draw the network."""
        return self._inference_layers()

    def keep_masks(self, silenced) -> list[np.ndarray] | None:
        """Per hidden layer, 1 for a unit that works and 0 for a silenced one, from ``silenced``:
        ``(layer, unit)`` pairs, ``layer`` counting hidden layers from 1 (the first hidden layer
        is 1). None when nothing is silenced, so that the inference methods take their usual path.

        A silenced unit outputs 0 whatever its input ("switching a neuron off"): its activation is
        multiplied by 0 after the activation function, so the next layer never hears from it."""
        pairs = sorted({(int(layer), int(unit)) for layer, unit in (silenced or ())})
        if not pairs:
            return None
        hidden = self.layer_sizes[1:-1]
        masks = [np.ones(units, dtype=self.dtype) for units in hidden]
        for layer, unit in pairs:
            if not 1 <= layer <= len(hidden):
                raise ValueError(f"hidden layer {layer} does not exist: this network has hidden layers "
                                 f"1 to {len(hidden)}")
            if not 0 <= unit < hidden[layer - 1]:
                raise ValueError(f"hidden layer {layer} has units 0 to {hidden[layer - 1] - 1}, not {unit}")
            masks[layer - 1][unit] = 0
        return masks

    def logits(self, X: np.ndarray, silenced=None) -> np.ndarray:
        """Output-layer pre-activations ``(n, classes)`` in inference mode; ``silenced``: hidden
        units switched off, as :meth:`keep_masks` reads them (nothing silenced by default)."""
        A = np.asarray(X, dtype=self.dtype)
        layers = self._inference_layers()
        activate = self._activate      # looked up once: predict_one runs this on every stroke
        keep = self.keep_masks(silenced) if silenced else None
        for i, (W, b) in enumerate(layers[:-1]):
            A = A @ W
            A += b
            activate(A)
            if keep is not None:
                A *= keep[i]
        W, b = layers[-1]
        Z = A @ W
        Z += b
        return Z

    def predict_proba(self, X: np.ndarray, silenced=None) -> np.ndarray:
        """Class probabilities ``(n, classes)`` for ``X`` of shape ``(n, features)``; ``silenced``
        as for :meth:`logits`."""
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"inputs have {X.shape[1]} features, the network expects {self.layer_sizes[0]}")
        return softmax(self.logits(X, silenced))

    def predict(self, X: np.ndarray, silenced=None) -> np.ndarray:
        """Predicted class per row."""
        return np.argmax(self.predict_proba(X, silenced), axis=1)

    def predict_one(self, x: np.ndarray, silenced=None) -> np.ndarray:
        """Probabilities ``(classes,)`` for one image, ``(784,)`` or ``(28, 28)``.

        The drawing pad calls this on every stroke, so it skips the batch checks.
        """
        A = np.asarray(x, dtype=self.dtype).reshape(1, -1)
        return softmax(self.logits(A, silenced))[0]

    def hidden_activations(self, X: np.ndarray, silenced=None) -> list[np.ndarray]:
        """The activations after each hidden layer's activation function, ``[(n, units), ...]``;
        a silenced unit's (``silenced`` as for :meth:`logits`) are 0."""
        A = np.asarray(X, dtype=self.dtype)
        if A.ndim == 1:
            A = A[None, :]
        keep = self.keep_masks(silenced) if silenced else None
        out = []
        for i, (W, b) in enumerate(self._inference_layers()[:-1]):
            A = self._activate(A @ W + b)
            if keep is not None:
                A *= keep[i]
            out.append(A)
        return out

    def cost_and_accuracy(self, X: np.ndarray, y: np.ndarray, l2: float = 0.0,
                          m: int | None = None) -> tuple[float, float]:
        """Cost and accuracy in inference mode from one forward pass.

        The cost is the cross-entropy plus the L2 term ``l2 / (2 m) * sum W^2``; ``m`` defaults to
        ``len(X)``; the trainer passes the batch size so that the validation cost measures the
        same objective as the training cost.
        """
        y = np.asarray(y)
        Z = self.logits(X)
        accuracy = float(np.mean(np.argmax(Z, axis=1) == y))
        cost = cross_entropy_from_logits(Z, y)
        if l2:
            cost += l2_penalty(l2, m or len(X), self.l2_sum())
        return float(cost), accuracy

    def cost(self, X: np.ndarray, y: np.ndarray, l2: float = 0.0, m: int | None = None) -> float:
        """See :meth:`cost_and_accuracy`."""
        return self.cost_and_accuracy(X, y, l2, m)[0]

    def accuracy(self, X: np.ndarray, y: np.ndarray, silenced=None) -> float:
        """Fraction of rows classified as ``y``; ``silenced`` as for :meth:`logits`."""
        return float(np.mean(np.argmax(self.logits(X, silenced), axis=1) == np.asarray(y)))

    # ------------------------------------------------------------------ training
    def loss_and_grad(self, X: np.ndarray, y: np.ndarray, l2: float = 0.0, input_scale: float = 1.0,
                      dropout_masks=None) -> float:
        """Forward in training mode, backward, gradients into ``self.grads``; returns the cost.

        Parameters
        ----------
        X : (m, features) array of ``self.dtype``
        y : (m,) integer class labels
        l2 : float
            The report's lambda; the penalty uses m = ``len(X)``, the batch size.
        input_scale : float
            The network sees ``input_scale * X``. The trainer passes raw pixel values (0..255)
            with ``1/255`` here: scaling the first layer's small (m, units) product instead of
            the (m, 784) batch saves a pass over every pixel of every batch.
        dropout_masks : list, optional
            Inverted dropout, one entry per hidden layer: an ``(m, units)`` array of 0 and
            ``1 / (1 - p)`` that multiplies the layer's activations, or None to keep the layer
            whole (``dropout.draw_masks`` draws them; the gradient check passes fixed ones). The
            cost and gradients are those of the thinned network these masks make.

        With batch normalisation this also updates the running statistics.
        """
        m = X.shape[0]
        if dropout_masks is not None and len(dropout_masks) != self.n_layers - 1:
            raise ValueError(f"dropout_masks has {len(dropout_masks)} entries, the network has "
                             f"{self.n_layers - 1} hidden layers: give one per hidden layer (None: no mask)")
        ones, rows = self._batch_constants(m)
        Z, inputs, caches = self._forward_train(X, ones, input_scale, dropout_masks)
        cost, dZ = softmax_cross_entropy(Z, y, rows, self._ones_out)
        self._backward(dZ, inputs, caches, ones, input_scale)
        if l2:
            cost += self._l2.add_gradient(self.params, self.grads, l2, m)
        return cost

    def _first_layer(self, X: np.ndarray, bias: np.ndarray | None, input_scale: float):
        """The first layer's training-mode product and the sparse path's cache (None: dense)."""
        if self._sparse_input:
            return sparse_input_forward(X, self.weights[0], bias, input_scale)
        return affine_forward(X, self.weights[0], bias, input_scale), None

    def _forward_train(self, X: np.ndarray, ones: np.ndarray, input_scale: float, masks=None):
        """Training-mode forward: the logits, every layer's input, and the caches: the first
        layer's (``"input"``, None when dense), every normalised layer's (``"bn"``) and, with
        dropout masks, each hidden layer's activations before its mask (``"unmasked"``, None
        where the layer has no mask), which its derivative reads."""
        bn = self.batch_norm
        inputs, caches = [X], {"input": None, "bn": [], "masks": masks, "unmasked": []}
        bn_caches = caches["bn"]
        for i in range(self.n_layers - 1):
            # a normalised layer's bias cancels in Z - mean: skip it
            bias = None if bn else self.biases[i]
            if i == 0:
                Z, caches["input"] = self._first_layer(X, bias, input_scale)
            else:
                Z = affine_forward(inputs[i], self.weights[i], bias)
            if bn:
                Z, cache = batch_norm_forward(Z, self.gammas[i], self.betas[i], self.running_means[i],
                                              self.running_vars[i], ones, self.bn_momentum, self.bn_eps)
                bn_caches.append(cache)
            A = self._activate(Z)
            if masks:
                mask = masks[i]
                caches["unmasked"].append(A if mask is not None else None)
                if mask is not None:
                    A = A * mask
            inputs.append(A)
        last = self.n_layers - 1
        if last == 0:
            Z, caches["input"] = self._first_layer(X, self.biases[0], input_scale)
        else:
            Z = affine_forward(inputs[last], self.weights[last], self.biases[last])
        return Z, inputs, caches

    def _backward(self, dZ: np.ndarray, inputs, caches, ones: np.ndarray, input_scale: float) -> None:
        """From the logits' gradient ``dZ`` back to the first layer, writing ``self.grads``."""
        bn_caches, masks = caches["bn"], caches["masks"]
        for i in range(self.n_layers - 1, -1, -1):
            normalised = self.batch_norm and i < self.n_layers - 1   # (its db stays 0)
            db = None if normalised else self._db[i]
            if i == 0:
                if caches["input"] is not None:
                    sparse_input_backward(caches["input"], dZ, ones, self._dW[0], db)
                else:
                    affine_backward(inputs[0], dZ, ones, self._dW[0], db, input_scale)
                return             # the gradient for the input pixels is never needed
            affine_backward(inputs[i], dZ, ones, self._dW[i], db)
            dA = dZ @ self.weights[i].T
            if masks and masks[i - 1] is not None:
                # through the mask, then the activation's derivative at its unmasked output
                dA *= masks[i - 1]
                self._derivative(caches["unmasked"][i - 1], dA)
            else:
                self._derivative(inputs[i], dA)
            if self.batch_norm:
                dA = batch_norm_backward(dA, bn_caches[i - 1], self.gammas[i - 1], ones,
                                         self._dgamma[i - 1], self._dbeta[i - 1])
            dZ = dA

    def _batch_constants(self, m: int):
        """``ones(m)`` and ``arange(m)`` for a batch of m rows, made once per batch size."""
        cached = self._constants.get(m)
        if cached is None:
            cached = self._constants[m] = (np.ones(m, dtype=self.dtype), np.arange(m))
        return cached
