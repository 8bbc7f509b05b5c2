"""``python -m rmt_lite.book``: execute, build and check the book (:mod:`rmt_lite.book.build`)."""

import sys

from ..cli import run
from .build import main

sys.exit(run(main))
