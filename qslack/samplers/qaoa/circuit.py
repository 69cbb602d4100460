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

With an :class:`~qslack.samplers.qaoa.ansatz.Ansatz` the initial ``H`` layer and
the ``RX`` mixer are replaced by the ansatz's (same gates and order as the
kernel of :mod:`~qslack.samplers.qaoa.kernel_ansatz`):

* initial state: ``H`` (uniform), ``X`` on the 1-bits (a basis state),
  ``RY(2 arcsin sqrt(c_j))`` (warm start), or per one-hot group a W state made
  by ``X`` on its first qubit and a cascade ``CRY(t_a)(g_a -> g_{a+1})``,
  ``CX(g_{a+1} -> g_a)`` with ``cos(t_a / 2) = 1 / sqrt(k - a)`` (real, equal
  amplitudes; ``H`` on the qubits outside the groups);
* mixer: ``XXPlusYYGate(2 beta)`` (``= exp(-i beta (XX + YY) / 2)``) per XY pair,
  ``RX(2 beta)`` per free qubit, ``RY(theta_j) RZ(2 beta) RY(-theta_j)`` per qubit
  for the warm-start mixer.

``p = 0`` is allowed: the circuit is the initial state alone.

qiskit is imported inside the function only.
"""

from __future__ import annotations

import numpy as np

from qslack.exceptions import ValidationError

__all__ = ["append_initial_state", "append_mixer", "qaoa_circuit"]


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


def append_initial_state(qc, ansatz) -> None:
    """Append the gates that prepare ``ansatz``'s initial state from ``|0...0>`` to ``qc``.

    Examples
    --------
    >>> from qiskit import QuantumCircuit
    >>> from qslack.samplers.qaoa.ansatz import Ansatz
    >>> qc = QuantumCircuit(3)
    >>> append_initial_state(qc, Ansatz.build(3, mixer="xy-ring", groups=[[0, 1, 2]]))
    >>> sorted(dict(qc.count_ops()).items())
    [('cry', 2), ('cx', 2), ('x', 1)]
    """
    n = ansatz.n
    if ansatz.initial == "uniform":
        qc.h(range(n))
    elif ansatz.initial == "basis":
        ones = [j for j, b in enumerate(ansatz.bits) if b]
        if ones:
            qc.x(ones)
    elif ansatz.initial == "warm":
        for j, theta in enumerate(ansatz.thetas):
            qc.ry(float(theta), j)
    else:  # one-hot: W per group, |+> elsewhere
        inside = set()
        for g in ansatz.groups:
            k = len(g)
            inside.update(g)
            qc.x(g[0])
            for a in range(k - 1):
                qc.cry(2.0 * float(np.arccos(1.0 / np.sqrt(k - a))), g[a], g[a + 1])
                qc.cx(g[a + 1], g[a])
        free = [q for q in range(n) if q not in inside]
        if free:
            qc.h(free)


def append_mixer(qc, ansatz, beta) -> None:
    """Append the mixer layer ``exp(-i beta M)`` of ``ansatz`` (``beta`` a number or a Parameter).

    Examples
    --------
    >>> from qiskit import QuantumCircuit
    >>> from qslack.samplers.qaoa.ansatz import Ansatz
    >>> qc = QuantumCircuit(3)
    >>> append_mixer(qc, Ansatz.build(3, mixer="xy-complete", groups=[[0, 1, 2]]), 0.4)
    >>> dict(qc.count_ops())
    {'xx_plus_yy': 3}
    """
    from qiskit.circuit.library import XXPlusYYGate

    for plist in ansatz.pairs():
        for a, b in plist:
            qc.append(XXPlusYYGate(2.0 * beta), [a, b])
    if ansatz.mixer == "warm":
        for j, theta in enumerate(ansatz.thetas):
            qc.ry(-float(theta), j)
            qc.rz(2.0 * beta, j)
            qc.ry(float(theta), j)
    else:
        free = list(ansatz.free_qubits)
        if free:
            qc.rx(2.0 * beta, free)


def qaoa_circuit(h, J, p: int, scale: float = 1.0, *, measure: bool = False, ansatz=None):
    """Parametrised QAOA circuit of the Ising cost ``(h, J)``.

    Parameters
    ----------
    h : (n,) array
        Linear Ising coefficients.
    J : (n, n) array
        Couplings, strictly upper triangular.
    p : int
        Number of layers (>= 0; 0 gives the initial state alone).
    scale : float
        The cost is divided by ``scale`` (> 0), as in the kernel.
    measure : bool
        Append ``measure_all`` (for shot-based backends).
    ansatz : Ansatz, optional
        Mixer and initial state (default: X mixer from ``|+>^n``).

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
    if p < 0:
        raise ValidationError(f"p must be >= 0, got {p}")
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        raise ValidationError(f"scale must be finite and > 0, got {scale}")
    n = h.size
    if ansatz is not None and ansatz.n != n:
        raise ValidationError(f"the ansatz is for {ansatz.n} qubits, the cost has {n}")
    gammas = ParameterVector("gamma", p)
    betas = ParameterVector("beta", p)
    qc = QuantumCircuit(n, name=f"qaoa_p{p}")
    if ansatz is None:
        qc.h(range(n))
    else:
        append_initial_state(qc, ansatz)
    lin = [(j, float(h[j]) / scale) for j in range(n) if h[j] != 0]
    ii, jj = np.nonzero(J)
    quad = [(int(i), int(j), float(J[i, j]) / scale) for i, j in zip(ii, jj, strict=True)]
    for layer in range(p):
        g = gammas[layer]
        for j, hj in lin:
            qc.rz(2.0 * hj * g, j)
        for i, j, Jij in quad:
            qc.rzz(2.0 * Jij * g, i, j)
        if ansatz is None:
            qc.rx(2.0 * betas[layer], range(n))
        else:
            append_mixer(qc, ansatz, betas[layer])
    if measure:
        qc.measure_all()
    return qc, gammas, betas
