"""Compiles a model with `moec --emit=ptx` for sm_80, sm_90 and sm_90a and assembles each
PTX with `ptxas -arch=<the same chip>`. Prints `<chip>: <n> kernels, assembled` per chip;
exits non-zero (with the tool's message) when moec or ptxas fails, or when the PTX calls a
libdevice function (`__nv_*`) that was not linked.

usage: compile_and_assemble.py MODEL OUT_PREFIX [moec options...]
"""
import re
import subprocess
import sys

CHIPS = ["sm_80", "sm_90", "sm_90a"]


def main():
    model, prefix, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    for chip in CHIPS:
        ptx = f"{prefix}.{chip}.ptx"
        subprocess.run(["moec", model, f"--target={chip}", "--emit=ptx", "-o", ptx, *extra],
                       check=True)
        text = open(ptx).read()
        if f".target {chip}" not in text:
            sys.exit(f"{ptx}: not PTX for {chip}")
        unresolved = sorted(set(re.findall(r"__nv_\w+", text)))
        if unresolved:
            sys.exit(f"{ptx}: libdevice not linked, calls {', '.join(unresolved)}")
        subprocess.run(["ptxas", f"-arch={chip}", ptx, "-o", f"{prefix}.{chip}.cubin"],
                       check=True)
        kernels = len(re.findall(r"^\.visible \.entry ", text, flags=re.M))
        print(f"{chip}: {kernels} kernels, assembled")


if __name__ == "__main__":
    main()
