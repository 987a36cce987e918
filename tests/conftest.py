"""Test configuration shared by every test: the offline environment, set before anything imports transformers."""

import os

from curriculum.env import OFFLINE_ENV

for _key, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_key, _value)
