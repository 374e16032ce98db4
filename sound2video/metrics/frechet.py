"""Fréchet distance between Gaussians fitted to features, computed in float64 from streaming statistics."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

SQRTM_EPS = 1e-6  # added to both covariances' diagonals when sqrtm of their product is not finite


@dataclass
class RunningStats:
    """Mean and covariance accumulated batch by batch (sums in float64), so features need not be kept."""

    dim: int | None = None
    count: int = 0
    _sum: np.ndarray | None = field(default=None, repr=False)
    _outer: np.ndarray | None = field(default=None, repr=False)

    def update(self, features: np.ndarray) -> None:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"features must be 2-D (samples, dim), got shape {x.shape}")
        if self.dim is None:
            self.dim = x.shape[1]
            self._sum = np.zeros(self.dim)
            self._outer = np.zeros((self.dim, self.dim))
        elif x.shape[1] != self.dim:
            raise ValueError(f"feature dim changed from {self.dim} to {x.shape[1]}")
        self.count += x.shape[0]
        self._sum += x.sum(axis=0)
        self._outer += x.T @ x

    def mean(self) -> np.ndarray:
        self._require(1)
        return self._sum / self.count  # type: ignore[operator]

    def cov(self, ddof: int = 0) -> np.ndarray:
        """Population covariance (``ddof=0``, the StyleGAN-V convention) or the unbiased estimator (``ddof=1``)."""
        self._require(ddof + 1)
        mu = self.mean()
        return (self._outer - self.count * np.outer(mu, mu)) / (self.count - ddof)  # type: ignore[operator]

    def _require(self, n: int) -> None:
        if self.count < n:
            raise ValueError(f"need at least {n} samples, have {self.count}")


def feature_stats(features: np.ndarray, ddof: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of a (samples, dim) array in float64."""
    stats = RunningStats()
    stats.update(features)
    return stats.mean(), stats.cov(ddof)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2)), with scipy's sqrtm.

    Fallback (as clean-fid does): if sqrtm(S1 S2) is not finite, retry with ``SQRTM_EPS * I`` added to both
    covariances. The real part of the square root is used; a warning names any imaginary part above 1e-3.
    """
    from scipy import linalg

    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {s1.shape} vs {s2.shape}")
    covmean = _sqrtm(linalg, s1 @ s2)
    if not np.isfinite(covmean).all():
        warnings.warn(f"sqrtm(S1 S2) is not finite; adding {SQRTM_EPS} * I to both covariances", stacklevel=2)
        offset = np.eye(s1.shape[0]) * SQRTM_EPS
        covmean = _sqrtm(linalg, (s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.abs(covmean.imag).max()
        if imag > 1e-3:
            warnings.warn(f"sqrtm has an imaginary component of {imag:.3g}; using the real part", stacklevel=2)
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def _sqrtm(linalg, m: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on singular input; we check finiteness ourselves
        result = linalg.sqrtm(m)
    return result[0] if isinstance(result, tuple) else result


def few_samples_note(n: int, dim: int, what: str) -> str | None:
    """Covariances of fewer samples than dimensions are rank-deficient: the note to record with the figure (the
    callers put it in their results and log it once), or None."""
    if n <= dim:
        return (
            f"{what}: {n} samples for {dim}-d features; the covariance is rank-deficient and the distance "
            f"unstable (use more than {dim} samples)"
        )
    return None
