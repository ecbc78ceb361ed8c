"""The house's layering, checked on the source: who may import Streamlit and TensorFlow, and sizes.

pages -> mlc/ui*.py (Streamlit glue) -> the library. Pages hold widgets and layout
only; the library never imports Streamlit; a few modules stay free of TensorFlow so
run records, checks and states load in a plain Python process.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "mlc").rglob("*.py"))
PAGES = sorted((ROOT / "pages").glob("*.py"))
UI_GLUE = {p for p in LIBRARY if p.parent.name == "mlc" and (p.stem == "ui" or p.stem.startswith("ui_"))}
#: Modules that must import without TensorFlow or Keras (tested in a fresh interpreter).
TF_FREE = ("mlc", "mlc.checks", "mlc.states", "mlc.runs", "mlc.registry", "mlc.run_summary", "mlc.uploads")


def top_level_imports(path: Path) -> set[str]:
    """First components of every module ``path`` imports (at any depth of the file)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", [p for p in LIBRARY if p not in UI_GLUE], ids=_rel)
def test_the_library_never_imports_streamlit(path):
    assert "streamlit" not in top_level_imports(path), f"{_rel(path)} imports Streamlit; move that into mlc/ui*.py"


@pytest.mark.parametrize("path", PAGES, ids=_rel)
def test_pages_import_only_streamlit_pandas_and_mlc(path):
    extra = top_level_imports(path) - {"streamlit", "pandas", "mlc", "__future__"}
    assert not extra, f"{_rel(path)} imports {sorted(extra)}; a page calls into mlc for everything else"


@pytest.mark.parametrize("path", PAGES, ids=_rel)
def test_each_page_is_well_under_200_lines(path):
    assert len(path.read_text().splitlines()) < 200


@pytest.mark.parametrize("path", LIBRARY, ids=_rel)
def test_no_library_module_is_much_over_500_lines(path):
    assert len(path.read_text().splitlines()) <= 520


@pytest.mark.parametrize("module", TF_FREE)
def test_module_imports_without_tensorflow_or_keras(module):
    code = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    heavy = set(out.split()) & {"tensorflow", "keras", "streamlit"}
    assert not heavy, f"{module} pulls in {sorted(heavy)}"
