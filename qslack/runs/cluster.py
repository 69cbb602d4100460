"""Where a sweep's runs execute: a Dask cluster named by ``--cluster``.

- ``local`` / ``local:N``: a :class:`distributed.LocalCluster` of ``N`` worker
  processes on this machine (default 1), each running one run at a time and
  offering ``MEMORY`` = its share of the memory available now;
- ``tcp://HOST:PORT`` (any Dask address): the scheduler of a cluster started
  elsewhere (``dask scheduler`` and ``dask worker ADDRESS --resources
  "MEMORY=...,THREADS=...,GPU=1"``);
- ``slurm``: a ``dask_jobqueue.SLURMCluster`` configured from the suite's
  ``[cluster]`` table and ``--slurm KEY=VALUE`` flags (``pip install -e
  ".[slurm]"``), its workers started as Slurm jobs with the same resources.

Dask is imported inside the functions that need it, so ``qslack --help`` stays
fast.  Clusters made here (local, Slurm) run their scheduler in this process
with ``distributed.scheduler.allowed-failures = 0``: a task whose worker dies
comes back to the sweep at once as ``KilledWorker``, and the sweep resubmits it
from the run's last *stored* step.  (A scheduler started elsewhere keeps its
own setting; Dask then reruns the task from the state it was given and the
sweep stores only the steps it has not stored yet: the same numbers either way.)

Examples
--------
>>> parse_cluster("local:3")
ClusterSpec(kind='local', workers=3, address=None, options={})
>>> parse_cluster("tcp://127.0.0.1:8786").address
'tcp://127.0.0.1:8786'
>>> parse_cluster(None, workers=2).workers
2
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from qslack.exceptions import DependencyError, OptionError, ValidationError

__all__ = [
    "SLURM_KEYS",
    "Capacity",
    "ClusterSpec",
    "capacity",
    "connect",
    "local_gpus",
    "parse_cluster",
    "slurm_cluster",
    "slurm_job_script",
    "slurm_kwargs",
]

_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss|inproc)://\S+$")

SLURM_KEYS: dict[str, str] = {
    "jobs": "number of Slurm jobs (each starts `processes` workers); default 1",
    "cores": "CPU cores per job (split evenly between its worker processes)",
    "memory": "memory per job, e.g. '32GiB' (split evenly between its worker processes)",
    "processes": "worker processes per job; default 1",
    "gpus": "GPUs per job (adds --gres=gpu:N and the GPU resource); default 0",
    "queue": "partition (#SBATCH -p)",
    "account": "account (#SBATCH -A)",
    "walltime": "time limit per job, e.g. '02:00:00'",
    "job_extra_directives": "further #SBATCH lines, e.g. ['--constraint=a100']",
    "job_script_prologue": "shell lines run before the worker starts, e.g. ['module load cuda']",
    "worker_extra_args": "further `dask worker` arguments",
    "interface": "network interface of the workers, e.g. 'ib0'",
    "local_directory": "worker scratch directory",
    "log_directory": "where Slurm writes the jobs' output",
    "python": "the Python that runs `dask worker` on the nodes (default: this one)",
    "job_name": "the jobs' name",
}
"""Keys of a suite's ``[cluster]`` table (``kind = "slurm"``) and of ``--slurm KEY=VALUE``."""


@dataclass(frozen=True)
class ClusterSpec:
    """A parsed ``--cluster`` value: ``kind`` in {"local", "address", "slurm"}."""

    kind: str
    workers: int | None = None
    address: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The cluster in words (printed and recorded with the sweep).

        Examples
        --------
        >>> parse_cluster("local:2").describe()
        'local:2'
        """
        if self.kind == "local":
            return f"local:{self.workers or 1}"
        if self.kind == "address":
            return str(self.address)
        return f"slurm (jobs={self.options.get('jobs', 1)})"


def _int_workers(text: str, what: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise ValidationError(f"{what}: the number of workers must be an integer, got {text!r}") from None
    if n < 1:
        raise ValidationError(f"{what}: the number of workers must be >= 1, got {n}")
    return n


def parse_cluster(
    text: str | None,
    *,
    workers: int | None = None,
    table: Mapping[str, Any] | None = None,
    slurm: Mapping[str, Any] | None = None,
) -> ClusterSpec:
    """The cluster of a sweep: ``--cluster`` (``text``), else the suite's ``[cluster]`` table, else local.

    Parameters
    ----------
    text : str, optional
        ``local``, ``local:N``, a scheduler address (``tcp://HOST:PORT``) or ``slurm``.
    workers : int, optional
        ``--workers N``: shorthand for ``local:N`` (an error beside another cluster).
    table : mapping, optional
        The suite's ``[cluster]`` table: ``kind`` ("local", "slurm" or an
        address), ``workers`` (local) and the :data:`SLURM_KEYS`.
    slurm : mapping, optional
        ``--slurm KEY=VALUE`` flags; they override the table's keys.

    Examples
    --------
    >>> parse_cluster("slurm", table={"kind": "slurm", "cores": 4}, slurm={"jobs": 3}).options
    {'cores': 4, 'jobs': 3}
    >>> parse_cluster("ssh://x")
    Traceback (most recent call last):
    ...
    qslack.exceptions.OptionError: --cluster 'ssh://x': expected local, local:N, a scheduler address \
