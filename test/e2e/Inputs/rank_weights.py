"""rank_weights.py WHOLE_OUT SHARDED_OUT RANKS STACK [SUFFIX]: checks, by bytes, that each
rank's weights file (SHARDED_OUT.rank<R>.weights) holds exactly its own experts of the expert
stack STACK (uniform blocks: the first E % N ranks one expert more), then zeros up to the
largest rank's count, as WHOLE_OUT.weights (the unsharded program's) holds them, and no stack
of all the experts. SUFFIX ends both names (`.packed`: 4-bit codes and zero points, which
the host packs two a byte after sharding: STACK.packed whole, STACK.rank<R>.packed a rank's)."""
import json
import sys

whole_out, sharded_out, ranks, stack = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
suffix = sys.argv[5] if len(sys.argv) > 5 else ""


def entries(path):
    manifest = json.load(open(path + ".json"))
    data = open(path, "rb").read()
    return {w["name"]: (w["shape"], data[w["offset"]:w["offset"] + w["bytes"]])
            for w in manifest["weights"]}


(shape, whole) = entries(whole_out + ".weights")[stack + suffix]
experts = shape[0]
expert_bytes = len(whole) // experts
base, extra = divmod(experts, ranks)
slots = base + (extra > 0)
first = 0
for rank in range(ranks):
    count = base + (rank < extra)
    held = entries(f"{sharded_out}.rank{rank}.weights")
    assert stack + suffix not in held, f"rank {rank} holds the whole stack {stack}"
    (rank_shape, data) = held[f"{stack}.rank{rank}{suffix}"]
    expected = whole[first * expert_bytes:(first + count) * expert_bytes]
    expected += bytes((slots - count) * expert_bytes)
    ok = rank_shape == [slots] + shape[1:] and data == expected
    print(f"rank {rank}: experts {first}..{first + count - 1} of {experts}, "
          f"{len(data)} bytes {'match' if ok else 'DIFFER'}")
    first += count
