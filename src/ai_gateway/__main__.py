import sys

from ai_gateway.cli import main

sys.exit(main())
