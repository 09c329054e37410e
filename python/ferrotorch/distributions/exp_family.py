"""``ExponentialFamily``: distributions with density ``h(x) exp(<t(x), theta> - F(theta))``."""
from __future__ import annotations

import ferrotorch as torch

from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    r"""Base class for exponential-family distributions. Subclasses give the natural parameters
    ``_natural_params``, the log normalizer ``_log_normalizer(*natural_params)`` and the
    carrier measure's expectation ``_mean_carrier_measure``; the entropy (and same-family KL)
    then follow from the Bregman divergence of the log normalizer."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        """Entropy from the log normalizer: ``F(theta) - <theta, grad F(theta)> - E[log h(x)]``."""
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = torch.autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for npar, g in zip(nparams, gradients):
            result = result - (npar * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
