"""Hardware profiles, the IBM service module (fake backends in local mode, faults, retries,
credentials) and IBMSampler on fake backends.  Tiny QUBOs, few shots: fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qslack.exceptions import OptionError, ParseError, ResourceError, ValidationError
from qslack.hardware import profiles as profiles_mod
from qslack.hardware import service as svc_mod
from qslack.hardware.profiles import HardwareProfile, check_fits, list_profiles, load_profile
from qslack.hardware.service import (
    FakeFaultyService,
    JobFailedError,
    JobPendingError,
    LocalFakeService,
    RetryingService,
    RuntimeService,
    Secret,
    ServiceError,
    SimulatedCrash,
    TransientServiceError,
    credentials,
    fake_device,
    is_transient,
    redact,
    with_retries,
)
from qslack.model.qubo import QUBO
from qslack.testing import conformance_checks, random_qubo

pytest.importorskip("qiskit_ibm_runtime")
pytest.importorskip("qiskit_aer")

from qslack.hardware.sampler import IBMSampler, cvar_from_counts

TOKEN = "sekret-123"
NAMES = [
    "aer-gpu",
    "aer-mps",
    "aer-statevector",
    "fake-fez",
    "fake-marrakesh",
    "fake-torino",
    "ibm-fez",
    "ibm-marrakesh",
    "ibm-torino",
]


# =========================================================================== profiles
def test_list_profiles_ships_every_target() -> None:
    profs = list_profiles()
    assert [p.name for p in profs] == NAMES
    by = {p.name: p for p in profs}
    for dev in ("torino", "fez", "marrakesh"):
        fake, real = by[f"fake-{dev}"], by[f"ibm-{dev}"]
        assert (fake.kind, fake.backend) == ("fake", f"fake_{dev}")
        assert (real.kind, real.backend) == ("ibm", f"ibm_{dev}")
        # the fake twin transpiles exactly as the real backend
        assert (fake.optimization_level, fake.seed_transpiler, fake.layout) == (
            real.optimization_level,
            real.seed_transpiler,
            real.layout,
        )
    assert by["ibm-torino"].max_qubits == 133 and by["ibm-fez"].max_qubits == 156
    assert {by[n].kind for n in ("aer-statevector", "aer-mps", "aer-gpu")} == {
        "aer-statevector",
        "aer-mps",
        "aer-gpu",
    }


def test_fake_backends_exist_with_profile_names() -> None:
    for p in list_profiles():
        if p.kind == "fake":
            assert fake_device(p.backend).backend.name == p.backend


def test_load_by_name_and_path_round_trip(tmp_path: Path) -> None:
    p = load_profile("ibm-torino")
    assert load_profile(profiles_mod.profiles_dir() / "ibm-torino.toml") == p
    assert HardwareProfile.from_dict(p.to_dict()) == p
    opts = p.runtime_options()
    assert opts["dynamical_decoupling"] == {"enable": True, "sequence_type": "XY4"}
    assert opts["twirling"] == {"enable_gates": True, "enable_measure": True}
    assert opts["default_shots"] == p.shots
    assert load_profile("fake-torino").runtime_options()["dynamical_decoupling"] == {"enable": False}
    with pytest.raises(ValidationError, match=r"unknown hardware profile 'nope'.*fake-torino"):
        load_profile("nope")


def _good(name: str = "good") -> str:
    return (
        f'name = "{name}"\nkind = "fake"\nbackend = "fake_torino"\nshots = 100\n'
        "max_qubits = 10\nmax_depth = 500\n"
    )


def test_profiles_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "good.toml").write_text(_good() + 'dynamical_decoupling = "none"\n')
    monkeypatch.setenv("QSLACK_PROFILES", str(tmp_path))
    profs = list_profiles()
    assert [p.name for p in profs] == ["good"]
    p = load_profile("good")
    assert (p.mode, p.layout, p.optimization_level, p.dynamical_decoupling) == ("job", "default", 2, None)


BAD = [
    ("syntax", 'name = "bad"\nshots = = 3\n', ParseError, None),
    ("unknown", _good("bad") + "shotz = 3\n", ValidationError, "shotz"),
    ("type", _good("bad").replace("shots = 100", 'shots = "many"'), ValidationError, "shots"),
    ("bool-as-int", _good("bad").replace("shots = 100", "shots = true"), ValidationError, "shots"),
    (
        "float-as-int",
        _good("bad").replace("max_depth = 500", "max_depth = 5.0"),
        ValidationError,
        "max_depth",
    ),
    ("enum-mode", _good("bad") + 'mode = "stream"\n', ValidationError, "mode"),
    ("enum-layout", _good("bad") + 'layout = "random"\n', ValidationError, "layout"),
    ("enum-kind", _good("bad").replace('kind = "fake"', 'kind = "qpu"'), ValidationError, "kind"),
    ("dd", _good("bad") + 'dynamical_decoupling = "XYZ"\n', ValidationError, "dynamical_decoupling"),
    ("missing", _good("bad").replace('backend = "fake_torino"\n', ""), ValidationError, "backend"),
    ("backend-kind", _good("bad").replace("fake_torino", "ibm_torino"), ValidationError, "backend"),
    ("level", _good("bad") + "optimization_level = 4\n", ValidationError, "optimization_level"),
    ("shots-zero", _good("bad").replace("shots = 100", "shots = 0"), ValidationError, "shots"),
    ("stem", _good("other"), ValidationError, "name"),
    (
        "aer-twirl",
        'name = "bad"\nkind = "aer-mps"\nbackend = "aer_simulator_matrix_product_state"\nshots = 10\n'
        "max_qubits = 10\nmax_depth = 10\ngate_twirling = true\n",
        ValidationError,
        "gate_twirling",
    ),
]


@pytest.mark.parametrize(("text", "exc", "key"), [pytest.param(t, e, k, id=i) for i, t, e, k in BAD])
def test_bad_profile_names_file_and_key(tmp_path: Path, text: str, exc: type, key: str | None) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(exc) as info:
        load_profile(path)
    msg = str(info.value)
    assert str(path) in msg
    if key is not None:
        assert repr(key) in msg
    with pytest.raises(exc):  # list_profiles validates every file too
        list_profiles(tmp_path)


def test_check_fits_reports_numbers() -> None:
    p = load_profile("fake-torino")
    check_fits(p, p.max_qubits, p.max_depth)
    with pytest.raises(ResourceError, match=rf"21 qubits.*max_qubits={p.max_qubits}"):
        check_fits(p, 21)
    with pytest.raises(ResourceError, match=rf"depth 5000.*max_depth={p.max_depth}"):
        check_fits(p, 3, 5000)


# =========================================================================== service: local fake backends
def _isa(qc: Any, backend_name: str = "fake_torino") -> Any:
    from qiskit.transpiler import generate_preset_pass_manager

    return generate_preset_pass_manager(2, fake_device(backend_name).backend, seed_transpiler=5).run(qc)


def test_bit_order_basis_state_through_service() -> None:
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

    svc = LocalFakeService()
    qc = QuantumCircuit(3)
    qc.x(0)
    qc.measure_all()
    job = svc.submit(
        [_isa(qc)], backend_name="fake_torino", shots=200, options={"simulator": {"seed_simulator": 4}}
    )
    assert svc.status(job) == "DONE"
    counts = svc.result(job)[0]
    assert max(counts, key=counts.get) == 1  # X on qubit 0 only -> basis index 1
    assert counts[1] > 150

    # two classical registers: clbit order (a[0] = bit 0, b[0] = bit 1) is kept
    q, a, b = QuantumRegister(2, "q"), ClassicalRegister(1, "a"), ClassicalRegister(1, "b")
    qc2 = QuantumCircuit(q, a, b)
    qc2.x(1)
    qc2.measure(0, a[0])
    qc2.measure(1, b[0])
    job2 = svc.submit([_isa(qc2)], backend_name="fake_torino", shots=200)
    counts2 = svc.result(job2)[0]
    assert max(counts2, key=counts2.get) == 2


def test_local_service_rejects_non_isa_and_records_ignored_options() -> None:
    from qiskit import QuantumCircuit

    svc = LocalFakeService()
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    with pytest.raises(ServiceError, match="not an ISA circuit of fake_torino"):
        svc.submit([qc], backend_name="fake_torino", shots=10)
    opts = load_profile("ibm-torino").runtime_options()
    job = svc.submit([_isa(qc)], backend_name="fake_torino", shots=10, options=opts, mode="batch")
    meta = svc.job_meta(job)
    assert meta["ignored_options"] == [
        "dynamical_decoupling",
        "twirling.enable_gates",
        "twirling.enable_measure",
    ]
    assert meta["mode"] == "batch" and len(meta["active_qubits"][0]) == 2


@pytest.mark.slow
def test_compact_simulation_equals_whole_device() -> None:
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.rzz(0.7, 1, 2)
    qc.measure_all()
    isa = _isa(qc)
    opts = {"simulator": {"seed_simulator": 11}}
    a = LocalFakeService().submit([isa], backend_name="fake_torino", shots=2000, options=opts)
    b = LocalFakeService(compact=False).submit([isa], backend_name="fake_torino", shots=2000, options=opts)
    svc = LocalFakeService()
    assert svc.result(a) == svc.result(b)


# =========================================================================== IBMSampler on a fake backend
Q4 = random_qubo(4, seed=3)


def test_ibm_sampler_fake_torino_sampleset() -> None:
    s = IBMSampler("fake-torino", p=1, shots=128, maxiter=15, seed=5)
    ss = s.sample(Q4)
    assert ss.n_shots == 128 and ss.var_names == Q4.var_names
    np.testing.assert_allclose(ss.energy, Q4.energies(ss.X), rtol=1e-12, atol=1e-12)
    info = ss.info
    assert (info["backend"], info["profile"], info["shots"], info["seed"]) == (
        "fake_torino",
        "fake-torino",
        128,
        5,
    )
    assert info["isa"]["depth"] > 0 and info["isa"]["two_qubit_gates"] > 0
    assert info["isa"]["n_physical_qubits"] >= 4
    assert len(info["job_ids"]) == 1 and info["job_ids"][0] == info["job_id"]
    assert set(info["angles"]) == {"gammas", "betas"} and len(info["angles"]["gammas"]) == 1
    assert {"optimise_s", "transpile_s", "submit_s", "collect_s", "total_s"} <= set(info["timings"])
    json.dumps(info)  # storable as it is
    # same seed, same samples
    again = IBMSampler("fake-torino", p=1, shots=128, maxiter=15, seed=5).sample(Q4)
    assert np.array_equal(again.X, ss.X) and np.array_equal(again.counts, ss.counts)


def test_ibm_sampler_finds_dominant_ground_state() -> None:
    Q = np.diag([-4.0, -4.0, -4.0, -4.0]) + np.triu(np.full((4, 4), 0.25), 1)  # ground state 1111
    q = QUBO(Q)
    ss = IBMSampler("fake-fez", p=1, shots=200, maxiter=20, seed=2).sample(q)
    assert ss.X[0].tolist() == [1, 1, 1, 1]  # lowest energy sampled
    assert ss.X[np.argmax(ss.counts)].tolist() == [1, 1, 1, 1]  # and the most frequent


def test_simulator_cache_is_reused_across_samplers() -> None:
    q = random_qubo(3, seed=8)
    s1 = IBMSampler("fake-torino", p=1, shots=64, maxiter=5, seed=1)
    s2 = IBMSampler("fake-torino", p=1, shots=64, maxiter=5, seed=1)
    assert s1.service is not s2.service
    a, b = s1.sample(q), s2.sample(q)
    dev = fake_device("fake_torino")
    assert s1.service.device("fake_torino") is dev and s2.service.device("fake_torino") is dev
    sim_a = s1.service.simulator_of(a.info["job_id"])
    sim_b = s2.service.simulator_of(b.info["job_id"])
    assert sim_a is sim_b
    built = dev.n_built
    s1.sample(q)
    assert dev.n_built == built


def test_async_submit_collect_with_pending_job() -> None:
    faulty = FakeFaultyService(LocalFakeService(), pending_polls=2)
    s = IBMSampler("fake-torino", service=faulty, p=1, shots=64, maxiter=5, seed=3)
    job_id, meta = s.submit(Q4)
    meta = json.loads(json.dumps(meta))  # as stored and read back
    later = IBMSampler("fake-torino", service=faulty, p=1, shots=64, maxiter=5)
    with pytest.raises(JobPendingError, match="QUEUED"):
        later.collect(job_id, Q4, meta, wait=False)
    with pytest.raises(JobPendingError, match="RUNNING"):
        later.collect(job_id, Q4, meta, wait=False)
    ss = later.collect(job_id, Q4, meta, wait=False)
    assert ss.n_shots == 64 and ss.info["job_id"] == job_id and ss.info["seed"] == 3
    with pytest.raises(ValidationError, match="variables"):
        later.collect(job_id, random_qubo(3, seed=0), meta)


def test_noisy_cvar_respects_budget() -> None:
    s = IBMSampler(
        "fake-torino", p=1, shots=64, maxiter=0, optimize_on="noisy-cvar", noisy_budget=7, alpha=0.5, seed=4
    )
    ss = s.sample(random_qubo(3, seed=4))
    noisy = ss.info["noisy"]
    assert 1 <= noisy["n_executions"] <= 6
    assert len(ss.info["job_ids"]) == noisy["n_executions"] + 1 <= 7
    assert noisy["best_cvar"] == min(noisy["history"])
    with pytest.raises(ValidationError, match="noisy_budget"):
        IBMSampler("fake-torino", p=2, optimize_on="noisy-cvar", noisy_budget=6)


def test_cvar_from_counts() -> None:
    assert cvar_from_counts(np.array([2.0, 1.0]), np.array([1, 1]), 1.0) == 1.5
    assert cvar_from_counts(np.array([2.0, 1.0]), np.array([1, 3]), 0.5) == 1.0


def test_ibm_sampler_rejects_bad_setup() -> None:
    with pytest.raises(OptionError, match="QAOASampler"):
        IBMSampler("aer-statevector")
    with pytest.raises(OptionError, match="optimize_on"):
        IBMSampler("fake-torino", optimize_on="hardware")
    s = IBMSampler("fake-torino", p=1, shots=16, maxiter=0, seed=0)
    with pytest.raises(OptionError):
        s.sample(Q4, bogus=1)
    big = random_qubo(21, seed=0)
    with pytest.raises(ResourceError, match="21 qubits"):
        s.sample(big)


CONFORMANCE = [
    pytest.param(check, id=name)
    for name, check in conformance_checks(
        lambda: IBMSampler("fake-torino", p=1, shots=64, maxiter=5), n_vars=(3,), seed=1
    )
    if name not in ("sparse", "reproducible")  # reproducibility is tested above; sparse adds nothing here
]


@pytest.mark.parametrize("check", CONFORMANCE)
def test_conformance_fake_torino(check: Any) -> None:
    check()


# =========================================================================== faults and retries
def test_job_set_to_fail_reports_error_with_reason() -> None:
    faulty = FakeFaultyService(
        LocalFakeService(), fail_jobs={0}, fail_reason="Error 1234: qubit 7 miscalibrated"
    )
    s = IBMSampler("fake-torino", service=faulty, p=1, shots=32, maxiter=0, seed=1)
    with pytest.raises(JobFailedError, match="ERROR: Error 1234: qubit 7 miscalibrated") as info:
        s.sample(Q4)
    job_id = faulty.submitted[0]
    assert info.value.job_id == job_id
    assert faulty.status(job_id) == "ERROR"
    assert faulty.error_message(job_id) == "Error 1234: qubit 7 miscalibrated"
    ss = s.sample(Q4)  # the next job works
    assert ss.n_shots == 32


def test_flaky_service_succeeds_after_transient_errors() -> None:
    waits: list[float] = []
    faulty = FakeFaultyService(LocalFakeService(), flaky_calls=4, flaky_status=503)
    retrying = RetryingService(faulty, retries=5, base_delay=0.5, max_delay=1.5, sleep=waits.append)
    s = IBMSampler("fake-torino", service=retrying, p=1, shots=32, maxiter=0, seed=2)
    ss = s.sample(Q4)
    assert ss.n_shots == 32
    assert waits == [0.5, 1.0, 1.5, 1.5]  # increasing, capped
    assert faulty.calls["backend"] == 5  # four faults, then success


def test_with_retries_gives_up_and_redacts_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    waits: list[float] = []
    faulty = FakeFaultyService(
        LocalFakeService(),
        flaky_calls=100,
        flaky_status=429,
        flaky_message=f"429 Too Many Requests (token={TOKEN})",
    )
    with pytest.raises(TransientServiceError) as info:
        with_retries(
            lambda: faulty.backend("fake_torino"),
            retries=3,
            base_delay=1.0,
            max_delay=3.0,
            sleep=waits.append,
        )
    assert waits == [1.0, 2.0, 3.0]
    assert faulty.calls["backend"] == 4
    msg = str(info.value)
    assert "gave up after 4 attempts" in msg and "429" in msg
    assert TOKEN not in msg and "<redacted>" in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert info.value.status_code == 429


def test_with_retries_non_transient_raised_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    waits: list[float] = []

    def bad() -> None:
        raise ValueError("plain bad input")

    with pytest.raises(ValueError, match="plain bad input"):
        with_retries(bad, sleep=waits.append)

    def leaky() -> None:
        raise PermissionError(f"401 unauthorised for {TOKEN}")

    with pytest.raises(ServiceError) as info:
        with_retries(leaky, sleep=waits.append)
    assert TOKEN not in str(info.value) and waits == []


def test_simulated_crash_is_not_retried() -> None:
    faulty = FakeFaultyService(LocalFakeService(), kill_after_submit=True)
    s = IBMSampler(
        "fake-torino", service=RetryingService(faulty, sleep=lambda _: None), p=1, shots=16, maxiter=0
    )
    with pytest.raises(SimulatedCrash):
        s.sample(Q4)
    assert len(faulty.submitted) == 1  # the job reached the service once
    assert faulty.status(faulty.submitted[0]) == "DONE"


def test_is_transient_maps_runtime_errors() -> None:
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError

    assert is_transient(RequestsApiError("server", status_code=503))
    assert is_transient(RequestsApiError("slow down", status_code=429))
    assert not is_transient(RequestsApiError("bad request", status_code=400))
    assert is_transient(TimeoutError()) and is_transient(TransientServiceError("x"))
    try:
        try:
            raise ConnectionResetError("reset")
        except ConnectionResetError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as exc:
        assert is_transient(exc)


# =========================================================================== credentials
def test_redact_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    assert (
        redact(f"Authorization: Bearer {TOKEN}; again {TOKEN}")
        == "Authorization: Bearer <redacted>; again <redacted>"
    )
    assert redact("nothing here") == "nothing here"
    s = Secret("other-secret-999")
    assert repr(s) == str(s) == f"{s}" == "<redacted>"
    assert redact("x other-secret-999 y") == "x <redacted> y"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)


def test_credentials_from_env_never_show_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    crn = "crn:v1:bluemix:public:quantum-computing:us-east:a/acct1:my-instance::"
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", crn)
    c = credentials()
    assert c.source == "env" and c.instance == crn and c.channel == "ibm_quantum_platform"
    assert c.token.reveal() == TOKEN
    for text in (repr(c), str(c), f"{c}", repr([c]), str({"c": c})):
        assert TOKEN not in text
    assert "<redacted>" in repr(c)


def test_credentials_from_saved_account(monkeypatch: pytest.MonkeyPatch) -> None:
    from qiskit_ibm_runtime.accounts import AccountManager

    monkeypatch.delenv("QISKIT_IBM_TOKEN", raising=False)

    class _Account:
        token = "saved-tok-456"
        instance = "crn:v1:bluemix:public:quantum-computing:eu-de:a/acct2:saved::"
        channel = "ibm_cloud"

    monkeypatch.setattr(AccountManager, "get", classmethod(lambda cls, **kw: _Account()))
    c = credentials()
    assert (c.source, c.channel, c.instance, c.token.reveal()) == (
        "saved-account",
        "ibm_cloud",
        "crn:v1:bluemix:public:quantum-computing:eu-de:a/acct2:saved::",
        "saved-tok-456",
    )
    assert "saved-tok-456" not in repr(c)
    assert redact("leak saved-tok-456") == "leak <redacted>"

    def missing(cls: Any, **kw: Any) -> Any:
        raise RuntimeError("Unable to find account")

    monkeypatch.setattr(AccountManager, "get", classmethod(missing))
    with pytest.raises(svc_mod.CredentialsError, match="QISKIT_IBM_TOKEN"):
        credentials()


# =========================================================================== RuntimeService without network
class _StubJob:
    def __init__(self, status: str, result: Any = None, error: str | None = None) -> None:
        self._status, self._result, self._error = status, result, error
        self.cancelled = False
        self.session_id = "sess-1"

    def status(self) -> str:
        return self._status

    def result(self) -> Any:
        return self._result

    def error_message(self) -> str | None:
        return self._error

    def cancel(self) -> None:
        self.cancelled = True


class _StubRuntime:
    """Stands in for QiskitRuntimeService: ``job(id)`` and ``backend(name)``."""

    def __init__(self, jobs: dict[str, Any]) -> None:
        self.jobs = jobs

    def job(self, job_id: str) -> Any:
        job = self.jobs[job_id]
        if isinstance(job, Exception):
            raise job
        return job

    def backend(self, name: str) -> Any:
        from qiskit_ibm_runtime.api.exceptions import RequestsApiError

        raise RequestsApiError(f"503 upstream down, token {TOKEN}", status_code=503)


def test_runtime_service_status_result_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    from qiskit import QuantumCircuit
    from qiskit.primitives import StatevectorSampler

    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    qc = QuantumCircuit(3)
    qc.x(0)
    qc.x(2)
    qc.measure_all()
    prim = StatevectorSampler(seed=1).run([qc], shots=50).result()
    jobs = {
        "j-done": _StubJob("DONE", prim),
        "j-init": _StubJob("INITIALIZING"),
        "j-err": _StubJob("ERROR", error=f"Error 1517: bad token {TOKEN}"),
    }
    rs = RuntimeService(runtime_service=_StubRuntime(jobs))
    assert rs.status("j-done") == "DONE" and rs.result("j-done") == [{5: 50}]  # x0, x2 -> 0b101
    assert rs.status("j-init") == "QUEUED"
    with pytest.raises(JobPendingError):
        rs.result("j-init")
    assert rs.status("j-err") == "ERROR"
    with pytest.raises(JobFailedError) as info:
        rs.result("j-err")
    assert "Error 1517" in str(info.value) and TOKEN not in str(info.value)
    assert TOKEN not in (rs.error_message("j-err") or "")
    assert rs.session_of("j-done") == "sess-1"
    rs.cancel("j-init")
    assert jobs["j-init"].cancelled
    with pytest.raises(TransientServiceError) as info2:
        rs.backend("ibm_torino")
    assert info2.value.status_code == 503 and TOKEN not in str(info2.value)
