"""A fully-connected network in NumPy: ReLU hidden layers, softmax output, optional batch norm.

Layout and conventions
----------------------
* Row-major: a batch ``X`` is ``(n_samples, n_features)``; a weight matrix ``W[l]`` is
  ``(fan_in, fan_out)`` so a layer is ``Z = A @ W + b``.
* Every trainable number lives in one flat buffer, ``params``, and its gradient in ``grads``, with
  the same layout. ``weights``, ``biases``, ``gammas`` and ``betas`` are views into it. The optimiser
  therefore updates the whole network with one in-place operation, and saving, export and the L2
  sum all walk the same ``parameters()`` list (the micrograd idea).
* Batch normalisation (``batch_norm=True``) acts on every hidden layer between the affine map and
  the ReLU: ``A = relu(gamma * (Z - mean) / sqrt(var + eps) + beta)``. Training uses the batch's
  statistics and updates running averages; inference uses the running averages only, so one image
  is classified exactly as it would be inside any batch. The bias ``b`` of a normalised layer is
  kept for a uniform layout, but it would cancel in ``Z - mean``, so training neither adds nor
  updates it: it stays exactly 0 (``beta`` plays its role).
* L2 exactly as the course report defines it: cost + lambda/(2m) * sum of squared weights, gradient
  + (lambda/m) * W, with m the number of examples in the batch. Biases and BN parameters are not
  penalised.
"""

from __future__ import annotations

import numpy as np

INITS = ("he", "normal")


