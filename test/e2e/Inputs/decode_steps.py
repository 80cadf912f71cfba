"""Runs a model with past key/value inputs and present outputs (onnxruntime-genai's builder
writes them) for a prompt and then decode steps, each feeding the previous step's present
caches back as the past ones, in onnxruntime and in a moec executable, and compares every
output of every step.

    decode_steps.py MODEL.onnx PROG --head-size H --batch B --prompt S --steps N,M,...
                    [--pad P] [--rtol R] [--atol A]

Inputs: input_ids (random tokens), attention_mask (ones over the total length, but for the
last P prompt tokens of the last row with --pad: a shorter prompt, right-padded as
onnxruntime-genai batches them), past_key_values.*.{key,value} (empty for the prompt).
What onnxruntime leaves unspecified is not compared: the logits of padding tokens, and the
cache entries of a row past its length (the sum of its mask). Prints one line per output
per step, `STEP NAME: [SHAPE] max abs diff D ok|FAIL`, and exits 1 on any difference beyond
the tolerance.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime


def run_moec(prog, feeds, names):
    with tempfile.TemporaryDirectory() as tmp:
        args = [prog]
        for name, value in feeds.items():
            path = os.path.join(tmp, name + ".npy")
            np.save(path, value)
            args += ["--input", f"{name}={path}"]
        out = os.path.join(tmp, "out")
        subprocess.run(args + ["--output-dir", out], check=True)
        return [np.load(os.path.join(out, name + ".npy")) for name in names]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("prog")
    parser.add_argument("--head-size", type=int, required=True,
                        help="the caches' last dim, which the builder leaves symbolic")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--prompt", type=int, default=3)
    parser.add_argument("--steps", default="1")
    parser.add_argument("--pad", type=int, default=0)
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args()

    model = onnx.load(args.model, load_external_data=False)
    vocab = next(o for o in model.graph.output if o.name == "logits")
    vocab = vocab.type.tensor_type.shape.dim[2].dim_value
    past_inputs = [i for i in model.graph.input if i.name.startswith("past_key_values.")]
    session = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]

    rng = np.random.default_rng(0)
    pasts = {}
    for i in past_inputs:
        kv_heads = i.type.tensor_type.shape.dim[1].dim_value
        pasts[i.name] = np.zeros((args.batch, kv_heads, 0, args.head_size), np.float32)
    mask = np.zeros((args.batch, 0), np.int64)
    failed = False
    for step, length in enumerate([args.prompt] + [int(s) for s in args.steps.split(",")]):
        new = np.ones((args.batch, length), np.int64)
        if step == 0 and args.pad:
            new[-1, length - args.pad:] = 0
        mask = np.concatenate([mask, new], axis=1)
        feeds = {"input_ids": rng.integers(0, vocab, (args.batch, length), dtype=np.int64),
                 "attention_mask": mask, **pasts}
        expected = session.run(names, feeds)
        actual = run_moec(args.prog, feeds, names)
        lengths = mask.sum(axis=1)
        for name, want, got in zip(names, expected, actual):
            if want.shape != got.shape:
                print(f"{step} {name}: {list(got.shape)} expected {list(want.shape)} FAIL")
                failed = True
                continue
            # Rows of the logits are tokens, of the caches (axis 2) positions.
            specified = (new[:, :, None] == 1 if name == "logits"
                         else np.arange(want.shape[2])[None, None, :, None] < lengths[:, None, None, None])
            specified = np.broadcast_to(specified, want.shape)
            diff = float(np.abs(want - got)[specified].max())
            ok = np.allclose(got[specified], want[specified], rtol=args.rtol, atol=args.atol)
            failed |= not ok
            print(f"{step} {name}: {list(got.shape)} max abs diff {diff:.3g} {'ok' if ok else 'FAIL'}")
        pasts = {name.replace("present.", "past_key_values."): value
                 for name, value in zip(names, expected) if name.startswith("present.")}
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
