"""compare_ranks.py WHOLE_DIR SHARDED_DIR RANKS: the outputs of an expert-parallel run (rank 0
in SHARDED_DIR, rank R in SHARDED_DIR/rankR) against the unsharded program's (WHOLE_DIR) on
the same inputs (WHOLE_DIR/rankR for rank R where the ranks had inputs of their own, else
WHOLE_DIR): prints the largest difference of every output of every rank, and whether it
is within 1e-6 (relative and absolute): a rank's experts run the same kernels on other row
counts, which can sum a dot product in another order (docs/sharding.md)."""
import glob
import os
import sys

import numpy as np

whole_dir, sharded_dir, ranks = sys.argv[1], sys.argv[2], int(sys.argv[3])
for rank in range(ranks):
    folder = sharded_dir if rank == 0 else os.path.join(sharded_dir, f"rank{rank}")
    own = os.path.join(whole_dir, f"rank{rank}")
    reference_dir = own if rank > 0 and os.path.isdir(own) else whole_dir
    for whole in sorted(glob.glob(os.path.join(reference_dir, "*.npy"))):
        name = os.path.basename(whole)
        expected, got = np.load(whole), np.load(os.path.join(folder, name))
        verdict = "ok" if np.allclose(got, expected, rtol=1e-6, atol=1e-6) else "DIFFERS"
        print(f"rank {rank}: {name} max |sharded - whole| = "
              f"{np.abs(expected - got).max():g}: {verdict}")
