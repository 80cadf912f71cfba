#!/usr/bin/env python3
"""Writes the PTX of every `#gpu.object` in an MLIR file to its own file, for ptxas.

After `gpu-module-to-binary{format=isa}`, each gpu.binary holds its module's PTX as an
escaped MLIR string (`assembly = "..."`, or the object's string body). Usage:

    extract_ptx.py INPUT.mlir OUT_DIR

writes OUT_DIR/0.ptx, OUT_DIR/1.ptx, ... and prints how many it wrote. No PTX is an error,
so that a test piping an empty pipeline into ptxas cannot pass.
"""

import os
import re
import sys

# An MLIR string literal: anything but an unescaped quote.
_STRING = r'"((?:[^"\\]|\\.)*)"'
_ASSEMBLY = re.compile(r'#gpu\.object<#nvvm\.target<[^>]*>\s*,\s*(?:properties\s*=\s*\{[^}]*\}\s*,\s*)?'
                       r'(?:assembly\s*=\s*)?' + _STRING)


def unescape(text: str) -> str:
    """MLIR prints a backslash as two and any other unprintable byte as \\XX (hex)."""
    return re.sub(r'\\(\\|[0-9A-Fa-f]{2})',
                  lambda m: '\\' if m.group(1) == '\\' else chr(int(m.group(1), 16)), text)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, out_dir = sys.argv[1], sys.argv[2]
    with open(source, encoding='utf-8') as f:
        text = f.read()
    ptx = [unescape(m.group(1)) for m in _ASSEMBLY.finditer(text)]
    ptx = [p for p in ptx if '.target' in p]
    if not ptx:
        print(f'{source}: no PTX in any #gpu.object', file=sys.stderr)
        return 1
    os.makedirs(out_dir, exist_ok=True)
    for i, code in enumerate(ptx):
        with open(os.path.join(out_dir, f'{i}.ptx'), 'w', encoding='utf-8') as f:
            f.write(code)
    print(f'wrote {len(ptx)} PTX files')
    return 0


if __name__ == '__main__':
    sys.exit(main())