class Network:
    """A multilayer perceptron with ReLU hidden layers and a softmax output.

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
    """

    def __init__(self, layer_sizes=(784, 20, 7, 5, 10), *, batch_norm=False, init="he",
                 init_std=0.01, seed=0, dtype=np.float32, bn_momentum=0.9, bn_eps=1e-5):
        sizes = tuple(int(s) for s in layer_sizes)
        if len(sizes) < 2:
            raise ValueError(f"layer_sizes needs at least an input and an output size, got {sizes}")
        if any(s < 1 for s in sizes):
            raise ValueError(f"every layer size must be >= 1, got {sizes}")
        if sizes[-1] < 2:
            raise ValueError(f"the output layer needs at least 2 classes, got {sizes[-1]}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if init == "normal" and not init_std > 0:
            raise ValueError(f"init_std must be > 0, got {init_std}")
        self.layer_sizes = sizes
        self.batch_norm = bool(batch_norm)
        self.init = init
        self.init_std = float(init_std)
        self.seed = int(seed)
        self.dtype = np.dtype(dtype)
        self.bn_momentum = float(bn_momentum)
        self.bn_eps = float(bn_eps)

        # Lay out every trainable array in one flat buffer.
        shapes = []
        for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            shapes.append((f"W{l + 1}", (fan_in, fan_out)))
            shapes.append((f"b{l + 1}", (fan_out,)))
        if self.batch_norm:
            for l, units in enumerate(sizes[1:-1]):
                shapes.append((f"gamma{l + 1}", (units,)))
                shapes.append((f"beta{l + 1}", (units,)))
        total = sum(int(np.prod(shape)) for _, shape in shapes)
        self.params = np.zeros(total, dtype=self.dtype)
        self.grads = np.zeros(total, dtype=self.dtype)
        self._layout = []
        offset = 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            self._layout.append((name, offset, shape))
            offset += size
        self._views = {name: self.params[o:o + int(np.prod(s))].reshape(s) for name, o, s in self._layout}
        self._grad_views = {name: self.grads[o:o + int(np.prod(s))].reshape(s) for name, o, s in self._layout}

        n_layers = len(sizes) - 1
        self.weights = [self._views[f"W{l + 1}"] for l in range(n_layers)]
        self.biases = [self._views[f"b{l + 1}"] for l in range(n_layers)]
        self._dW = [self._grad_views[f"W{l + 1}"] for l in range(n_layers)]
        self._db = [self._grad_views[f"b{l + 1}"] for l in range(n_layers)]
        n_hidden = n_layers - 1
        if self.batch_norm:
            self.gammas = [self._views[f"gamma{l + 1}"] for l in range(n_hidden)]
            self.betas = [self._views[f"beta{l + 1}"] for l in range(n_hidden)]
            self._dgamma = [self._grad_views[f"gamma{l + 1}"] for l in range(n_hidden)]
            self._dbeta = [self._grad_views[f"beta{l + 1}"] for l in range(n_hidden)]
            for g in self.gammas:
                g[...] = 1.0
        else:
            self.gammas = self.betas = self._dgamma = self._dbeta = []
        # Running statistics are state, not parameters: the optimiser never touches them.
        self.running_means = [np.zeros(u, dtype=self.dtype) for u in sizes[1:-1]] if self.batch_norm else []
        self.running_vars = [np.ones(u, dtype=self.dtype) for u in sizes[1:-1]] if self.batch_norm else []

        rng = np.random.default_rng(self.seed)
        for W in self.weights:
            std = np.sqrt(2.0 / W.shape[0]) if init == "he" else self.init_std
            W[...] = rng.standard_normal(W.shape) * std
        self._constants = {}
        self._weight_mask = np.zeros(total, dtype=self.dtype)    # 1 where the buffer holds a weight
        for name, offset, shape in self._layout:
            if name.startswith("W"):
                self._weight_mask[offset:offset + int(np.prod(shape))] = 1
        self._l2_buffer = np.empty(total, dtype=self.dtype)
        self._ones_out = np.ones(sizes[-1], dtype=self.dtype)

    # ------------------------------------------------------------------ structure
    @property
    def n_layers(self) -> int:
        """Number of weight layers (4 for 784-20-7-5-10)."""
        return len(self.layer_sizes) - 1

    def parameters(self):
        """``[(name, view)]`` of every trainable array, in the order of the flat buffer."""
        return [(name, self._views[name]) for name, _, _ in self._layout]

    def buffers(self):
        """``[(name, array)]`` of the non-trainable state (batch-norm running statistics)."""
        out = []
        for l, (m, v) in enumerate(zip(self.running_means, self.running_vars)):
            out.append((f"running_mean{l + 1}", m))
            out.append((f"running_var{l + 1}", v))
        return out

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

    def copy(self, dtype=None) -> "Network":
        """An independent copy, optionally in another dtype (float64 for gradient checks)."""
        other = Network(self.layer_sizes, batch_norm=self.batch_norm, init=self.init,
                        init_std=self.init_std, seed=self.seed, dtype=dtype or self.dtype,
                        bn_momentum=self.bn_momentum, bn_eps=self.bn_eps)
        other.load_state(self.state())
        return other

    def mean_abs_weights(self) -> list[float]:
        """Mean absolute value of each weight matrix: the report's weights table."""
        return [float(np.mean(np.abs(W))) for W in self.weights]

    def l2_sum(self) -> float:
        """Sum of the squared weights (biases and BN parameters excluded)."""
        return float(sum(np.dot(W.ravel(), W.ravel()) for W in self.weights))

    def __repr__(self) -> str:
        arch = "-".join(str(s) for s in self.layer_sizes)
        bn = ", batch_norm" if self.batch_norm else ""
        return f"Network({arch}{bn}, {self.params.size} parameters, {self.dtype.name})"

    # ------------------------------------------------------------------ inference
    def _inference_layers(self):
        """(W, b) per layer with batch norm folded in: BN at inference is an affine map."""
        layers = []
        for l in range(self.n_layers):
            W, b = self.weights[l], self.biases[l]
            if self.batch_norm and l < self.n_layers - 1:
                scale = self.gammas[l] / np.sqrt(self.running_vars[l] + self.bn_eps)
                W = W * scale
                b = (b - self.running_means[l]) * scale + self.betas[l]
            layers.append((W, b))
        return layers

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Output-layer pre-activations ``(n, classes)`` in inference mode."""
        A = np.asarray(X, dtype=self.dtype)
        layers = self._inference_layers()
        for W, b in layers[:-1]:
            A = A @ W
            A += b
            np.maximum(A, 0, out=A)
        W, b = layers[-1]
        Z = A @ W
        Z += b
        return Z

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, classes)`` for ``X`` of shape ``(n, features)``."""
        X = np.asarray(X)
        if X.ndim == 1:
            X = X[None, :]
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"inputs have {X.shape[1]} features, the network expects {self.layer_sizes[0]}")
        return softmax(self.logits(X))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class per row."""
        return np.argmax(self.predict_proba(X), axis=1)

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        """Probabilities ``(classes,)`` for one image, ``(784,)`` or ``(28, 28)``.

        The drawing pad calls this on every stroke, so it skips the batch checks.
        """
        A = np.asarray(x, dtype=self.dtype).reshape(1, -1)
        return softmax(self.logits(A))[0]

    def hidden_activations(self, X: np.ndarray) -> list[np.ndarray]:
        """The activations after each hidden layer's ReLU, ``[(n, units), ...]``."""
        A = np.asarray(X, dtype=self.dtype)
        if A.ndim == 1:
            A = A[None, :]
        out = []
        for W, b in self._inference_layers()[:-1]:
            A = np.maximum(A @ W + b, 0)
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
            cost += l2 / (2 * (m or len(X))) * self.l2_sum()
        return float(cost), accuracy

    def cost(self, X: np.ndarray, y: np.ndarray, l2: float = 0.0, m: int | None = None) -> float:
        """See :meth:`cost_and_accuracy`."""
        return self.cost_and_accuracy(X, y, l2, m)[0]

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(np.argmax(self.logits(X), axis=1) == np.asarray(y)))

    # ------------------------------------------------------------------ training
    def loss_and_grad(self, X: np.ndarray, y: np.ndarray, l2: float = 0.0, input_scale: float = 1.0) -> float:
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

        With batch normalisation this also updates the running statistics.
        """
        m = X.shape[0]
        ones, rows = self._batch_constants(m)
        n_layers = self.n_layers
        bn = self.batch_norm
        A = X
        acts = [X]        # input of each layer
        cache = []        # per hidden layer: (Y, xhat, inv_std) with Y the pre-ReLU value
        # Column sums are written as products with a ones vector: at these sizes a matmul is
        # several times faster than NumPy's axis-0 reduction.
        for l in range(n_layers - 1):
            Z = A @ self.weights[l]
            if l == 0 and input_scale != 1.0:
                Z *= input_scale
            if not bn:                # a normalised layer's bias cancels in Z - mean: skip it
                Z += self.biases[l]
            if bn:
                mean = ones @ Z
                mean /= m
                Z -= mean
                var = ones @ (Z * Z)
                var /= m
                inv_std = 1.0 / np.sqrt(var + self.bn_eps)
                Z *= inv_std                      # Z is now xhat
                xhat = Z
                Y = xhat * self.gammas[l]
                Y += self.betas[l]
                mom = self.bn_momentum
                self.running_means[l] *= mom
                self.running_means[l] += (1 - mom) * mean
                self.running_vars[l] *= mom
                self.running_vars[l] += (1 - mom) * (m / max(m - 1, 1)) * var
                cache.append((Y, xhat, inv_std))
            else:
                Y = Z
                cache.append((Y, None, None))
            A = np.maximum(Y, 0)
            acts.append(A)
        Z = A @ self.weights[-1]
        Z += self.biases[-1]

        # Softmax and cross-entropy from shifted logits: exp never overflows (the largest exponent
        # is 0) and log never sees 0 (log-sum-exp instead of the log of a probability). Shifting
        # by the batch's maximum is one fast reduction; only if that underflows a whole row (logits
        # more than ~80 apart across rows) do we pay for the exact per-row maximum.
        Z -= Z.max()
        E = np.exp(Z)
        S = E @ self._ones_out
        if S.min() < 1e-30:
            Z += Z.max()                              # undo, then shift row by row
            Z -= Z.max(axis=1, keepdims=True)
            np.exp(Z, out=E)
            S = E @ self._ones_out
        picked = Z[rows, y]
        cost = float(np.log(S).sum() - picked.sum()) / m

        # The softmax + cross-entropy shortcut: dCost/dZ = (P - onehot(y)) / m. The Jacobian of
        # softmax and the 1/p of the log cancel, which is why the two are always paired.
        dZ = E
        dZ /= S[:, None]
        dZ[rows, y] -= 1.0
        dZ /= m

        for l in range(n_layers - 1, -1, -1):
            np.matmul(acts[l].T, dZ, out=self._dW[l])
            if l == 0 and input_scale != 1.0:
                self._dW[0] *= input_scale
            if not (bn and l < n_layers - 1):
                np.matmul(ones, dZ, out=self._db[l])   # (a normalised layer's db stays 0)
            if l == 0:
                break              # the gradient for the input pixels is never needed
            dA = dZ @ self.weights[l].T
            Y, xhat, inv_std = cache[l - 1]
            dA *= Y > 0            # ReLU
            if bn:
                gamma = self.gammas[l - 1]
                dbeta = np.matmul(ones, dA, out=self._dbeta[l - 1])
                dgamma = np.matmul(ones, dA * xhat, out=self._dgamma[l - 1])
                # The exact BN backward, simplified: dZ = gamma/(m sigma) (m dY - sum dY - xhat sum dY xhat)
                dA *= m
                dA -= dbeta
                dA -= xhat * dgamma
                dA *= gamma * inv_std / m
            dZ = dA
        if l2:
            # The report's L2 over every weight at once through the flat buffers: the masked
            # parameters give both the penalty sum(W^2) and its gradient (lambda/m) W.
            masked = np.multiply(self.params, self._weight_mask, out=self._l2_buffer)
            cost += l2 / (2 * m) * float(masked @ masked)
            masked *= l2 / m
            self.grads += masked
        return cost

    def _batch_constants(self, m: int):
        """``ones(m)`` and ``arange(m)`` for a batch of m rows, made once per batch size."""
        cached = self._constants.get(m)
        if cached is None:
            cached = self._constants[m] = (np.ones(m, dtype=self.dtype), np.arange(m))
        return cached


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum so that exp cannot overflow."""
    Z = Z - Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def cross_entropy_from_logits(Z: np.ndarray, y: np.ndarray) -> float:
    """Mean categorical cross-entropy of integer labels ``y`` given logits ``Z``, computed stably.

    Row maxima are taken over a transposed copy: NumPy reduces a (n, 10) array along its short
    axis about fifty times slower than along its long one.
    """
    Z = Z - np.ascontiguousarray(Z.T).max(axis=0)[:, None]
    log_s = np.log(np.exp(Z) @ np.ones(Z.shape[1], dtype=Z.dtype))
    return float(np.mean(log_s - Z[np.arange(len(y)), y]))
