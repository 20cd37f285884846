"""digitlab: a from-scratch NumPy neural network for MNIST, with a desktop app to watch it learn."""

__version__ = "0.1.0"
