"""``python -m mlc``: see :mod:`mlc.cli`."""

import sys

from mlc.cli import main

if __name__ == "__main__":
    sys.exit(main())
