"""`python -m kb.cli`: the `kb` command without its console script."""

from __future__ import annotations

import sys

from kb.cli.main import main

sys.exit(main())
