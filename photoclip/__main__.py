import sys

from photoclip.cli import main

sys.exit(main())
