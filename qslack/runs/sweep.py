"""Benchmark suites: instances x methods x seeds, each run in its own process, resumable.

A suite is a TOML file::

    name = "quantum-small"
    seeds = [0, 1, 2]
    methods = ["subgradient", "cutting-plane", "bundle", "augmented-lagrangian",
               "fixed-penalty", "slack-penalty"]
    baselines = [{ method = "fixed-penalty", sampler = "random" }]

    [budget]                # every SolveConfig field except instance/method/seed
    sampler = "qaoa"
    p = 2
    qaoa_maxiter = 60
    iters = 15
    shots = 1000

    [[instance]]
    spec = "burma14"
    take = 6
    encoding = "edge"

A field of :data:`~qslack.runs.config.AUTO_FIELDS` set to ``"auto"`` (and ``methods = ["auto"]``)
takes the instance's per-problem default (:func:`qslack.runs.config.defaults_for`), resolved
before the run's identity is computed.

A run's identity is :func:`qslack.runs.config.run_key` (program hash, method,
canonical options, the sampler's effective configuration, seed): a rerun skips every run whose
identity already has a finished (or does-not-fit) run in the store — including
runs made by hand with ``qslack solve``.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qslack._paths import safe_filename
from qslack._sys import load_toml
from qslack.exceptions import ParseError
from qslack.runs.config import AUTO_FIELDS, SolveConfig, make_sampler, run_key

__all__ = ["Suite", "load_suite", "plan", "run_suite"]

_TOP = {"name", "seeds", "methods", "baselines", "budget", "instance", "description"}
_INSTANCE_KEYS = {"spec", "take", "encoding", "fmt", "problem", "label"}
_CONFIG_FIELDS = {f.name for f in dataclasses.fields(SolveConfig)}
DONE = ("finished", "does-not-fit")


@dataclass(frozen=True)
class Suite:
    """A parsed suite file."""

    name: str
    path: str
    configs: tuple[SolveConfig, ...]


def load_suite(path: str | Path) -> Suite:
    """Parse and validate a suite TOML (unknown keys are errors naming the file and key).

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "s.toml"
    >>> _ = f.write_text('seeds=[0,1]\\nmethods=["bundle"]\\n[budget]\\nsampler="exact"\\n'
    ...                  '[[instance]]\\nspec="mknap1#1"\\n')
    >>> len(load_suite(f).configs)
    2
    """
    path = Path(path)
    data = load_toml(path, "suite file")
    unknown = set(data) - _TOP
    if unknown:
        raise ParseError(f"unknown key(s) {sorted(unknown)}; accepted: {sorted(_TOP)}", path=path)
    budget = dict(data.get("budget", {}))
    bad = set(budget) - (_CONFIG_FIELDS - {"instance", "method", "seed"})
    if bad:
        raise ParseError(f"[budget] has unknown key(s) {sorted(bad)}", path=path)
    seeds = data.get("seeds", [0])
    methods = data.get("methods", [])
    baselines = data.get("baselines", [])
    instances = data.get("instance", [])
    if not isinstance(seeds, list) or not all(_is_int(x) and x >= 0 for x in seeds) or not seeds:
        raise ParseError(f"seeds must be a non-empty list of integers >= 0, got {seeds!r}", path=path)
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        raise ParseError(f"methods must be a list of method names, got {methods!r}", path=path)
    if not isinstance(baselines, list) or not all(isinstance(b, dict) for b in baselines):
        raise ParseError("baselines must be a list of tables ({ method = ..., sampler = ... })", path=path)
    if not isinstance(instances, list) or not all(isinstance(i, dict) for i in instances):
        raise ParseError("instance must be [[instance]] tables", path=path)
    if not instances:
        raise ParseError("no [[instance]] entries", path=path)
    name = data.get("name", path.stem)
    if not isinstance(name, str):
        raise ParseError(f"name must be a string, got {name!r}", path=path)
    _check_types(budget, "[budget]", path)
    rows: list[dict[str, Any]] = [{"method": m} for m in methods] + [dict(b) for b in baselines]
    for r in rows:
        extra = set(r) - _CONFIG_FIELDS
        if extra:
            raise ParseError(f"baseline entry has unknown key(s) {sorted(extra)}", path=path)
        _check_types(r, "baseline entry", path)
    configs = []
    for k, inst in enumerate(instances, start=1):
        extra = set(inst) - _INSTANCE_KEYS
        if extra or "spec" not in inst:
            raise ParseError(f"[[instance]] #{k}: needs 'spec'; unknown key(s) {sorted(extra)}", path=path)
        _check_types(inst, f"[[instance]] #{k}", path)
        for row in rows:
            for seed in seeds:
                kw = {**budget, **{key: v for key, v in inst.items() if key not in ("spec", "label")}, **row}
                configs.append(SolveConfig(instance=inst["spec"], seed=int(seed), **kw))
    # the name becomes a file name (the default report): never a path
    return Suite(safe_filename(name, default=safe_filename(path.stem)), str(path), tuple(configs))


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# TOML types each SolveConfig field (and the instance keys) may take; None is never TOML
_TYPES: dict[str, tuple[type, ...]] = {
    "instance": (str,),
    "spec": (str,),
    "label": (str,),
    "method": (str,),
    "encoding": (str,),
    "fmt": (str,),
    "problem": (str,),
    "sampler": (str,),
    "backend": (str,),
    "profile": (str,),
    "optimize_on": (str,),
    "take": (int,),
    "p": (int,),
    "shots": (int,),
    "qaoa_maxiter": (int,),
    "iters": (int,),
    "threads": (int,),
    "seed": (int,),
    "rho": (int, float),
    "time_limit": (int, float),
    "reference_time_limit": (int, float),
    "options": (dict,),
    "mixer": (str,),
    "init": (str,),
    "warm_start": (str,),
    "onehot": (str,),
    "schedule": (str,),
    "params": (str,),
    "optimizer": (str,),
    "eps": (int, float),
    "lr_slopes": (list,),
    "sampler_time_limit": (int, float),
}


def _check_types(table: dict[str, Any], where: str, path: Path) -> None:
    """Each value of ``table`` has the TOML type its key takes (a ParseError naming the key)."""
    for key, val in table.items():
        types = _TYPES.get(key)
        if types is None or (key in AUTO_FIELDS and val == "auto"):  # "auto": the problem's default
            continue
        ok = isinstance(val, types) and not isinstance(val, bool)
        if not ok:
            want = " or ".join("integer" if t is int else t.__name__ for t in types)
            raise ParseError(f"{where}: {key} must be {want}, got {val!r}", path=path)


def plan(suite: Suite, store: Any) -> list[tuple[SolveConfig, str, str | None]]:
    """``(config, run_key, existing run id or None)`` for every run of the suite."""
    from qslack.problems.catalog import build_program, load_instance

    out = []
    cache: dict[tuple[Any, ...], str] = {}
    for cfg in suite.configs:
        key = (cfg.instance, cfg.take, cfg.encoding, cfg.fmt, cfg.problem)
        if key not in cache:
            loaded = load_instance(cfg.instance, fmt=cfg.fmt, problem=cfg.problem, take=cfg.take)
            cache[key] = build_program(loaded, encoding=cfg.encoding).fingerprint()
        rk = run_key(cache[key], cfg, make_sampler(cfg).config())
        done = [r for r in store.find_runs(rk) if r["status"] in DONE]
        out.append((cfg, rk, done[0]["run_id"] if done else None))
    return out


def _run_one(cfg_dict: dict[str, Any], db: str) -> tuple[str, str, float]:
    """Worker: one run in its own process."""
    from qslack.runs.stored import solve
    from qslack.store.db import Store

    t0 = time.perf_counter()
    cfg = SolveConfig(**cfg_dict)
    with Store(db) as store:
        run_id, result, _ = solve(cfg, store)
    status = "does-not-fit" if result is None else result.status
    return run_id, status, time.perf_counter() - t0


def run_suite(
    suite: Suite,
    db: str | Path,
    *,
    workers: int = 1,
    on_done: Callable[[SolveConfig, str, str, float], None] | None = None,
) -> dict[str, Any]:
    """Run every missing run of ``suite`` (each in a fresh process); return counts and wall time.

    With several workers each run's kernel uses one thread.
    """
    from qslack.store.db import Store

    t0 = time.perf_counter()
    with Store(db) as store:
        todo = plan(suite, store)
    missing = [(cfg, rk) for cfg, rk, rid in todo if rid is None]
    reused = len(todo) - len(missing)
    ctx = mp.get_context("spawn")
    statuses: dict[str, int] = {}
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx, max_tasks_per_child=1) as pool:
        futs = {}
        for cfg, _ in missing:
            cfg_run = dataclasses.replace(cfg, threads=1 if workers > 1 else cfg.threads)
            futs[pool.submit(_run_one, dataclasses.asdict(cfg_run), str(db))] = cfg
        for fut in as_completed(futs):
            run_id, status, wall = fut.result()
            statuses[status] = statuses.get(status, 0) + 1
            if on_done is not None:
                on_done(futs[fut], run_id, status, wall)
    return {
        "suite": suite.name,
        "runs": len(todo),
        "reused": reused,
        "ran": len(missing),
        "statuses": statuses,
        "wall_s": time.perf_counter() - t0,
    }
