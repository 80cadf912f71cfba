"""Counts the driver calls in a fake driver's trace (MOEC_FAKE_CUDA_TRACE=1 on stderr):
prints `<entry point>: <calls>` per entry point, sorted by name, then
`launches of <kernel>: <launches>` per kernel launched (cuLaunchKernel or cuLaunchKernelEx),
sorted by name, for FileCheck.

usage: count_driver_calls.py TRACE
"""
import collections
import sys

LAUNCHES = ("cuLaunchKernel", "cuLaunchKernelEx")


def main():
    calls = collections.Counter()
    launches = collections.Counter()
    with open(sys.argv[1]) as trace:
        for line in trace:
            if line.startswith("fake-cuda: "):
                words = line.split()
                calls[words[1]] += 1
                if words[1] in LAUNCHES:
                    launches[words[2]] += 1
    for entry in sorted(calls):
        print(f"{entry}: {calls[entry]}")
    for kernel in sorted(launches):
        print(f"launches of {kernel}: {launches[kernel]}")


if __name__ == "__main__":
    main()
