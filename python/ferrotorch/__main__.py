"""``python -m ferrotorch script.py [args...]``: the same as ``python -m ferrotorch.run``."""
import sys

from ferrotorch.run import main

if __name__ == "__main__":
    sys.exit(main())
