"""``python -m digitlab``: the ``digitlab`` command (digitlab.cli), for when the script is not on PATH."""

import sys

from .cli import run

if __name__ == "__main__":      # importing the module (tests import every module) runs nothing
    sys.exit(run())
