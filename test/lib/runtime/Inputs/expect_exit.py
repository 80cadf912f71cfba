"""Usage: expect_exit.py CODE COMMAND ARGS...: runs COMMAND with its stdout and stderr passed
through, and succeeds only if it exits with CODE (lit's `not` accepts any non-zero code)."""
import subprocess
import sys

want = int(sys.argv[1])
got = subprocess.run(sys.argv[2:]).returncode
if got != want:
    print(f"expect_exit.py: exit code {got}, expected {want}", file=sys.stderr)
    sys.exit(1)
