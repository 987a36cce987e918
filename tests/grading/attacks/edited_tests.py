# ruff: noqa  (a submission written as data: placeholders like {PORT} are filled in by the test)
"""Delete one test cell, replace another by `pass` (the solution it checks is wrong), move a test cell below the
next exercise and add a cell of one's own. Expected: the deleted test is put back and runs, the edited one runs
as released, the moved one runs where it is, and the notes name all of it."""

# move-after: test_dot norm
# delete: test_norm
# cell: test_cosine
pass


# cell: cosine
def cosine_similarity(a, b):
    return 0.0


# after: dot
print("a cell of my own")
