"""Interrupts a compile while its object file is in TMPDIR: interrupt_compile.py SIGNAL
TMPDIR MOEC ARGS... runs MOEC with TMPDIR, sends SIGNAL (TERM, INT or HUP) as soon as a
temporary file appears there, waits for moec to end and prints what is left in TMPDIR,
one name a line ("left: nothing" when empty)."""
import os
import signal
import subprocess
import sys
import time

signal_name, tmpdir, command = sys.argv[1], sys.argv[2], sys.argv[3:]
process = subprocess.Popen(command, env=dict(os.environ, TMPDIR=tmpdir),
                           stderr=subprocess.DEVNULL)
deadline = time.monotonic() + 120
while process.poll() is None and not os.listdir(tmpdir) and time.monotonic() < deadline:
    time.sleep(0.001)
if process.poll() is not None:
    sys.exit("moec ended before it wrote a temporary file")
process.send_signal(getattr(signal, "SIG" + signal_name))
process.wait()
left = sorted(os.listdir(tmpdir))
print("left: " + (", ".join(left) if left else "nothing"))
