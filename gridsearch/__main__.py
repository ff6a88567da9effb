import sys

from gridsearch.cli import main

sys.exit(main())
