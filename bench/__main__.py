"""`python3 -m bench` (from the repository root): the same as scripts/bench."""

import sys

from bench.cli import main

sys.exit(main())
