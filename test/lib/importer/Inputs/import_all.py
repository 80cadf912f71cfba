"""Imports every model.onnx under a folder with moec, two at a time.

Prints `imported N of M models`, then each model that failed or crashed with the first
line of its error, and exits 1 if any did.
"""
import concurrent.futures
import pathlib
import subprocess
import sys


def import_model(path):
    result = subprocess.run(
        ["moec", str(path), "--stop-after=import", "--emit=mlir", "-o", "/dev/null"],
        capture_output=True, text=True, errors="replace")
    return path, result.returncode, result.stderr.strip().splitlines()[:1]


def main():
    root = pathlib.Path(sys.argv[1])
    models = sorted(root.rglob("model.onnx"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(import_model, models))
    failures = [(path, code, first) for path, code, first in results if code != 0]
    print(f"imported {len(models) - len(failures)} of {len(models)} models")
    for path, code, first in failures:
        kind = "crashed" if code < 0 or code > 2 else "failed"
        print(f"{kind} ({code}): {path.relative_to(root)}: {' '.join(first)}")
    return 1 if failures or not models else 0


if __name__ == "__main__":
    sys.exit(main())
