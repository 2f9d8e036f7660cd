"""``python -m archbuilder``: the same as the ``archbuilder`` command."""

import sys

from archbuilder.cli import main

sys.exit(main())
