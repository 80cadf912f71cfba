#!/usr/bin/env python3
"""Writes the assembly (PTX) of every `#gpu.object` in MLIR text read from stdin.

`gpu-module-to-binary{format=isa}` keeps the PTX in the object's `assembly` string, with
MLIR's string escapes (`\\0A`, `\\09`, `\\22`, `\\5C`: two hex digits per escaped byte);
ptxas wants it as a file. Usage: moe-opt ... | extract_gpu_assembly.py > kernels.ptx
"""

import re
import sys

ASSEMBLY = re.compile(r'assembly = "((?:[^"\\]|\\.)*)"')


def unescape(text: str) -> str:
    return re.sub(r"\\([0-9A-Fa-f]{2}|.)",
                  lambda m: chr(int(m.group(1), 16)) if len(m.group(1)) == 2 else m.group(1),
                  text)


def main() -> int:
    objects = ASSEMBLY.findall(sys.stdin.read())
    if not objects:
        print("extract_gpu_assembly.py: no #gpu.object with an assembly in the input",
              file=sys.stderr)
        return 1
    for assembly in objects:
        sys.stdout.write(unescape(assembly))
    return 0


if __name__ == "__main__":
    sys.exit(main())
