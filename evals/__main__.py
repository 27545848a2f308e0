"""`python -m evals ...` is `rag eval ...`."""

import sys

from evals.cli import main

sys.exit(main())
