import sys

from sound2video.cli import main

sys.exit(main())
