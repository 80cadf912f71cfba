"""Compiles MODEL with each optional pass that `moec --list-passes` shows disabled in turn.

Usage: disable_each_optional_pass.py MODEL.onnx DIR. Prints `NAME: off, compiled` per pass
once `moec --list-passes --disable-pass=NAME` shows it off and the compile succeeds.
"""
import os
import subprocess
import sys


def optional_passes():
    listing = subprocess.run(["moec", "--list-passes"], check=True, capture_output=True,
                             text=True).stdout
    return [line.split()[-1] for line in listing.splitlines() if line.split()[2] == "optional"]


def main():
    model, out_dir = sys.argv[1], sys.argv[2]
    names = optional_passes()
    for name in names:
        flag = "--disable-pass=" + name
        listing = subprocess.run(["moec", "--list-passes", flag], check=True,
                                 capture_output=True, text=True).stdout
        shown = [line.split() for line in listing.splitlines() if line.split()[-1] == name]
        if not shown or shown[0][1] != "off":
            sys.exit(f"{name}: --list-passes does not show it off")
        subprocess.run(["moec", model, "-o", os.path.join(out_dir, name), flag], check=True)
        print(f"{name}: off, compiled")
    print("every optional pass disabled alone" if names else "no optional pass")


if __name__ == "__main__":
    main()
