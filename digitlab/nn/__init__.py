"""The network in pure NumPy: layers, softmax cross-entropy, optimisers. Needs numpy alone."""

from .loss import cross_entropy_from_logits, softmax
from .network import INITS, Network
from .optimizers import OPTIMIZERS, SGD, Adam, Momentum, make_optimizer

__all__ = ["INITS", "Network", "cross_entropy_from_logits", "softmax",
           "OPTIMIZERS", "SGD", "Adam", "Momentum", "make_optimizer"]
