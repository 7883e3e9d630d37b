"""Training modes from the machine's resources, their feature flags, and the real probe."""

from __future__ import annotations

import json
import os
import stat

import pytest

from botcopier.trainers import hardware
from botcopier.trainers.hardware import (
    MODES,
    Resources,
    choose_mode,
    feature_flags,
    hardware_profile,
    probe,
)


def machine(ram_gb: float, cpus: int, gpu: str | None = None) -> Resources:
    return Resources(ram_gb=ram_gb, cpu_count=cpus, disk_free_gb=50.0, gpu=gpu)


@pytest.mark.parametrize(
    ("resources", "mode"),
    [
        (machine(3.49, 16), "lite"),  # too little memory, however many CPUs
        (machine(3.5, 2), "standard"),
        (machine(64.0, 1), "lite"),  # a single CPU
        (machine(64.0, 1, gpu="Tesla T4"), "lite"),  # a GPU does not rescue a single CPU
        (machine(14.99, 4, gpu="Tesla T4"), "standard"),  # a GPU, but not enough memory
        (machine(15.0, 2, gpu="Tesla T4"), "deep"),
        (machine(15.0, 8), "heavy"),
        (machine(14.99, 8), "standard"),
        (machine(15.0, 7), "standard"),
        (machine(128.0, 64), "heavy"),
        (machine(7.7, 4), "standard"),
    ],
)
def test_mode_boundaries(resources, mode):
    assert choose_mode(resources) == mode


def test_every_mode_has_the_same_flags():
    names = {"lite_batches", "lightgbm", "shap_importance", "optuna_search"}
    for mode in MODES:
        assert set(feature_flags(mode)) == names
        assert all(type(v) is bool for v in feature_flags(mode).values())


def test_flags_follow_the_mode():
    assert feature_flags("lite") == {
        "lite_batches": True,
        "lightgbm": False,
        "shap_importance": False,
        "optuna_search": False,
    }
    assert feature_flags("standard")["lightgbm"] and not feature_flags("standard")["lite_batches"]
    assert not feature_flags("standard")["optuna_search"]
    assert feature_flags("heavy")["optuna_search"] and feature_flags("deep")["optuna_search"]


def test_flags_are_a_copy():
    feature_flags("lite")["lightgbm"] = True
    assert feature_flags("lite")["lightgbm"] is False


def test_profile_records_mode_flags_and_resources_as_json():
    profile = hardware_profile(resources=machine(31.9, 12))
    assert profile == {
        "mode": "heavy",
        "feature_flags": feature_flags("heavy"),
        "resources": {"ram_gb": 31.9, "cpu_count": 12, "disk_free_gb": 50.0, "gpu": None},
    }
    assert json.loads(json.dumps(profile)) == profile


def test_override_forces_the_mode():
    profile = hardware_profile(override="lite", resources=machine(128.0, 64, gpu="A100"))
    assert profile["mode"] == "lite"
    assert profile["feature_flags"] == feature_flags("lite")
    assert profile["resources"]["gpu"] == "A100"


def test_an_unknown_mode_lists_the_choices():
    with pytest.raises(ValueError, match="'turbo'.*lite, standard, heavy, deep"):
        hardware_profile(override="turbo", resources=machine(8.0, 4))
    with pytest.raises(ValueError, match="lite, standard, heavy, deep"):
        feature_flags("Lite")


def test_the_real_probe_reports_sane_numbers(tmp_path):
    found = probe(tmp_path)
    assert 0.1 < found.ram_gb < 100_000
    assert 1 <= found.cpu_count <= (os.cpu_count() or 1)
    assert found.disk_free_gb > 0
    assert found.gpu is None or found.gpu
    assert Resources.probe(tmp_path).cpu_count == found.cpu_count
    profile = hardware_profile(tmp_path)
    assert profile["mode"] in MODES
    assert json.loads(json.dumps(profile)) == profile


def fake_nvidia_smi(folder, script: str, monkeypatch) -> None:
    tool = folder / "nvidia-smi"
    tool.write_text("#!/bin/sh\n" + script)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def test_gpu_name_comes_from_nvidia_smi(tmp_path, monkeypatch):
    fake_nvidia_smi(
        tmp_path,
        'echo "GPU 0: NVIDIA GeForce RTX 3090 (UUID: GPU-1234)"\n'
        'echo "GPU 1: NVIDIA GeForce RTX 3090 (UUID: GPU-5678)"\n',
        monkeypatch,
    )
    assert probe(tmp_path).gpu == "NVIDIA GeForce RTX 3090"


def test_nvidia_smi_without_a_driver_means_no_gpu(tmp_path, monkeypatch):
    fake_nvidia_smi(tmp_path, 'echo "NVIDIA-SMI has failed" >&2\nexit 9\n', monkeypatch)
    assert probe(tmp_path).gpu is None


def test_a_hanging_nvidia_smi_is_given_up_on(tmp_path, monkeypatch):
    fake_nvidia_smi(tmp_path, "exec sleep 30\n", monkeypatch)
    monkeypatch.setattr(hardware, "_NVIDIA_SMI_TIMEOUT_S", 0.3)
    assert probe(tmp_path).gpu is None
