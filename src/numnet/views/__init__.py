"""Views: ways to see inside a model — gradient checks, explain, metrics, evaluation, reports, the
summary table and the tutorials' figures. They read models and print nothing themselves.

May import: train, inference, io, architectures, model, perceptron, layers, losses, optim, data,
functional, errors.
"""
from .summary import summary

__all__ = ["summary"]
