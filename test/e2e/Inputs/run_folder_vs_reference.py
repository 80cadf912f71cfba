"""Compiles every model of a folder of models with their reference outputs (as
scripts/make_recurrent_op_models.py and scripts/make_product_key_models.py write them) and
runs it on each of its NAME.SHAPE.npz, comparing with the outputs there by
scripts/run_vs_reference.py (1e-4 relative). Models named bad_* are skipped.

    run_folder_vs_reference.py MODELS_DIR WORK_DIR

Prints run_vs_reference.py's lines, each prefixed with NAME.SHAPE, then
"N of M matched" (runs, not outputs).
"""
import glob
import os
import subprocess
import sys

COMPARE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "scripts",
                       "run_vs_reference.py")


def main():
    models_dir, work_dir = sys.argv[1:]
    runs = matched = 0
    for model in sorted(glob.glob(os.path.join(models_dir, "*.onnx"))):
        name = os.path.basename(model)[:-len(".onnx")]
        if name.startswith("bad_"):
            continue
        program = os.path.join(work_dir, name)
        subprocess.run(["moec", model, "-o", program], check=True)
        for reference in sorted(glob.glob(os.path.join(models_dir, name + ".*.npz"))):
            label = os.path.basename(reference)[:-len(".npz")]
            result = subprocess.run([sys.executable, COMPARE, model, program, reference],
                                    capture_output=True, text=True)
            for line in (result.stdout + result.stderr).splitlines():
                print(f"{label}: {line}")
            runs += 1
            matched += result.returncode == 0
    print(f"{matched} of {runs} matched")


if __name__ == "__main__":
    main()
