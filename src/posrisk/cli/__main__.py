"""``python -m posrisk.cli``: the ``posrisk`` command without its console script."""

from . import main

main()
