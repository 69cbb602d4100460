"""Seeds, normalised once (as networkx's ``np_random_state``): every random choice records an int.

Examples
--------
>>> normalize_seed(7)
7
>>> isinstance(normalize_seed(None), int)
True
>>> normalize_seed(-1)
Traceback (most recent call last):
...
qslack.exceptions.ValidationError: seed must be an integer >= 0 or None, got -1
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.exceptions import ValidationError

__all__ = ["normalize_seed", "step_seed"]


def normalize_seed(seed: Any) -> int:
    """``seed`` as a non-negative int; ``None`` draws a fresh one (to be recorded by the caller)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise ValidationError(f"seed must be an integer >= 0 or None, got {seed!r}")
    return int(seed)


def step_seed(seed: int, step: int) -> int:
    """The sampler seed of outer step ``step`` of a run seeded ``seed``: ``SeedSequence([seed, step])``.

    A resumed run draws exactly what an uninterrupted one would.

    Examples
    --------
    >>> step_seed(1, 3) == step_seed(1, 3) != step_seed(1, 4)
    True
    """
    return int(np.random.SeedSequence([int(seed), int(step)]).generate_state(1, dtype=np.uint64)[0] >> 1)
