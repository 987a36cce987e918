# ruff: noqa  (a submission written as data: placeholders like {PORT} are filled in by the test)
"""End the kernel's process with os._exit(0) in the second solution cell. Expected: the first exercise is
scored (it ran), the cell where the kernel died is named, the rest score zero, and the next submission is
graded normally."""

# cell: norm
import os

os._exit(0)
