r"""Energy and carbon of a call, with CodeCarbon, labelled as measured or estimated.

.. math:: E = \int_\text{call} \big(P_\text{CPU}(t) + P_\text{GPU}(t) + P_\text{RAM}(t)\big)\,dt,
   \qquad \text{CO}_2\text{e} = E \cdot I_\text{grid}

with :math:`E` in kWh and the grid's carbon intensity :math:`I_\text{grid}` in
kg CO2e per kWh. CodeCarbon [1]_ reads power from hardware counters where it
can (Intel/AMD RAPL on Linux, NVIDIA's NVML for GPUs, powermetrics on macOS).
Where it cannot (most cloud VMs and containers hide RAPL), it *estimates* CPU
power from the chip's thermal design power (TDP) times its load; RAM power is
always a model. Such an estimate can be off by a factor of two or more [2]_:
TDP is a cooling specification, not a power reading, and real draw depends on
the workload, clock frequency and idle power. :func:`measure_energy` therefore
says which it was (``is_estimate``, ``method``) and states its assumptions.

The tracker is CodeCarbon's :class:`~codecarbon.OfflineEmissionsTracker`: the
country's yearly average intensity comes from a table shipped with CodeCarbon,
so no network lookup is made; nothing is written to disk.

References
----------
.. [1] B. Courty et al., CodeCarbon, https://codecarbon.io (methodology:
   https://mlco2.github.io/codecarbon/methodology.html).
.. [2] L. F. W. Anthony, B. Kanding and R. Selvan, "Carbontracker: Tracking and
   Predicting the Carbon Footprint of Training Deep Learning Models",
   arXiv:2007.03051, 2020; A. Lacoste et al., "Quantifying the Carbon
   Emissions of Machine Learning", arXiv:1910.09700, 2019.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from respai._validation import check_positive
from respai.efficiency.measure._latency import _check_device, synchronize
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["EnergyReport", "measure_energy", "carbon_intensity", "ESTIMATE_UNCERTAINTY_FACTOR"]

#: Multiplicative uncertainty stated for TDP-based estimates: the true energy
#: is read as lying in ``[E / 2, 2 E]``.
ESTIMATE_UNCERTAINTY_FACTOR = 2.0

# CPU back-ends of CodeCarbon that read a hardware energy counter.
_COUNTER_CPU_MODES = {
    "intel_rapl": "RAPL energy counter",
    "windows_emi": "Windows Energy Meter Interface (RAPL)",
    "intel_power_gadget": "Intel Power Gadget",
}


@dataclass(frozen=True)
class EnergyReport:
    """Energy and emissions of one call, and how they were obtained.

    Attributes
    ----------
    energy_kwh : float
        Total energy (CPU + GPU + RAM), kWh.
    cpu_energy_kwh, gpu_energy_kwh, ram_energy_kwh : float
        The parts, kWh.
    co2_kg : float
        Emissions, kg CO2-equivalent.
    carbon_intensity_g_per_kwh : float
        Grid intensity used, g CO2e per kWh.
    duration_s : float
        Wall-clock seconds tracked.
    cpu_seconds : float
        CPU time of this process during the call (all threads), for a
        sanity check of the CPU estimate.
    country_iso_code : str
        Whose grid.
    is_estimate : bool
        True unless every CPU/GPU energy figure came from a hardware counter
        (RAM is modelled in every case; see ``assumptions``).
    method : str
        How CPU, GPU and RAM energy were obtained.
    assumptions : str
        What the numbers rest on, the uncertainty included.
    uncertainty_factor : float or None
        ``f`` such that the true energy is read as in ``[E/f, E f]``;
        ``None`` for counter readings (their error is not quantified here).
    result : Any
        What the call returned.
    """

    energy_kwh: float
    cpu_energy_kwh: float
    gpu_energy_kwh: float
    ram_energy_kwh: float
    co2_kg: float
    carbon_intensity_g_per_kwh: float
    duration_s: float
    cpu_seconds: float
    country_iso_code: str
    is_estimate: bool
    method: str
    assumptions: str
    uncertainty_factor: float | None
    result: Any = field(default=None, repr=False, compare=False)

    @property
    def energy_wh(self) -> float:
        """Total energy in watt-hours (1 kWh = 1000 Wh)."""
        return self.energy_kwh * 1e3

    @property
    def energy_kwh_range(self) -> tuple[float, float]:
        """``(E / f, E f)`` for an estimate, ``(E, E)`` for a counter reading."""
        f = self.uncertainty_factor or 1.0
        return self.energy_kwh / f, self.energy_kwh * f

    @property
    def co2_kg_range(self) -> tuple[float, float]:
        """The emissions interval implied by :attr:`energy_kwh_range`."""
        f = self.uncertainty_factor or 1.0
        return self.co2_kg / f, self.co2_kg * f

    def summary(self) -> str:
        """One paragraph for a notebook: numbers, label and assumptions."""
        label = "ESTIMATE" if self.is_estimate else "MEASURED"
        low, high = self.energy_kwh_range
        text = (
            f"[{label}] {self.energy_wh:.4g} Wh, {self.co2_kg * 1e3:.4g} g CO2e "
            f"in {self.duration_s:.3g} s ({self.country_iso_code} grid, "
            f"{self.carbon_intensity_g_per_kwh:.0f} g/kWh)"
        )
        if self.uncertainty_factor:
            text += f"; plausible range {low * 1e3:.3g}-{high * 1e3:.3g} Wh"
        return f"{text}.\nMethod: {self.method}\nAssumptions: {self.assumptions}"


@functools.lru_cache(maxsize=1)
def _energy_mix() -> dict:
    from codecarbon.input import DataSource

    return DataSource().get_global_energy_mix_data()


def _country_row(code: object) -> dict:
    if not isinstance(code, str):
        raise ParameterTypeError(
            f"`country_iso_code` must be a 3-letter ISO code string such as 'USA'; got {code!r}."
        )
    row = _energy_mix().get(code.upper())
    if row is None:
        raise ParameterValueError(
            f"`country_iso_code` must be a 3-letter ISO 3166 code CodeCarbon knows, such as "
            f"'USA', 'FRA' or 'DEU'; got {code!r}."
        )
    return row


def carbon_intensity(country_iso_code: str) -> float:
    r"""Yearly average carbon intensity of a country's electricity, g CO2e per kWh.

    Read from the energy-mix table shipped with CodeCarbon (Our World in Data /
    Ember figures; the year is in the table), the same number
    :func:`measure_energy` uses: :math:`\text{CO}_2\text{e} = E \cdot I`.

    Parameters
    ----------
    country_iso_code : str
        Three-letter ISO 3166 code, e.g. ``"FRA"`` (case-insensitive).

    Examples
    --------
    >>> carbon_intensity("FRA") < carbon_intensity("USA") < carbon_intensity("IND")
    True
    """
    return float(_country_row(country_iso_code)["carbon_intensity"])


@contextlib.contextmanager
def _quiet_codecarbon():
    """CodeCarbon logs setup chatter at INFO/WARNING before its own level applies."""
    logger = logging.getLogger("codecarbon")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _describe_hardware(tracker, data) -> tuple[bool, str, list[str]]:
    """(is_estimate, method, assumptions) from the hardware CodeCarbon set up."""
    hardware = getattr(tracker, "_hardware", None) or []
    kinds = {type(h).__name__: h for h in hardware}
    methods: list[str] = []
    notes: list[str] = []
    estimate = False

    cpu = kinds.get("CPU")
    if "AppleSiliconChip" in kinds:
        methods.append("CPU and GPU: powermetrics (hardware counter)")
    elif "Raspberry" in kinds:
        methods.append("CPU: Raspberry Pi PMIC readings (hardware counter)")
    elif cpu is not None and getattr(cpu, "_mode", None) in _COUNTER_CPU_MODES:
        methods.append(f"CPU: {_COUNTER_CPU_MODES[cpu._mode]} (hardware counter)")
    else:
        estimate = True
        mode = getattr(cpu, "_mode", "unknown")
        tdp = getattr(cpu, "_tdp", None)
        generic = (
            " (CodeCarbon's generic default)" if getattr(cpu, "_is_generic_tdp", False) else ""
        )
        shape = "TDP x CPU load" if mode == "cpu_load" else "50% of TDP, constant"
        methods.append(f"CPU: ESTIMATE, CodeCarbon '{mode}' fallback ({shape})")
        notes.append(
            f"No CPU power counter was readable (on Linux RAPL needs a readable "
            f"/sys/class/powercap/intel-rapl; VMs and containers usually hide it), so CPU power "
            f"= TDP x load with TDP = {tdp} W{generic} for CPU model "
            f"'{data.cpu_model}' ({data.cpu_count} threads)."
        )
    if "GPU" in kinds:
        methods.append(f"GPU: NVML/AMDSMI ({data.gpu_model}; hardware counter, whole device)")
    methods.append("RAM: CodeCarbon's power model (not measured)")
    notes.append(f"RAM power modelled at {data.ram_power:.3g} W, not measured.")
    if data.tracking_mode == "process":
        notes.append(
            "Process mode: CPU power is attributed to this process in proportion to its CPU "
            "time; other processes' load is excluded, the machine's idle power too."
        )
    else:
        notes.append("Machine mode: the whole machine's load is counted, other programs included.")
    return estimate, "; ".join(methods), notes


def measure_energy(
    fn: Callable,
    *args,
    country_iso_code: str = "USA",
    measure_power_secs: float = 1.0,
    tracking_mode: str = "process",
    **kwargs,
) -> EnergyReport:
    r"""Energy (kWh) and emissions (kg CO2e) of ``fn(*args, **kwargs)``, with CodeCarbon.

    Parameters
    ----------
    fn : callable
        The work to track (run once), e.g. a training run.
    *args, **kwargs
        Passed to ``fn``.
    country_iso_code : str, default "USA"
        Three-letter code of the grid's country; its yearly average intensity
        comes from CodeCarbon's offline table (no network).
    measure_power_secs : float, default 1.0
        Seconds between power samples. A run shorter than a few samples gives
        a coarse figure; the assumptions say so.
    tracking_mode : {"process", "machine"}, default "process"
        Attribute to this process only, or count the whole machine.

    Returns
    -------
    EnergyReport
        Energy, emissions, whether they are measured or estimated, the method
        and the assumptions, and ``fn``'s return value as ``result``.

    Examples
    --------
    >>> report = measure_energy(sum, range(10**5), country_iso_code="FRA")
    >>> report.result, report.energy_kwh > 0, report.country_iso_code
    (4999950000, True, 'FRA')
    """
    if not callable(fn):
        raise ParameterTypeError(f"`fn` must be callable; got {type(fn).__name__}.")
    row = _country_row(country_iso_code)
    code = country_iso_code.upper()
    interval = check_positive("measure_power_secs", measure_power_secs)
    if tracking_mode not in ("process", "machine"):
        raise ParameterValueError(
            f"`tracking_mode` must be 'process' or 'machine'; got {tracking_mode!r}."
        )
    dev = _check_device(None, args, kwargs)
    if dev.type == "cpu" and torch.cuda.is_available() and torch.cuda.is_initialized():
        dev = torch.device("cuda")  # fn may close over a GPU model: wait for its kernels

    with _quiet_codecarbon(), tempfile.TemporaryDirectory(prefix="respai-codecarbon-") as tmp:
        from codecarbon import OfflineEmissionsTracker

        tracker = OfflineEmissionsTracker(
            country_iso_code=code,
            output_dir=tmp,
            output_methods=[],
            log_level="error",
            measure_power_secs=interval,
            tracking_mode=tracking_mode,
            allow_multiple_runs=True,
        )
        tracker.start()
        cpu_start = time.process_time()
        try:
            result = fn(*args, **kwargs)
            synchronize(dev)
        finally:
            cpu_seconds = time.process_time() - cpu_start
            tracker.stop()
        data = tracker.final_emissions_data
        estimate, method, notes = _describe_hardware(tracker, data)

    intensity = float(row["carbon_intensity"])
    notes.append(
        f"Grid: {row['country_name']} yearly average {intensity:.0f} g CO2e/kWh "
        f"({row.get('year', 'year not stated')}, CodeCarbon's offline table); the hourly "
        "and marginal intensity can differ several-fold. Data-centre overhead (PUE) is not "
        "included, nor the embodied carbon of the hardware."
    )
    if data.duration < 5 * interval:
        notes.append(
            f"The run lasted {data.duration:.2g} s, under five power samples of "
            f"{interval:g} s: the figure is coarse."
        )
    if estimate:
        notes.append(
            "Uncertainty: TDP-based estimates can be off by a factor of two or more (TDP is a "
            "cooling rating, not a power reading); read the energy and CO2 as within "
            f"x{ESTIMATE_UNCERTAINTY_FACTOR:g} either way, and do not compare them with "
            "measured figures from another machine."
        )
    return EnergyReport(
        energy_kwh=float(data.energy_consumed),
        cpu_energy_kwh=float(data.cpu_energy),
        gpu_energy_kwh=float(data.gpu_energy),
        ram_energy_kwh=float(data.ram_energy),
        co2_kg=float(data.emissions),
        carbon_intensity_g_per_kwh=intensity,
        duration_s=float(data.duration),
        cpu_seconds=float(cpu_seconds),
        country_iso_code=code,
        is_estimate=estimate,
        method=method,
        assumptions=" ".join(notes),
        uncertainty_factor=ESTIMATE_UNCERTAINTY_FACTOR if estimate else None,
        result=result,
    )
