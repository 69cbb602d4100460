"""Running the dual loop: one driver, stored runs, hardware jobs, sweeps.

- :mod:`qslack.runs.driver`: the one loop (``drive``) over a sample source and
  a sink, and :func:`solve_dual`, the plain in-memory loop;
- :mod:`qslack.runs.config` / :mod:`qslack.runs.prepare`: what defines a run and
  what it needs;
- :mod:`qslack.runs.stored`: runs in the store (start, resume, finish);
- :mod:`qslack.runs.hardware`: hardware runs whose jobs outlive the process;
- :mod:`qslack.runs.sweep`: suites of runs on Dask, this process the store's
  only writer; :mod:`qslack.runs.cluster` (where: local, a scheduler address,
  Slurm), :mod:`qslack.runs.remote` (the task a worker runs) and
  :mod:`qslack.runs.resources` (threads, memory, GPU of a run).

This layer sits above ``dual``, ``samplers``, ``hardware`` and ``store``; only
the CLI is above it.
"""

from qslack.runs.config import SAMPLERS, SolveConfig, make_sampler, run_key
from qslack.runs.driver import MemorySink, Outcome, SamplerSource, drive, solve_dual

__all__ = [
    "SAMPLERS",
    "MemorySink",
    "Outcome",
    "SamplerSource",
    "SolveConfig",
    "drive",
    "make_sampler",
    "run_key",
    "solve_dual",
]
