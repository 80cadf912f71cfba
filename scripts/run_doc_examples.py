#!/usr/bin/env python3
"""Runs a doc's examples as a reader would, from the root of the checkout: every ```sh block
in order (each one in `bash -eo pipefail`, printed before it runs), except a block right
after a `<!-- set-up -->` line, which the suite's own set-up has done. A block right after
`<!-- file: PATH -->` must be PATH's contents, so that the doc shows the file it runs.
Exits 1 at the first block that fails or file that differs.
Usage: run_doc_examples.py DOC.md REPO"""
import re
import subprocess
import sys

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.M | re.S)
MARKER = re.compile(r"<!-- (set-up|file: (\S+)) -->\n*$")


def main(doc, repo):
    text = open(doc).read()
    for block in FENCE.finditer(text):
        language, body = block.group(1), block.group(2)
        marker = MARKER.search(text[:block.start()][-200:])
        if marker and marker.group(2):
            with open(f"{repo}/{marker.group(2)}") as f:
                if f.read() != body:
                    line = text.count("\n", 0, block.start()) + 1
                    sys.exit(f"{doc}: the block at line {line} is not {marker.group(2)}")
            print(f"# {marker.group(2)}: as shown", flush=True)
        elif language == "sh" and not marker:
            print(body, end="", flush=True)
            if subprocess.run(["bash", "-eo", "pipefail", "-c", body], cwd=repo).returncode:
                sys.exit(f"{doc}: the block above failed")


if __name__ == "__main__":
    main(*sys.argv[1:])
