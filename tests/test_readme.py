"""The README's library snippet runs as written, and what it says about the project holds."""

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def python_block(section: str) -> str:
    """The first ```python block after the heading ``section``."""
    start = README.index(f"\n## {section}\n")
    match = re.compile(r"```python\n(.*?)```", re.S).search(README, start)
    assert match, f"no python block under {section!r}"
    return match.group(1)


@pytest.mark.slow
def test_the_library_snippet_runs_as_written():
    out = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(out):
        exec(compile(python_block("The library"), "README.md", "exec"), namespace)
    assert out.getvalue().split() == ["finished", "True", "cat"]
    assert namespace["x"].shape == (1000, 64, 64, 3) and namespace["y"].shape == (1000, 5)
    assert set(namespace["rep"]) >= {"map", "per_tag", "macro_f1"}


def test_the_module_map_names_every_module():
    modules = {p.stem for p in (ROOT / "mlc").glob("*.py")} - {"__init__"}
    layout = README[README.index("\n## Layout\n") : README.index("\n## Set up\n")]
    missing = sorted(m for m in modules if f"`{m}`" not in layout and f"`{m} " not in layout)
    assert not missing, f"README's module map lacks {missing}"


def test_the_upload_cap_agrees_with_the_streamlit_config():
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    mb = int(re.search(r"^maxUploadSize = (\d+)", config, re.M).group(1))
    assert f"uploads capped at {mb} MB per file" in README
