#!/usr/bin/env bash
# Install everything the test suite needs, lint, then run all of it (unit, AppTest,
# slow real-training, packaging and browser tests). Extra arguments go to pytest.
# A lint or format error fails the command before any test runs.
# The quick loop while editing: python3 -m pytest -m "not slow" (see pytest.ini).
set -euo pipefail
cd "$(dirname "$0")/.."

# Browser tests drive Debian's Chromium (never a downloaded browser).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: Chromium is missing; browser tests will be skipped." >&2
    echo "      install it with: sudo apt-get install chromium chromium-driver" >&2
  fi
fi

python3 -m pip install -q --disable-pip-version-check -r requirements-dev.txt

# Lint and format with the pinned Ruff (configured in pyproject.toml); --check never rewrites.
python3 -m ruff check .
python3 -m ruff format --check .

export TF_CPP_MIN_LOG_LEVEL=2
exec python3 -m pytest "$@"
