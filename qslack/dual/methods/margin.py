"""Multipliers that make the best known solution the ground state with the largest *normalised* margin.

The dual methods (subgradient, bundle, ...) climb the dual function; on
inequality rows with ``rho > 0`` and on product rows that is not what QAOA
needs.  QAOA needs the wanted solution ``x*`` to be the ground state of the
QUBO it samples *by a margin it can resolve*: the cost layer is
``exp(-i gamma H / s)`` with ``s = max |Ising coefficient|``
(:meth:`qslack.model.qubo.QUBO.to_ising`), so what the circuit sees of an
energy gap is the gap divided by ``s``.

For fixed ``rho`` the energy ``H(x) = f(x) + lam . g(x) + sum_k rho_k / 2 g_k(x)^2``
is affine in ``lam`` (product rows: ``g = x_u x_v``), and so is every Ising
coefficient.  Maximising the smallest normalised margin over a pool ``P`` of
states,

    max_lam  min_{x in P} (H(x) - H(x*)) / s(lam),

is a linear-fractional program; with ``(tau, u) = (1, lam) / s`` (Charnes and
Cooper) it is the LP

    max t  s.t.  tau (f(x) - f*) + u . (g(x) - g*) + v (q(x) - q*) >= t   (x in P)
                 |Ising coefficient_i(tau, u, v)| <= 1                       (all i)
                 lo tau <= u <= hi tau   (the multiplier box, the sign rules and the
                                          product rows' exactness floors)

solved by HiGHS (``scipy.optimize.linprog``); ``lam = u / tau``.  With
``rho_scale="free"`` (the default) the quadratic weights are
``rho = r * rho_start`` with ``r = v / tau`` in ``rho_bounds`` chosen by the same
LP (``q(x) = sum rho_start / 2 g^2``); with ``"fixed"`` ``v`` is held at the
current ``rho``.  The freedom has a price: the LP makes the *known* target the
ground state, and a small ``rho`` can bury a better, unseen solution under it
(the exact-oracle loop then never samples it); the neighbourhood moves below
guard against that.  ``normalise="l1"`` bounds
the sum of the absolute coefficients (an upper bound on half the energy
range) instead of the largest; ``"none"`` fixes ``tau = 1`` (the raw margin
in energy units).  When no multiplier in the box makes ``x*`` the ground
state of the pool (``t <= 0``), the raw margin is maximised instead (the
least violated order).

The pool is a cutting-plane model in multiplier space: it grows by every
distinct sample of every step (QAOA reveals the low-energy infeasible states
that undercut ``x*``) and by the Hamming-``neighbourhood`` ball around ``x*``
(states one or two flips away, where the competitors of a knapsack optimum
sit), and is pruned to the ``max_pool`` states with the smallest normalised
margin under the new multipliers.  It lives in the method state as packed
bit strings (JSON-able).  States outside the subspace the ansatz keeps
(``LagrangianForm(enforced=...)`` rows) never compete and are left out.

``x*`` is the best feasible solution known: the raw and repaired incumbents,
feasible pool states and, with ``local_search=True``, the best feasible
state reached from them by first-improvement moves inside the neighbourhood
ball (a cheap classical step; ``method_state["target_source"]`` says where
``x*`` came from).

``dual_steps = k`` runs ``dual_method`` (default ``bundle``, with
``dual_options``) for the first ``k`` steps and margin steps after
("dual-then-margin"); the pool is collected from the start.

Options
-------
normalise : {"scale", "l1", "none"}
rho_scale : {"fixed", "free"}
rho_bounds : [float, float]
    Bounds of ``r`` (multiples of the starting ``rho``) with ``rho_scale="free"``.
max_pool : int
neighbourhood : {0, 1, 2}
local_search : bool
dual_steps : int
dual_method : str
dual_options : dict

Examples
--------
>>> from qslack.dual import DualProblem, init_state, ask, step
>>> from qslack.model.lagrangian import LagrangianForm
>>> from qslack.model.program import BinaryProgram
>>> from qslack.samplers.exact import ExactSampler
>>> p = BinaryProgram.from_arrays(c=[-5.0, -4.0, -3.0], A=[[2.0, 3.0, 1.0]], b=[3.0], sense="<=")
>>> problem = DualProblem(LagrangianForm(p), optimum=-8.0)
>>> state = init_state(problem, "margin", seed=0)
>>> for _ in range(3):
...     req = ask(state, problem)
...     state, it = step(state, ExactSampler(n_lowest=4).sample(req.qubo, seed=req.seed), problem)
>>> state.method_state["target_objective"], state.method_state["margin"] > 0
(-8.0, True)
>>> E = problem.form.diagonal(state.lam, state.rho)       # x* = 101 is now the ground state
>>> int(np.argmin(E)), bool(np.sort(E)[1] > E.min())
(5, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qslack.dual.methods import Method, MethodContext, Observation, Update, resolve_options
from qslack.dual.methods._common import multiplier_box
from qslack.exceptions import OptionError

__all__ = ["METHOD", "ising_coefficient_map", "margin_lp", "pack", "unpack"]

DEFAULTS: dict[str, Any] = {
    "normalise": "scale",
    "rho_scale": "free",
    "rho_bounds": [0.1, 10.0],
    "max_pool": 2000,
    "neighbourhood": 2,
    "local_search": True,
    "dual_steps": 0,
    "dual_method": "bundle",
    "dual_options": {},
}
_NORMALISE = ("scale", "l1", "none")
_RHO_SCALE = ("fixed", "free")


def get_method(name: str) -> Method:
    """The registry's method ``name`` (looked up when called: the registry imports this module)."""
    from qslack.dual import methods

    return methods.get_method(name)


