"""``python -m dimse_codec``: the ``dimse-codec`` command line, where its script is not on PATH."""

import sys

from dimse_codec.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
