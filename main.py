"""Start the digitlab desktop app: ``python main.py``."""

from digitlab.app import main

if __name__ == "__main__":
    raise SystemExit(main())
