"""``python -m benchmarks [--quick] [--out FILE.json]``."""
import sys

from benchmarks.run import main

sys.exit(main())
