"""Fixtures of the grading tests; ``submission_kit.py`` beside this file builds the submissions they grade."""

from __future__ import annotations

import sys
from pathlib import Path

if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))