(tcp://HOST:PORT) or slurm
    """
    table = dict(table or {})
    kind_t = table.pop("kind", None)
    table_workers = table.pop("workers", None)
    if text is None:
        text = kind_t if kind_t is not None else "local"
        if text == "local" and table_workers is not None:
            text = f"local:{table_workers}"
    text = str(text).strip()
    if workers is not None:
        if text not in ("local",) and not text.startswith("local:"):
            raise OptionError(
                f"--workers {workers} is shorthand for --cluster local:N; it cannot go with {text}"
            )
        if text.startswith("local:") and int(text.split(":", 1)[1] or 0) != workers:
            raise OptionError(f"--workers {workers} contradicts --cluster {text}")
        text = f"local:{workers}"
    if text == "local" or text.startswith("local:"):
        n = _int_workers(text.split(":", 1)[1], f"--cluster {text}") if ":" in text else 1
        return ClusterSpec("local", workers=n)
    if _ADDRESS.match(text):
        return ClusterSpec("address", address=text)
    if text == "slurm":
        options = {**table, **dict(slurm or {})}
        unknown = set(options) - set(SLURM_KEYS)
        if unknown:
            raise OptionError(f"unknown Slurm option(s) {sorted(unknown)}; accepted: {sorted(SLURM_KEYS)}")
        return ClusterSpec("slurm", options=options)
    raise OptionError(
        f"--cluster {text!r}: expected local, local:N, a scheduler address (tcp://HOST:PORT) or slurm"
    )


def local_gpus() -> int:
    """CUDA devices CuPy sees on this machine (0 without CuPy or a device).

    Examples
    --------
    >>> local_gpus() >= 0
    True
    """
    try:
        import cupy  # type: ignore[import-not-found]

        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no CuPy, no driver, no device: no GPU
        return 0


def slurm_kwargs(options: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """``SLURMCluster(**kwargs)`` and the number of jobs, from the :data:`SLURM_KEYS` options.

    Each worker process offers ``MEMORY`` = the job's memory / processes,
    ``THREADS`` = cores / processes and ``GPU`` = gpus / processes.

    Examples
    --------
    >>> kw, jobs = slurm_kwargs({"cores": 8, "memory": "32GiB", "processes": 2, "gpus": 2, "jobs": 4})
    >>> jobs, kw["worker_extra_args"], kw["job_extra_directives"]
    (4, ['--resources', 'MEMORY=17179869184,THREADS=4,GPU=1'], ['--gres=gpu:2'])
    """
    from dask.utils import format_bytes as dask_bytes
    from dask.utils import parse_bytes

    opts = dict(options)
    jobs = int(opts.pop("jobs", 1))
    if "cores" not in opts or "memory" not in opts:
        raise OptionError("a Slurm cluster needs `cores` and `memory` per job ([cluster] table or --slurm)")
    cores, processes = int(opts["cores"]), int(opts.pop("processes", 1))
    gpus = int(opts.pop("gpus", 0))
    if jobs < 1 or cores < 1 or processes < 1 or gpus < 0 or cores < processes:
        raise ValidationError(
            f"Slurm: need jobs >= 1, cores >= processes >= 1 and gpus >= 0; "
            f"got jobs={jobs}, cores={cores}, processes={processes}, gpus={gpus}"
        )
    mem = parse_bytes(str(opts["memory"]))
    per_worker_mem = mem // processes
    resources = {"MEMORY": per_worker_mem, "THREADS": cores // processes}
    if gpus:
        if gpus % processes:
            raise ValidationError(f"Slurm: gpus={gpus} must divide evenly between processes={processes}")
        resources["GPU"] = gpus // processes
    extra = [str(a) for a in opts.pop("worker_extra_args", [])]
    extra += ["--resources", ",".join(f"{k}={v}" for k, v in resources.items())]
    directives = [str(d) for d in opts.pop("job_extra_directives", [])]
    if gpus:
        directives.append(f"--gres=gpu:{gpus}")
    kwargs: dict[str, Any] = {
        **opts,
        "cores": cores,
        "processes": processes,
        "memory": dask_bytes(mem).replace(" ", ""),
        "worker_extra_args": extra,
        "job_extra_directives": directives,
        "scheduler_options": {"dashboard_address": ":0"},  # an HTTP server starts anyway: any free port
        "silence_logs": "error",
    }
    return kwargs, jobs


def slurm_cluster(options: Mapping[str, Any]) -> tuple[Any, int]:
    """A ``SLURMCluster`` (its scheduler in this process, no job submitted yet) and the jobs to start."""
    try:
        from dask_jobqueue import SLURMCluster
    except ImportError as exc:
        raise DependencyError(
            "--cluster slurm needs dask-jobqueue: pip install -e \".[slurm]\""
        ) from exc
    import dask

    kwargs, jobs = slurm_kwargs(options)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        return SLURMCluster(**kwargs), jobs


def slurm_job_script(options: Mapping[str, Any]) -> str:
    """The batch script each Slurm job of the sweep would run (nothing is submitted).

    ``tests/test_sweep_dask.py`` checks a generated script; :func:`slurm_kwargs`
    shows what goes into it.
    """
    cluster, _ = slurm_cluster(options)
    try:
        return str(cluster.job_script())
    finally:
        cluster.close()


@contextmanager
def connect(spec: ClusterSpec, *, threads: int | None = None, timeout: float = 60.0) -> Iterator[Any]:
    """A ``distributed.Client`` on the cluster of ``spec`` (started here for local and Slurm; closed after).

    Parameters
    ----------
    spec : ClusterSpec
    threads : int, optional
        Threads of each run (local workers get ``OMP/MKL/OPENBLAS_NUM_THREADS`` = this).
    timeout : float
        Seconds to wait for the first worker (a remote scheduler, Slurm jobs);
        a scheduler address that does not answer within 15 s is an error.
    """
    try:
        import dask
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise DependencyError("sweeps run on Dask: pip install 'dask[distributed]'") from exc

    cluster = None
    if spec.kind == "local":
        from distributed import LocalCluster

        from qslack._sys import available_memory

        n = spec.workers or 1
        t = str(threads or 1)
        env = {"OMP_NUM_THREADS": t, "MKL_NUM_THREADS": t, "OPENBLAS_NUM_THREADS": t}
        with dask.config.set(
            {
                "distributed.scheduler.allowed-failures": 0,
                "distributed.nanny.pre-spawn-environ": {
                    **dask.config.get("distributed.nanny.pre-spawn-environ", {}),
                    **env,
                },
            }
        ):
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # its HTTP server starts anyway: any free port
                silence_logs=logging.ERROR,
                resources={"MEMORY": available_memory() // n},
            )
    elif spec.kind == "slurm":
        cluster, jobs = slurm_cluster(spec.options)
        cluster.scale(jobs=jobs)
    try:
        from qslack.exceptions import QslackError

        try:
            client = Client(cluster if cluster is not None else spec.address, timeout="15s")
        except OSError as exc:
            raise QslackError(f"cannot reach the Dask scheduler at {spec.address}: {exc}") from None
        try:
            if spec.kind == "local":
                from qslack.runs._dask_plugins import IgnoreSigint

                client.register_plugin(IgnoreSigint())
            else:
                try:
                    client.wait_for_workers(1, timeout=timeout)
                except TimeoutError:
                    raise QslackError(
                        f"no Dask worker joined {spec.describe()} within {timeout:g} s "
                        "(start one: dask worker ADDRESS --resources MEMORY=...,THREADS=...)"
                    ) from None
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


@dataclass(frozen=True)
class Capacity:
    """What the cluster's workers offer: run slots and the largest amount of each resource."""

    slots: int
    workers: int
    resources: dict[str, float]

    def offered(self) -> set[str]:
        """Resource names some worker declares."""
        return set(self.resources)


def capacity(client: Any) -> Capacity:
    """The workers' threads (run slots) and the largest of each declared resource.

    Examples
    --------
    >>> class C:
    ...     def scheduler_info(self, **kw):
    ...         return {"workers": {"a": {"nthreads": 2, "resources": {"MEMORY": 8e9}},
    ...                             "b": {"nthreads": 1, "resources": {"MEMORY": 4e9, "GPU": 1}}}}
    >>> capacity(C())
    Capacity(slots=3, workers=2, resources={'MEMORY': 8000000000.0, 'GPU': 1})
    """
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # older distributed: no n_workers
        info = client.scheduler_info()
    workers = info.get("workers", {})
    best: dict[str, float] = {}
    slots = 0
    for w in workers.values():
        slots += int(w.get("nthreads", 1))
        for k, v in (w.get("resources") or {}).items():
            best[k] = max(best.get(k, 0), v)
    return Capacity(slots=max(slots, 1), workers=len(workers), resources=best)
