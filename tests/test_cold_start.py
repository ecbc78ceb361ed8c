"""A cold server's first page must not wait for TensorFlow: what the home page and the entry point
import (and run) loads neither TensorFlow nor Keras; the server warms them up afterwards.

Each check runs in a fresh interpreter, where ``sys.modules`` shows what an import really pulled in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras")


def module_imports(path: Path) -> str:
    """The top-level import statements of a script, as source (what importing the page runs first)."""
    tree = ast.parse(path.read_text())
    return "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))


def heavy_after(code: str) -> list[str]:
    """Which of TensorFlow and Keras a fresh interpreter has imported after running ``code``."""
    probe = code + "\nimport sys\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return sorted(set(out.split()) & set(HEAVY))


def test_the_imports_of_the_home_page_and_the_entry_point_load_no_tensorflow():
    code = module_imports(ROOT / "pages" / "home.py") + "\n" + module_imports(ROOT / "streamlit_app.py")
    assert "mlc.ui" in code and "mlc.models" in code  # the chain that used to pull TensorFlow in
    assert heavy_after(code) == []


def test_what_the_home_page_reads_loads_no_tensorflow():
    code = (
        "from mlc import lessons\n"
        "from mlc.models import MODELS\n"
        "from mlc.config import RunConfig\n"
        "from mlc.ui import sample_strip\n"
        "assert len(lessons.loss_modes()) == 7 and all(spec.summary for spec in MODELS.values())\n"
        "RunConfig(loss='focal', loss_params={'gamma': 1.0})\n"
        "RunConfig(loss='weighted_bce', weights=(2.0, 1.0, 1.0, 1.0, 1.0), weighting='positive')\n"
        "try:\n"
        "    RunConfig(loss='asl', loss_params={'clip': 1.5})\n"
        "except ValueError as exc:\n"
        "    assert str(exc).startswith('clip must be a finite number in [0, 1)'), exc\n"
        "else:\n"
        "    raise AssertionError('a bad clip was accepted')\n"
    )
    assert heavy_after(code) == []


@pytest.mark.parametrize(
    "module",
    ["mlc.config", "mlc.models", "mlc.loss_params", "mlc.jobs", "mlc.inference", "mlc.lessons", "mlc.rerun_clock"],
)
def test_the_modules_under_the_home_page_load_no_tensorflow(module):
    assert heavy_after(f"import {module}") == []


def test_building_a_model_still_imports_keras_when_needed():
    code = "from mlc import models\nassert models.build('linear', 2, image_size=16).output_shape == (None, 2)\n"
    assert heavy_after(code) == ["keras", "tensorflow"]


@pytest.mark.slow  # imports TensorFlow in a fresh process
def test_the_warm_up_loads_tensorflow_and_freezes_what_it_imported():
    code = (
        "import gc\n"
        "from mlc import ui\n"
        "ui.warm_up_tensorflow(delay=0)\n"
        "import mlc.ui_train, mlc.training\n"
        "assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()\n"
        "from mlc import speed\n"  # and it measured this server's compute: the pages' time estimates scale by it
        "assert speed.BOOK.gflops and speed.BOOK.gflops > 1, speed.BOOK.gflops\n"
    )
    assert heavy_after(code) == ["keras", "tensorflow"]
