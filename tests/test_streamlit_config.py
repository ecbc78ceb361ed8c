"""The app's .streamlit/config.toml: every key is one Streamlit knows, with the hosted-safe value."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {
    "browser.gatherUsageStats": False,
    "server.enableXsrfProtection": True,
    "server.maxUploadSize": 200,
    "client.showErrorDetails": "none",
    "client.toolbarMode": "minimal",
    # Keras' clear_session (run by Streamlit after every script run) already collects
    "runner.postScriptGC": False,
}


def test_config_values_as_streamlit_reads_them():
    code = (
        "import json; from streamlit import config; config.get_config_options(force_reparse=True); "
        f"print(json.dumps({{k: config.get_option(k) for k in {list(EXPECTED)!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    import json

    assert json.loads(out.stdout.strip().splitlines()[-1]) == EXPECTED


def test_every_key_is_a_streamlit_option():
    import tomllib

    from streamlit import config

    options = config.get_config_options()
    data = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    for section, values in data.items():
        for key in values:
            assert f"{section}.{key}" in options, f"unknown Streamlit option {section}.{key}"
