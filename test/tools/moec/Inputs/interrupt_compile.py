"""Interrupts a compile while its object file is in TMPDIR: interrupt_compile.py SIGNAL
TMPDIR MOEC ARGS... runs MOEC with TMPDIR, sends SIGNAL (TERM, INT or HUP) as soon as a
temporary file appears there, waits for moec to end, and prints how it ended and what is
left in TMPDIR, one name a line ("left: nothing" when empty).

On a loaded machine this script can be descheduled between seeing the temporary file and
signalling, long enough for the compile to finish: a compile that ends on its own proves
nothing, so its output (ARGS' `-o` path) is removed and the compile is tried again."""
import os
import signal
import subprocess
import sys
import time

signal_name, tmpdir, command = sys.argv[1], sys.argv[2], sys.argv[3:]
signal_number = getattr(signal, "SIG" + signal_name)
output = command[command.index("-o") + 1]
for attempt in range(5):
    # lit starts tests with SIGINT ignored, and moec would inherit that.
    process = subprocess.Popen(command, env=dict(os.environ, TMPDIR=tmpdir),
                               stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while process.poll() is None and not os.listdir(tmpdir) and time.monotonic() < deadline:
        time.sleep(0.001)
    if process.poll() is not None:
        sys.exit("moec ended before it wrote a temporary file")
    process.send_signal(signal_number)
    status = process.wait()
    if status == -signal_number:
        break
    if status != 0:
        sys.exit(f"moec exited with {status} on SIG{signal_name}, not by the signal")
    os.remove(output)
else:
    sys.exit("moec finished before the signal in every attempt")
print("ended by: SIG" + signal_name)
left = sorted(os.listdir(tmpdir))
print("left: " + (", ".join(left) if left else "nothing"))
