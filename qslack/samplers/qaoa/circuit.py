"""The QAOA circuit of an Ising cost, parametrised by the same angles as the kernel.

``qaoa_circuit(h, J, p, scale)`` builds, for ``H = offset + sum_j h_j z_j +
sum_{i<j} J_ij z_i z_j``::

    H on every qubit
    for each layer l:
        RZ(2 gamma_l h_j / scale) on qubit j            (h_j != 0)
        RZZ(2 gamma_l J_ij / scale) on qubits (i, j)    (J_ij != 0)
        RX(2 beta_l) on every qubit

which is ``exp(-i beta sum X) exp(-i gamma H / scale)`` per layer up to a
global phase (``RZ(t) = exp(-i t Z / 2)``, ``RX(2b) = exp(-i b X)``).  Binding
the kernel's ``(gammas, betas)`` therefore gives the kernel's state, with the
diagonal ``diag[k] = H(x(k))`` and ``x_j = (1 - z_j) / 2`` (qubit j = bit j of
the basis index, Qiskit's order).

qiskit is imported inside the function only.
"""

from __future__ import annotations

import numpy as np

from qslack.exceptions import ValidationError

__all__ = ["qaoa_circuit"]


def _check_ising(h, J) -> tuple[np.ndarray, np.ndarray]:
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 1:
        raise ValidationError(f"h must be 1-d, got shape {h.shape}")
    n = h.size
    J = np.asarray(J, dtype=np.float64)
    if J.shape != (n, n):
        raise ValidationError(f"J must have shape ({n}, {n}), got {J.shape}")
    if np.any(np.tril(J) != 0):
        raise ValidationError("J must be strictly upper triangular (J[i, j] for i < j)")
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(J))):
        raise ValidationError("h and J must be finite")
    return h, J


def qaoa_circuit(h, J, p: int, scale: float = 1.0, *, measure: bool = False):
    """Parametrised QAOA circuit of the Ising cost ``(h, J)``.

    Parameters
    ----------
    h : (n,) array
        Linear Ising coefficients.
    J : (n, n) array
        Couplings, strictly upper triangular.
    p : int
        Number of layers (>= 1).
    scale : float
        The cost is divided by ``scale`` (> 0), as in the kernel.
    measure : bool
        Append ``measure_all`` (for shot-based backends).

    Returns
    -------
    circuit : qiskit.QuantumCircuit
    gammas, betas : qiskit.circuit.ParameterVector
        Length-``p`` parameter vectors (named ``gamma`` and ``beta``).

    Examples
    --------
    >>> import numpy as np
    >>> qc, g, b = qaoa_circuit(np.array([1.0, 0.0]), np.array([[0, 0.5], [0, 0]]), 1)
    >>> dict(qc.count_ops())["rzz"], dict(qc.count_ops())["rz"]
    (1, 1)
    """
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    h, J = _check_ising(h, J)
    p = int(p)
    if p < 1:
        raise ValidationError(f"p must be >= 1, got {p}")
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValidationError(f"scale must be finite and > 0, got {scale}")
    n = h.size
    gammas = ParameterVector("gamma", p)
    betas = ParameterVector("beta", p)
    qc = QuantumCircuit(n, name=f"qaoa_p{p}")
    qc.h(range(n))
    lin = [(j, float(h[j]) / scale) for j in range(n) if h[j] != 0]
    ii, jj = np.nonzero(J)
    quad = [(int(i), int(j), float(J[i, j]) / scale) for i, j in zip(ii, jj, strict=True)]
    for layer in range(p):
        g = gammas[layer]
        for j, hj in lin:
            qc.rz(2.0 * hj * g, j)
        for i, j, Jij in quad:
            qc.rzz(2.0 * Jij * g, i, j)
        qc.rx(2.0 * betas[layer], range(n))
    if measure:
        qc.measure_all()
    return qc, gammas, betas
