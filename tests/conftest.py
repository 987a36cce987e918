"""Test configuration shared by every test: the offline environment, set before anything imports transformers."""

import os
import sys
from pathlib import Path

from curriculum.env import OFFLINE_ENV

for _key, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)

# shared test helpers (the browser driver, the providers' wire formats) are importable from every test folder
_SUPPORT = str(Path(__file__).parent / "support")
if _SUPPORT not in sys.path:
    sys.path.insert(0, _SUPPORT)
