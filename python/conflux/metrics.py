"""Fidelity metrics with the CLI's conventions (`conflux evaluate`), per explained entry:
infidelity (the CAFE paper's protocol: Gaussian noise of ``perturb_sd`` on continuous
features, categorical features resampled with probability ``categorical_prob``),
sensitivity-max (Captum's: the largest relative change of the scores over
``n_perturb_samples`` inputs in the L∞ ball of ``perturb_radius``), and |completeness gap|.
Computed in float64, as the CLI's ``evaluate``.

    from conflux import metrics
    metrics.infidelity(conflux.DeepLift(model), x)
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from . import _as_rows, _conflux, _references_and_mask, _seed

__all__ = ["completeness", "infidelity", "sensitivity_max"]


def _run(explainer: Any, inputs: Any, name: str, baselines: Any, target: Any, feature_mask: Any,
         seed: int, attribute_kwargs: Optional[dict], **native: Any) -> Optional[np.ndarray]:
    x, _ = _as_rows(explainer.model, inputs)
    r, mask = _references_and_mask(explainer.model, baselines, feature_mask)
    out = _conflux.metrics(
        explainer.model._native,
        explainer._spec(**(attribute_kwargs or {})),
        x.astype(np.float64),
        [name],
        baselines=None if r is None else r.astype(np.float64),
        target=target,
        groups=mask,
        seed=_seed(seed),
        threads=explainer.threads,
        **native,
    )
    return out[name]


def infidelity(explainer: Any, inputs: Any, baselines: Any = None, target: Any = None,
               perturb_sd: float = 0.5, n_perturb_samples: int = 10,
               categorical: Sequence[int] = (), categorical_prob: float = 0.1,
               feature_mask: Any = None, seed: int = 0,
               attribute_kwargs: Optional[dict] = None) -> np.ndarray:
    """Per-entry infidelity of ``explainer``'s scores (lower is better)."""
    return _run(explainer, inputs, "infidelity", baselines, target, feature_mask, seed,
                attribute_kwargs, perturb_sd=perturb_sd, samples=n_perturb_samples,
                categorical=list(categorical), categorical_prob=categorical_prob)


def sensitivity_max(explainer: Any, inputs: Any, baselines: Any = None, target: Any = None,
                    perturb_radius: float = 0.02, n_perturb_samples: int = 10,
                    feature_mask: Any = None, seed: int = 0,
                    attribute_kwargs: Optional[dict] = None) -> np.ndarray:
    """Per-entry sensitivity-max of ``explainer``'s scores (lower is more stable)."""
    return _run(explainer, inputs, "sensitivity-max", baselines, target, feature_mask, seed,
                attribute_kwargs, radius=perturb_radius, samples=n_perturb_samples)


def completeness(explainer: Any, inputs: Any, baselines: Any = None, target: Any = None,
                 feature_mask: Any = None, seed: int = 0,
                 attribute_kwargs: Optional[dict] = None) -> Optional[np.ndarray]:
    """Per-entry |Σ scores − (F(x) − baseline)|, or ``None`` for methods that claim no
    completeness."""
    return _run(explainer, inputs, "completeness", baselines, target, feature_mask, seed,
                attribute_kwargs)
