import sys

from newsletter.cli.commands import main

sys.exit(main())
