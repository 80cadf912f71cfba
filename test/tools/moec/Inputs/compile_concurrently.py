"""Compiles two models to one output at the same time, again and again, and runs what is
left each time: compile_concurrently.py ROUNDS OUT MOEC MODEL_A MODEL_B. Each model's weights
go to OUT.weights; whichever compile renames last, OUT and OUT.weights must come from one
compile, so the program must run (a mismatched pair fails the weights' checksum). Prints
"pairs: ROUNDS of ROUNDS run" when every round ran."""
import subprocess
import sys

import numpy as np

rounds, output, moec, models = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:6]
np.save(output + ".x.npy", np.ones((2, 4), np.float32))
ran = 0
for _ in range(rounds):
    compiles = [subprocess.Popen([moec, model, "-o", output, "--weights-file-over=0"])
                for model in models]
    if any(c.wait() != 0 for c in compiles):
        sys.exit("a compile failed")
    run = subprocess.run([output, "--input", output + ".x.npy", "--output-dir",
                          output + ".out"], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"the program left by the round failed: {run.stderr.strip()}")
    ran += 1
print(f"pairs: {ran} of {rounds} run")