# ----------------------------------------------------------------------------- bit strings
def pack(X: np.ndarray) -> list[str]:
    """Rows of a 0/1 matrix as hex strings (little-endian bit order), JSON-able.

    Examples
    --------
    >>> pack(np.array([[1, 0, 0, 0, 0, 0, 0, 0, 1], [0, 1, 0, 0, 0, 0, 0, 0, 0]]))
    ['0101', '0200']
    >>> unpack(['0101', '0200'], 9).tolist()
    [[1, 0, 0, 0, 0, 0, 0, 0, 1], [0, 1, 0, 0, 0, 0, 0, 0, 0]]
    """
    X = np.atleast_2d(np.asarray(X, dtype=np.uint8))
    if X.shape[0] == 0:
        return []
    B = np.packbits(X, axis=1, bitorder="little")
    return [row.tobytes().hex() for row in B]


def unpack(rows: list[str], n: int) -> np.ndarray:
    """Inverse of :func:`pack`: a ``(len(rows), n)`` uint8 matrix."""
    if not rows:
        return np.zeros((0, n), dtype=np.uint8)
    B = np.frombuffer(bytes.fromhex("".join(rows)), dtype=np.uint8).reshape(len(rows), -1)
    return np.unpackbits(B, axis=1, count=n, bitorder="little")


# ----------------------------------------------------------------------------- linear maps
def _ising_vector(Q: np.ndarray) -> np.ndarray:
    """Ising coefficients ``(h, J upper)`` of an upper-triangular QUBO matrix (linear in ``Q``)."""
    a = np.diag(Q)
    U = np.triu(Q, 1)
    h = -a / 2 - (U.sum(axis=1) + U.sum(axis=0)) / 4
    iu = np.triu_indices(Q.shape[0], 1)
    return np.concatenate([h, U[iu] / 4])


