# ruff: noqa  (a submission written as data: placeholders like {PORT} are filled in by the test)
"""An endless loop that swallows the interrupt sent at the cell timeout. Expected: the cell is stopped, the
kernel is declared dead after the grace period, the tests that ran keep their scores, the rest score zero."""

# cell: cosine
import time

while True:
    try:
        time.sleep(0.5)
    except KeyboardInterrupt:
        pass
