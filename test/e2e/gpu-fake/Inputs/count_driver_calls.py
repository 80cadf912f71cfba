"""Counts the driver calls in a fake driver's trace (MOEC_FAKE_CUDA_TRACE=1 on stderr):
prints `<entry point>: <calls>` per entry point, sorted by name, for FileCheck.

usage: count_driver_calls.py TRACE
"""
import collections
import sys


def main():
    calls = collections.Counter()
    with open(sys.argv[1]) as trace:
        for line in trace:
            if line.startswith("fake-cuda: "):
                calls[line.split()[1]] += 1
    for entry in sorted(calls):
        print(f"{entry}: {calls[entry]}")


if __name__ == "__main__":
    main()