def ising_coefficient_map(
    form: Any, rho: np.ndarray, rho_ref: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(c0, C, c_rho)``: the Ising coefficients of ``H(.; lam, rho)`` are ``c0 + C @ lam``.

    With ``rho_ref`` given, ``rho`` is ignored and the coefficients of
    ``H(.; lam, r * rho_ref)`` are ``c0 + C @ lam + r * c_rho``.

    Examples
    --------
    >>> from qslack.model.lagrangian import LagrangianForm
    >>> from qslack.model.program import BinaryProgram
    >>> p = BinaryProgram.from_arrays(c=[-2.0, -1.0], A=[[1.0, 1.0]], b=[1.0], sense="<=")
    >>> form = LagrangianForm(p)
    >>> c0, C, _ = ising_coefficient_map(form, np.array([0.5]))
    >>> lam = np.array([0.7])
    >>> q = form.qubo(lam, [0.5]).to_ising()
    >>> np.allclose(c0 + C @ lam, np.concatenate([q.h, [q.J[0, 1]]]))
    True
    """
    m = form.n_cons
    zeros = np.zeros(m)
    base_rho = np.zeros(m) if rho_ref is not None else np.asarray(rho, dtype=np.float64)
    c0 = _ising_vector(form.qubo_terms(zeros, base_rho)[0])
    C = np.empty((c0.size, m))
    for k in range(m):
        e = np.zeros(m)
        e[k] = 1.0
        C[:, k] = _ising_vector(form.qubo_terms(e, base_rho)[0]) - c0
    c_rho = None
    if rho_ref is not None:
        c_rho = _ising_vector(form.qubo_terms(zeros, rho_ref)[0]) - c0
    return c0, C, c_rho


def margin_lp(
    dF: np.ndarray,
    dG: np.ndarray,
    dQ: np.ndarray | None,
    c0: np.ndarray,
    C: np.ndarray,
    c_rho: np.ndarray | None,
    lo: np.ndarray,
    hi: np.ndarray,
    fixed: np.ndarray,
    *,
    normalise: str = "scale",
    r_bounds: tuple[float, float] = (0.0, 10.0),
) -> tuple[np.ndarray | None, float | None, float] | None:
    """Solve the margin LP of the module docstring: ``(lam, r, t)``, or None when HiGHS fails.

    ``dF (k,)``, ``dG (k, m)``, ``dQ (k,)``: objective, residual and (free-rho)
    quadratic differences of the ``k`` competitors to the target; ``c0, C,
    c_rho``: :func:`ising_coefficient_map`; ``lo, hi``: the multiplier box;
    ``fixed``: rows whose multiplier is held at 0 (enforced rows).  ``t`` is
    the margin in units of the phase scale (``normalise="scale"``), of the
    coefficients' 1-norm (``"l1"``) or of energy (``"none"``).  When no
    multiplier gives a positive normalised margin the homogenised LP's optimum
    is ``tau = 0``: then ``lam`` is None and ``t = 0``.

    Examples
    --------
    Two competitors, one multiplier: ``H(x1) - H(x*) = 1 - lam``,
    ``H(x2) - H(x*) = -2 + 2 lam``; the raw margin peaks at ``lam = 1``:

    >>> out = margin_lp(np.array([1.0, -2.0]), np.array([[-1.0], [2.0]]), None, np.zeros(0),
    ...                 np.zeros((0, 1)), None, np.array([0.0]), np.array([10.0]), np.array([False]),
    ...                 normalise="none")
    >>> [round(float(v), 6) for v in out[0]], out[1], round(out[2], 6)
    ([1.0], None, 0.0)
    """
    from scipy.optimize import linprog

    k, m = dG.shape
    free_r = dQ is not None and c_rho is not None
    # variables: tau, u (m), [v], t, [w (ncoef) for l1]
    nz = np.flatnonzero((np.abs(C).sum(axis=1) + np.abs(c0) + (np.abs(c_rho) if free_r else 0.0)) > 0)
    c0n, Cn = c0[nz], C[nz]
    crn = c_rho[nz] if free_r else None
    ncoef = nz.size if normalise == "l1" else 0
    nv = 1 + m + (1 if free_r else 0) + 1 + ncoef
    it = 1 + m + (1 if free_r else 0)
    iv = 1 + m
    cost = np.zeros(nv)
    cost[it] = -1.0
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    # margins: t - tau dF - u.dG - v dQ <= 0
    Am = np.zeros((k, nv))
    Am[:, 0] = -dF
    Am[:, 1 : 1 + m] = -dG
    if free_r:
        Am[:, iv] = -dQ
    Am[:, it] = 1.0
    rows.append(Am)
    rhs.extend([0.0] * k)

    def coef_rows() -> np.ndarray:
        A = np.zeros((nz.size, nv))
        A[:, 0] = c0n
        A[:, 1 : 1 + m] = Cn
        if free_r:
            A[:, iv] = crn
        return A

    if normalise == "scale" and nz.size:
        A = coef_rows()
        rows += [A, -A]
        rhs += [1.0] * (2 * nz.size)
    elif normalise == "l1" and nz.size:
        A = coef_rows()
        W = np.zeros((nz.size, nv))
        W[np.arange(nz.size), it + 1 + np.arange(nz.size)] = -1.0
        rows += [A + W, -A + W]
        rhs += [0.0] * (2 * nz.size)
        s = np.zeros((1, nv))
        s[0, it + 1 :] = 1.0
        rows.append(s)
        rhs.append(1.0)
    # the box, homogenised: lo tau <= u <= hi tau (held rows: u = 0)
    for j in range(m):
        if fixed[j]:
            continue
        r_up = np.zeros(nv)
        r_up[1 + j], r_up[0] = 1.0, -hi[j]
        r_lo = np.zeros(nv)
        r_lo[1 + j], r_lo[0] = -1.0, lo[j]
        rows += [r_up[None, :], r_lo[None, :]]
        rhs += [0.0, 0.0]
    if free_r:
        r_up = np.zeros(nv)
        r_up[iv], r_up[0] = 1.0, -r_bounds[1]
        r_lo = np.zeros(nv)
        r_lo[iv], r_lo[0] = -1.0, r_bounds[0]
        rows += [r_up[None, :], r_lo[None, :]]
        rhs += [0.0, 0.0]
    bounds: list[tuple[float | None, float | None]] = [(1.0, 1.0) if normalise == "none" else (0.0, None)]
    bounds += [(0.0, 0.0) if fixed[j] else (None, None) for j in range(m)]
    if free_r:
        bounds.append((0.0, None))
    bounds.append((None, None))
    bounds += [(0.0, None)] * ncoef
    res = linprog(cost, A_ub=np.vstack(rows), b_ub=np.asarray(rhs), bounds=bounds, method="highs")
    if res.status != 0:
        return None
    x = res.x
    tau = float(x[0])
    if tau <= 1e-12:
        return None, None, 0.0
    lam = x[1 : 1 + m] / tau
    r = float(x[iv] / tau) if free_r else None
    return lam, r, float(x[it])


# ----------------------------------------------------------------------------- pieces
def _neighbours(x: np.ndarray, radius: int) -> np.ndarray:
    """Every state within Hamming distance ``radius`` (1 or 2) of ``x``, ``x`` excluded."""
    n = x.size
    out = []
    if radius >= 1:
        X1 = np.repeat(x[None, :], n, axis=0)
        X1[np.arange(n), np.arange(n)] ^= 1
        out.append(X1)
    if radius >= 2 and n > 1:
        i, j = np.triu_indices(n, 1)
        X2 = np.repeat(x[None, :], i.size, axis=0)
        X2[np.arange(i.size), i] ^= 1
        X2[np.arange(i.size), j] ^= 1
        out.append(X2)
    return np.vstack(out) if out else np.zeros((0, n), dtype=np.uint8)


def _in_subspace(form: Any, X: np.ndarray) -> np.ndarray:
    """States that satisfy every row the ansatz enforces (all states when none is)."""
    if not form.enforced.any():
        return np.ones(X.shape[0], dtype=bool)
    R = form.program.residuals(X)[:, form.enforced]
    return np.all(np.abs(R) <= 1e-9, axis=1)


def _target(state: Any, form: Any, pool: np.ndarray, opts: dict[str, Any]) -> tuple[Any, float, str]:
    """``(x*, f(x*), source)``: the best feasible state known (None when there is none)."""
    prog = form.program
    cands: list[tuple[float, int, np.ndarray, str]] = []
    for inc, src in ((state.best, "sample"), (state.best_repaired, "repair")):
        if inc.x is not None:
            cands.append((float(inc.objective), len(cands), np.asarray(inc.x, dtype=np.uint8), src))
    if pool.shape[0]:
        feas = prog.is_feasible(pool) & _in_subspace(form, pool)
        if feas.any():
            obj = np.where(feas, prog.objective(pool), np.inf)
            j = int(np.argmin(obj))
            cands.append((float(obj[j]), len(cands), pool[j].copy(), "pool"))
    if not cands:
        return None, float("nan"), "none"
    fbest, _, x, src = min(cands, key=lambda c: (c[0], c[1]))
    if opts["local_search"] and opts["neighbourhood"] > 0:
        for _ in range(50):  # first-improvement descent inside the neighbourhood ball
            N = _neighbours(x, int(opts["neighbourhood"]))
            ok = prog.is_feasible(N) & _in_subspace(form, N)
            if not ok.any():
                break
            objN = np.where(ok, prog.objective(N), np.inf)
            j = int(np.argmin(objN))
            if objN[j] >= fbest - 1e-9 * max(1.0, abs(fbest)):
                break
            x, fbest, src = N[j].copy(), float(objN[j]), "local search"
    return x, fbest, src


def _differences(
    form: Any, X: np.ndarray, x_star: np.ndarray, rho: np.ndarray, rho_ref: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(dF, dG, dQ)`` of states ``X`` against ``x*`` (with fixed ``rho``, its terms go into ``dF``)."""
    Xa = np.vstack([x_star[None, :], X])
    F = form.program.objective(Xa)
    G = form.residuals(Xa)
    G[:, form.enforced] = 0.0
    if rho_ref is None:
        F = F + 0.5 * (G * G) @ rho
        Qv = None
    else:
        Qv = 0.5 * (G * G) @ rho_ref
    dF = F[1:] - F[0]
    dG = G[1:] - G[0]
    dQ = None if Qv is None else Qv[1:] - Qv[0]
    return dF, dG, dQ


# ----------------------------------------------------------------------------- the method
def init(
    ctx: MethodContext, options: dict[str, Any], lam: np.ndarray, rho: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the options; the pool starts empty, the starting ``rho`` is kept as the reference."""
    opt = resolve_options("margin", DEFAULTS, options)
    if opt["normalise"] not in _NORMALISE:
        raise OptionError(f"margin normalise must be one of {_NORMALISE}, not {opt['normalise']!r}")
    if opt["rho_scale"] not in _RHO_SCALE:
        raise OptionError(f"margin rho_scale must be one of {_RHO_SCALE}, not {opt['rho_scale']!r}")
    rb = opt["rho_bounds"]
    if (
        not isinstance(rb, (list, tuple))
        or len(rb) != 2
        or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in rb)
        or not 0.0 <= rb[0] <= rb[1]
    ):
        raise OptionError(f"margin rho_bounds must be two numbers 0 <= low <= high, got {rb!r}")
    opt["rho_bounds"] = [float(rb[0]), float(rb[1])]
    for key, low in (("max_pool", 1), ("dual_steps", 0)):
        v = opt[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise OptionError(f"margin {key} must be an integer >= {low}, got {v!r}")
    if opt["neighbourhood"] not in (0, 1, 2) or isinstance(opt["neighbourhood"], bool):
        raise OptionError(f"margin neighbourhood must be 0, 1 or 2, got {opt['neighbourhood']!r}")
    if not isinstance(opt["local_search"], bool):
        raise OptionError(f"margin local_search must be true or false, got {opt['local_search']!r}")
    if not isinstance(opt["dual_options"], dict):
        raise OptionError(f"margin dual_options must be a table, got {opt['dual_options']!r}")
    ms: dict[str, Any] = {
        "t": 0,
        "pool": [],
        "rho_ref": np.asarray(rho, dtype=np.float64).tolist(),
        "target_objective": None,
        "target_source": None,
        "margin": None,
        "r": 1.0,
        "dual": None,
    }
    if opt["dual_steps"] > 0:
        if opt["dual_method"] == "margin":
            raise OptionError("margin dual_method must be another method (e.g. 'bundle'), not 'margin'")
        dm = get_method(opt["dual_method"])
        if dm.slack_qubo:
            raise OptionError(
                f"margin dual_method {opt['dual_method']!r} does not sample the slack-free form"
            )
        d_opts, d_ms = dm.init(ctx, dict(opt["dual_options"]), lam, rho)
        opt["dual_options"] = d_opts
        ms["dual"] = d_ms
    return opt, ms


def _grow_pool(form: Any, pool: list[str], X: np.ndarray) -> np.ndarray:
    P = unpack(pool, form.n_vars)
    A = np.vstack([P, np.asarray(X, dtype=np.uint8)]) if X.size else P
    if A.shape[0] == 0:
        return A
    A = np.unique(A, axis=0)
    return A[_in_subspace(form, A)]


def update(state: Any, obs: Observation, ctx: MethodContext) -> Update:
    """Grow the pool, pick the target, solve the margin LP (or take a dual step first)."""
    form, opt = ctx.form, state.options
    ms = dict(state.method_state)
    t = int(ms["t"]) + 1
    pool = _grow_pool(form, list(ms["pool"]), obs.X)
    rho_ref = np.asarray(ms["rho_ref"], dtype=np.float64)
    ms["t"] = t

    if ms.get("dual") is not None and t <= int(opt["dual_steps"]):
        dm = get_method(opt["dual_method"])
        sub = state.replace(options=opt["dual_options"], method_state=ms["dual"])
        up = dm.update(sub, obs, ctx)
        ms["dual"] = dict(up.method_state)
        ms["pool"] = pack(_prune(pool, form, up.lam, state.rho, None, opt))
        return Update(up.lam, ms, up.step_size, f"dual phase ({opt['dual_method']}): {up.note}")

    x_star, f_star, src = _target(state, form, pool, opt)
    if x_star is None:
        ms["pool"] = pack(_prune(pool, form, state.lam, state.rho, None, opt))
        return Update(state.lam, ms, 0.0, "no feasible target yet: multipliers kept")
    if opt["neighbourhood"] > 0:
        N = _neighbours(x_star, int(opt["neighbourhood"]))
        pool = np.unique(np.vstack([pool, N[_in_subspace(form, N)]]), axis=0)
    # competitors: every pool state but x* and feasible states as good as x* (ties)
    prog = form.program
    tol = 1e-9 * max(1.0, abs(f_star))
    tie = prog.is_feasible(pool) & (prog.objective(pool) <= f_star + tol)
    comp = pool[~tie]
    free = opt["rho_scale"] == "free" and bool(np.any(rho_ref > 0))
    rho_now = np.asarray(state.rho, dtype=np.float64)
    lo, hi = multiplier_box(form)
    fixed = form.enforced.copy()
    lam_new, rho_new, note, margin = np.asarray(state.lam), None, "margin", None
    if comp.shape[0]:
        dF, dG, dQ = _differences(form, comp, x_star, rho_now, rho_ref if free else None)
        c0, C, c_rho = ising_coefficient_map(form, rho_now, rho_ref if free else None)
        rb = (float(opt["rho_bounds"][0]), float(opt["rho_bounds"][1]))
        out = margin_lp(dF, dG, dQ, c0, C, c_rho, lo, hi, fixed, normalise=opt["normalise"], r_bounds=rb)
        if (out is None or out[0] is None or out[2] <= 1e-12) and opt["normalise"] != "none":
            note = "x* cannot lead the pool: raw margin maximised"
            out = margin_lp(dF, dG, dQ, c0, C, c_rho, lo, hi, fixed, normalise="none", r_bounds=rb)
        if out is None or out[0] is None:
            note = "margin LP failed: multipliers kept"
            out = None
        else:
            lam_new, r, margin = out
            lam_new = form.project(np.clip(lam_new, lo, hi))
            if r is not None:
                ms["r"] = r
                cand = r * rho_ref
                if not np.allclose(cand, rho_now, rtol=1e-9, atol=0.0):
                    rho_new = cand
    ms["pool"] = pack(_prune(pool, form, lam_new, rho_new if rho_new is not None else rho_now, x_star, opt))
    ms.update(target_objective=f_star, target_source=src, margin=margin)
    step = float(np.linalg.norm(lam_new - np.asarray(state.lam)))
    mtxt = "n/a" if margin is None else f"{margin:.4g}"
    return Update(
        lam_new,
        ms,
        step,
        f"{note} (target from {src}, margin {mtxt}, pool {pool.shape[0]})",
        rho=rho_new,
        reset_cuts=rho_new is not None,
    )


def _prune(
    pool: np.ndarray, form: Any, lam: np.ndarray, rho: np.ndarray, x_star: Any, opt: dict[str, Any]
) -> np.ndarray:
    """The ``max_pool`` states with the lowest energy under the new multipliers (``x*`` kept)."""
    cap = int(opt["max_pool"])
    if pool.shape[0] <= cap:
        return pool
    E = form.energy(pool, lam, rho)
    keep = np.argsort(E, kind="stable")[:cap]
    out = pool[np.sort(keep)]
    if x_star is not None and not (out == x_star).all(axis=1).any():
        out = np.vstack([out[: cap - 1], x_star[None, :]])
    return out


def extend(state: Any, ctx: MethodContext, k: int) -> dict[str, Any]:
    """Rows added lazily get ``rho_ref = 0`` (their multipliers enter the LP through the box)."""
    ms = dict(state.method_state)
    ms["rho_ref"] = [*ms["rho_ref"], *([0.0] * k)]
    if ms.get("dual") is not None:
        dm = get_method(state.options["dual_method"])
        sub = state.replace(options=state.options["dual_options"], method_state=ms["dual"])
        ms["dual"] = dict(dm.extend(sub, ctx, k))
    return ms


METHOD = Method("margin", DEFAULTS, init, update, extend, doc=__doc__ or "")
