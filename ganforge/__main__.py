"""``python -m ganforge`` (and ``torchrun -m ganforge``)."""

import sys

from ganforge.cli import main

sys.exit(main())
