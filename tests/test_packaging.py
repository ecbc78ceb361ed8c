"""Tests for the packaging (``pyproject.toml``): ``pip install .`` gives the ``mlc`` package and command.

The slow tests build and install this checkout offline (``--no-index --no-deps
--no-build-isolation``: the installed setuptools builds it, the installed
TensorFlow & co. are used) into a temporary directory, then run the installed
``mlc`` command from a directory outside the checkout with ``PYTHONPATH``
pointing only at that install — the way a user without a checkout runs it.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from mlc import cli

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def modules_under(root: Path) -> set[str]:
    """Every module file of the ``mlc`` package under ``root``, as paths relative to ``root``."""
    return {p.relative_to(root).as_posix() for p in (root / "mlc").rglob("*.py") if "__pycache__" not in p.parts}


# ---------------------------------------------------------------- the configuration
def test_the_console_script_is_cli_main_returning_an_exit_code():
    assert PYPROJECT["project"]["scripts"] == {"mlc": "mlc.cli:main"}
    signature = inspect.signature(cli.main)
    assert list(signature.parameters) == ["argv"] and signature.parameters["argv"].default is None
    assert signature.return_annotation in (int, "int")  # the script calls sys.exit(main())


def test_package_discovery_finds_every_package_of_mlc_and_nothing_else():
    import setuptools

    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    found = set(setuptools.find_packages(where=str(ROOT), include=include))
    # a directory of modules under mlc/ is a package only with an __init__.py: a missing one
    # would leave its modules out of the install
    expected = {
        ".".join(d.relative_to(ROOT).parts)
        for d in [ROOT / "mlc", *(ROOT / "mlc").rglob("*")]
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))
    }
    assert found == expected
    assert {"mlc", "mlc.bench"} <= found


def test_the_installed_setuptools_can_build_offline():
    """``--no-build-isolation`` builds with the setuptools installed here: it must meet the requirement."""
    from packaging.requirements import Requirement

    (requirement,) = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    assert requirement.name == "setuptools"
    assert requirement.specifier.contains(importlib.metadata.version("setuptools"))


# ---------------------------------------------------------------- a real install, offline
@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``pip install --target`` of a copy of the checkout (so the build leaves no build/ in the checkout)."""
    base = tmp_path_factory.mktemp("install")
    source, target, elsewhere = base / "source", base / "site", base / "elsewhere"
    shutil.copytree(ROOT / "mlc", source / "mlc", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
    offline = ["--no-index", "--no-deps", "--no-build-isolation", "--target", str(target), str(source)]
    proc = subprocess.run(pip + offline, capture_output=True, text=True, timeout=300, cwd=base)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env |= {"PYTHONPATH": str(target), "PYTHONNOUSERSITE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return {"target": target, "elsewhere": elsewhere, "env": env}


def run_installed(installed, *argv: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(argv), cwd=installed["elsewhere"], env=installed["env"], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_the_install_holds_every_module_of_the_package(installed):
    assert modules_under(installed["target"]) == modules_under(ROOT)
    assert not (installed["target"] / "tests").exists() and not (installed["target"] / "benchmarks").exists()


@pytest.mark.slow
def test_python_imports_the_installed_package_not_a_checkout(installed):
    script = "import mlc, mlc.bench, mlc.cli, importlib.metadata as m; print(mlc.__file__); print(m.version('mlc'))"
    proc = run_installed(installed, sys.executable, "-c", script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    where, version = proc.stdout.split()
    assert Path(where).is_relative_to(installed["target"])
    import mlc

    assert version == mlc.__version__


@pytest.mark.slow
def test_the_mlc_command_offers_train_and_bench(installed):
    command = installed["target"] / "bin" / "mlc"
    proc = run_installed(installed, str(command), "--help")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("usage: mlc ")
    assert "train" in proc.stdout and "bench" in proc.stdout
    proc = run_installed(installed, str(command), "bench", "--help")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("usage: mlc bench") and "--out FILE" in proc.stdout


@pytest.mark.slow
def test_python_dash_m_mlc_works_from_the_install(installed):
    proc = run_installed(installed, sys.executable, "-m", "mlc", "train", "--help")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("usage: python -m mlc train") and "--epochs" in proc.stdout


@pytest.mark.slow
def test_the_installed_bench_measures_and_writes_where_asked(installed):
    before = sorted(p for p in installed["target"].rglob("*") if "__pycache__" not in p.parts)
    command = installed["target"] / "bin" / "mlc"
    proc = run_installed(installed, str(command), "bench", "--quick", "--only", "data", "--out", "last-run.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| scene generation 64×64, images/s (hard labels) |" in proc.stdout
    assert (installed["elsewhere"] / "last-run.json").is_file()
    # the install itself stays as pip left it (only bytecode caches appear)
    assert sorted(p for p in installed["target"].rglob("*") if "__pycache__" not in p.parts) == before
