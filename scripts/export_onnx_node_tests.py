#!/usr/bin/env python3
"""Writes the current ONNX release's backend node tests that moec can run to a folder.

The onnx wheel does not ship its node tests' data, but
`onnx.backend.test.case.node.collect_testcases(None)` builds every case (model and data
sets) in memory. This script writes them out in the layout of ONNX's test data (and of
Debian's libonnx-testdata, which scripts/onnx_conformance.py reads):
`OUT/test_NAME/model.onnx` and `OUT/test_NAME/test_data_set_N/{input,output}_M.pb`.

Run it with a Python that has the onnx release to export (not the one CI tests with), e.g.
    /work/wt-exports/.venv-export/bin/python scripts/export_onnx_node_tests.py \
        --moec build/bin/moec --out test/e2e/onnx-node-1.23

A case is written when, and only when (the rule; there is no hand-made list):
  1. it is a node test (kind "node"), not a real model;
  2. its default-domain opset is in [--min-opset, --max-opset]: by default 18 to 28, the
     opsets ONNX 1.12's suite (test/e2e/onnx-node-conformance.test) does not cover, up to
     the newest that moec compiles (a newer model is refused as a whole);
  3. every node of its graph (subgraphs included) is of the default domain and an op type
     that `moec --list-supported-ops` lists;
  4. every graph input and output is a tensor of an element type that numpy and moec's
     executables hold: not bfloat16, string, the float8, float6 and float4 types or the
     4-bit and 2-bit integers;
  5. no ReduceLogSumExp takes axes known only at run time (a graph input, not an
     initializer or a Constant), which the legalization refuses
     (passes/legalize/Reductions.cpp);
  6. the model and its data sets take at most --max-case-bytes (default 32 KiB) serialized.
The cases written, with their opset, are listed in OUT/CASES (sorted), so that a diff shows
what a new onnx release or a new op changes.
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.test.case import node as node_cases

UNHELD_TYPES = {
    onnx.TensorProto.BFLOAT16, onnx.TensorProto.STRING,
    onnx.TensorProto.FLOAT8E4M3FN, onnx.TensorProto.FLOAT8E4M3FNUZ,
    onnx.TensorProto.FLOAT8E5M2, onnx.TensorProto.FLOAT8E5M2FNUZ,
    onnx.TensorProto.UINT4, onnx.TensorProto.INT4,
}
for name in ("FLOAT4E2M1", "FLOAT8E8M0", "UINT2", "INT2", "FLOAT6E2M3", "FLOAT6E3M2"):
    if hasattr(onnx.TensorProto, name):
        UNHELD_TYPES.add(getattr(onnx.TensorProto, name))


def graph_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from graph_nodes(attr.g)
            for sub in attr.graphs:
                yield from graph_nodes(sub)


def default_opset(model):
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            return opset.version
    return None


def to_proto(value, name):
    if isinstance(value, onnx.TensorProto):
        return value
    return numpy_helper.from_array(np.asarray(value), name)


def serialize(case):
    """{relative path: bytes} of the case's files, or None if a value is not a tensor."""
    graph = case.model.graph
    files = {"model.onnx": case.model.SerializeToString()}
    for i, (inputs, outputs) in enumerate(case.data_sets):
        for kind, values, infos in (("input", inputs, graph.input),
                                    ("output", outputs, graph.output)):
            for j, value in enumerate(values):
                if j >= len(infos) or not infos[j].type.HasField("tensor_type"):
                    return None
                files[f"test_data_set_{i}/{kind}_{j}.pb"] = to_proto(
                    value, infos[j].name).SerializeToString()
    return files


def has_runtime_axes_reduce(graph):
    """Whether a ReduceLogSumExp of `graph` takes axes known only at run time (rule 5)."""
    constants = {init.name for init in graph.initializer}
    constants |= {out for node in graph.node if node.op_type == "Constant"
                  for out in node.output}
    return any(node.op_type == "ReduceLogSumExp" and len(node.input) > 1 and node.input[1]
               and node.input[1] not in constants for node in graph.node)


def why_left_out(case, supported, args):
    """None if the case is kept, else the rule (1-6) it fails."""
    if case.kind != "node" or not case.model or not case.data_sets:
        return 1
    opset = default_opset(case.model)
    if opset is None or not args.min_opset <= opset <= args.max_opset:
        return 2
    for node in graph_nodes(case.model.graph):
        if node.domain not in ("", "ai.onnx") or node.op_type not in supported:
            return 3
    for value in list(case.model.graph.input) + list(case.model.graph.output):
        if (not value.type.HasField("tensor_type")
                or value.type.tensor_type.elem_type in UNHELD_TYPES):
            return 4
    if has_runtime_axes_reduce(case.model.graph):
        return 5
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moec", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--min-opset", type=int, default=18)
    parser.add_argument("--max-opset", type=int, default=28)
    parser.add_argument("--max-case-bytes", type=int, default=32 * 1024)
    args = parser.parse_args()

    supported = set(subprocess.run([args.moec, "--list-supported-ops"], check=True,
                                   capture_output=True, text=True).stdout.split())
    cases = node_cases.collect_testcases(None)
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    left_out = {rule: 0 for rule in range(1, 7)}
    kept = []
    for case in sorted(cases, key=lambda c: c.name):
        rule = why_left_out(case, supported, args)
        files = serialize(case) if rule is None else None
        if rule is None and files is None:
            rule = 4
        if rule is None and sum(len(b) for b in files.values()) > args.max_case_bytes:
            rule = 6
        if rule is not None:
            left_out[rule] += 1
            continue
        for path, data in files.items():
            full = os.path.join(args.out, case.name, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
        kept.append(f"{case.name} opset {default_opset(case.model)}")
    with open(os.path.join(args.out, "CASES"), "w") as f:
        f.write(f"# onnx {onnx.__version__}: written by scripts/export_onnx_node_tests.py\n")
        f.write("\n".join(kept) + "\n")
    print(f"onnx {onnx.__version__}: {len(cases)} cases, {len(kept)} written; left out by "
          + ", ".join(f"rule {rule}: {count}" for rule, count in left_out.items()),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
