"""Runs a command and checks its exit code: expect_exit.py CODE COMMAND [ARGS...].

Prints the command's stderr (for FileCheck) and fails unless the command exited with CODE;
for CODE 2 (bad input) it also fails unless stderr is exactly one line.
"""
import subprocess
import sys

code = int(sys.argv[1])
result = subprocess.run(sys.argv[2:], capture_output=True, text=True, errors="replace")
sys.stdout.write(result.stderr)
if result.returncode != code:
    sys.exit(f"expected exit code {code}, got {result.returncode}")
if code == 2 and len(result.stderr.splitlines()) != 1:
    sys.exit(f"expected one line on stderr, got {len(result.stderr.splitlines())}")
