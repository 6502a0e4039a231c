import sys

from tenantguard.cli import main

sys.exit(main())
