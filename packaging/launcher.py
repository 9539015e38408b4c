"""The bundles' entry script: the same ``voicedesk`` command as ``pip install`` gives."""

import sys

from voicedesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
