#!/bin/sh
# Stands in for nvidia-smi: prints the compute capabilities in $FAKE_COMPUTE_CAP, one GPU
# per word, as `nvidia-smi --query-gpu=compute_cap --format=csv,noheader` does; fails like
# nvidia-smi without a driver when it is empty.
[ -n "$FAKE_COMPUTE_CAP" ] || { echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." >&2; exit 9; }
for cap in $FAKE_COMPUTE_CAP; do echo "$cap"; done
