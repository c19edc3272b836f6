"""python -m cagr.run FLAGS: the package's own cagr-run (docs/CLI.md), with the same flags.

    python -m cagr.run --list-plugins
    python -m cagr.run --model=model.xml --batch=256 --iterations=100
"""

import os
import sys


def main() -> None:
    program = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "cagr-run")
    if not os.access(program, os.X_OK):
        sys.exit(f"python -m cagr.run: {program} is missing from this installation of cagr")
    os.execv(program, ["cagr-run", *sys.argv[1:]])


if __name__ == "__main__":
    main()
