"""``python -m push_pop_client``: the ``push-pop`` command."""

import sys

from .cli import main

sys.exit(main())
