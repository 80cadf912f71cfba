"""Says how each program embeds its kernels: a fatbin (its header's magic, with an ELF cubin
after it), PTX text (and for which chip), or nothing recognisable."""

import re
import sys

FATBIN_MAGIC = bytes.fromhex('50ed55ba')  # 0xBA55ED50, little-endian

for path in sys.argv[1:]:
    data = open(path, 'rb').read()
    name = path.rsplit('/', 1)[-1]
    fatbin = data.find(FATBIN_MAGIC)
    ptx = re.search(rb'\.target (sm_\w+)', data)
    if fatbin >= 0 and data.find(b'\x7fELF', fatbin) >= 0 and not ptx:
        print(f'{name}: fatbin')
    elif ptx and fatbin < 0:
        print(f'{name}: PTX for {ptx.group(1).decode()}')
    else:
        print(f'{name}: neither (fatbin at {fatbin}, PTX {bool(ptx)})')
