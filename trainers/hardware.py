"""What the machine can afford: a training mode and the feature flags that go with it.

`probe` measures the machine, `choose_mode` picks one of four modes from it, and
`feature_flags` says what the trainer does in that mode; `hardware_profile` does all three
(or forces a mode) and returns what model.json records.

Modes, checked in this order (``GB`` here is 2**30 bytes, as ``free -g`` counts; the
thresholds sit a little below the nominal sizes because the kernel keeps some memory, so a
"16 GB" machine reports about 15.5):

- ``lite``: below 3.5 GB of RAM or a single CPU. A small VPS that also runs MT4.
- ``deep``: a GPU and at least 15 GB of RAM.
- ``heavy``: at least 15 GB of RAM and at least 8 CPUs.
- ``standard``: anything else.

Feature flags (all four are present in every mode):

- ``lite_batches``: build and fit the training data in bounded-size batches (incremental
  fitting), never the bot's whole history in memory at once. On in ``lite`` only.
- ``lightgbm``: tree models (LightGBM, and XGBoost or CatBoost when installed) may be
  trained; they need the whole training matrix in memory, so they are off in ``lite``,
  where only the linear family trains.
- ``shap_importance``: feature importance from per-row contributions (LightGBM
  ``pred_contrib``, coefficient times z) over every training row; off, the trainer uses a
  cheaper importance (split gain, coefficient sizes). Off in ``lite``.
- ``optuna_search``: hyperparameter search over many fits (Optuna) instead of the fixed
  defaults. On in ``heavy`` and ``deep``.

``deep`` turns on what ``heavy`` does; no model family uses the GPU yet, the mode records
that one was there.

Examples
--------
>>> small = Resources(ram_gb=2.0, cpu_count=4, disk_free_gb=20.0, gpu=None)
>>> choose_mode(small)
'lite'
>>> feature_flags("lite")
{'lite_batches': True, 'lightgbm': False, 'shap_importance': False, 'optuna_search': False}
>>> hardware_profile(override="heavy", resources=small)["mode"]
'heavy'
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import psutil

MODES = ("lite", "standard", "heavy", "deep")
_GB = 2**30
LITE_BELOW_RAM_GB = 3.5
LITE_MAX_CPUS = 1
BIG_RAM_GB = 15.0  # heavy and deep: a nominal 16 GB machine
HEAVY_MIN_CPUS = 8
_NVIDIA_SMI_TIMEOUT_S = 5.0

_FLAGS = {
    "lite": {
        "lite_batches": True,
        "lightgbm": False,
        "shap_importance": False,
        "optuna_search": False,
    },
    "standard": {
        "lite_batches": False,
        "lightgbm": True,
        "shap_importance": True,
        "optuna_search": False,
    },
    "heavy": {
        "lite_batches": False,
        "lightgbm": True,
        "shap_importance": True,
        "optuna_search": True,
    },
}
_FLAGS["deep"] = dict(_FLAGS["heavy"])


@dataclass(frozen=True)
class Resources:
    """What a machine offers the trainer."""

    ram_gb: float  # total physical memory
    cpu_count: int  # CPUs this process may run on
    disk_free_gb: float  # free space on the disk that holds the probed path
    gpu: str | None  # name of the first NVIDIA GPU, None when there is none

    @classmethod
    def probe(cls, path: str | os.PathLike[str] = ".") -> Resources:
        """This machine's resources; the disk is the one holding ``path``.

        Examples
        --------
        >>> Resources.probe().cpu_count >= 1
        True
        """
        return probe(path)


def probe(path: str | os.PathLike[str] = ".") -> Resources:
    """Measure this machine with psutil (and ``nvidia-smi -L``, when it is on the PATH).

    The CPU count is the process's CPU affinity where the platform has one, so a container
    or ``taskset`` limit counts, not the host's cores.

    Examples
    --------
    >>> probe().ram_gb > 0
    True
    """
    try:
        cpus = len(psutil.Process().cpu_affinity())
    except (AttributeError, NotImplementedError, psutil.Error):  # macOS has no affinity
        cpus = psutil.cpu_count(logical=True) or 1
    return Resources(
        ram_gb=psutil.virtual_memory().total / _GB,
        cpu_count=max(1, cpus),
        disk_free_gb=psutil.disk_usage(os.fspath(path)).free / _GB,
        gpu=_nvidia_gpu(),
    )


def _nvidia_gpu() -> str | None:
    """The first GPU ``nvidia-smi -L`` lists ("GPU 0: NAME (UUID: ...)"), or None."""
    command = shutil.which("nvidia-smi")
    if command is None:
        return None
    try:
        listed = subprocess.run(
            [command, "-L"],
            capture_output=True,
            text=True,
            timeout=_NVIDIA_SMI_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0:
        return None  # installed, but no driver or no device
    for line in listed.stdout.splitlines():
        if line.startswith("GPU "):
            name = line.split(":", 1)[1] if ":" in line else line
            return name.split("(UUID", 1)[0].strip() or "GPU"
    return None


def choose_mode(resources: Resources) -> str:
    """The training mode ``resources`` afford (thresholds in the module docstring).

    Examples
    --------
    >>> choose_mode(Resources(ram_gb=31.2, cpu_count=4, disk_free_gb=100.0, gpu="RTX 4090"))
    'deep'
    >>> choose_mode(Resources(ram_gb=7.7, cpu_count=4, disk_free_gb=100.0, gpu=None))
    'standard'
    """
    if resources.ram_gb < LITE_BELOW_RAM_GB or resources.cpu_count <= LITE_MAX_CPUS:
        return "lite"
    if resources.gpu and resources.ram_gb >= BIG_RAM_GB:
        return "deep"
    if resources.ram_gb >= BIG_RAM_GB and resources.cpu_count >= HEAVY_MIN_CPUS:
        return "heavy"
    return "standard"


def feature_flags(mode: str) -> dict[str, bool]:
    """What the trainer does in ``mode`` (flags explained in the module docstring)."""
    return dict(_FLAGS[_checked(mode)])


def hardware_profile(
    path: str | os.PathLike[str] = ".",
    override: str | None = None,
    *,
    resources: Resources | None = None,
) -> dict[str, Any]:
    """``mode``, ``feature_flags`` and ``resources`` of this machine, JSON-ready.

    ``override`` forces a mode whatever the machine (the resources are still measured and
    reported); ``resources`` replaces the probe (of ``path``'s disk).
    """
    if override is not None:
        _checked(override)
    measured = probe(path) if resources is None else resources
    mode = choose_mode(measured) if override is None else override
    return {
        "mode": mode,
        "feature_flags": feature_flags(mode),
        "resources": {
            "ram_gb": round(float(measured.ram_gb), 2),
            "cpu_count": int(measured.cpu_count),
            "disk_free_gb": round(float(measured.disk_free_gb), 2),
            "gpu": None if measured.gpu is None else str(measured.gpu),
        },
    }


def _checked(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    return mode
