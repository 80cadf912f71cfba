"""The error bound of a bf16 computation against an f32 reference, derived from bf16's rounding.

    bf16_tolerance(scale, k, roundings=BF16_ROUNDINGS) -> absolute bound

bf16 keeps 8 significant bits: rounding to nearest changes a value by a relative error of
at most u = 2^-8 (its unit roundoff). A product or sum computed on values that were each
rounded once carries their relative errors, and a layer's output passes through a chain of
such roundings: with --precision=bf16 (docs/moec.md) the tokens and the weights are rounded
before each expert GEMM, the intermediate activation before the down projection, and the
reference computed in bf16 (PyTorch's module in benchmarks/gpu/bench_layer.py) rounds every
intermediate result too. `roundings` counts them, on both sides of a comparison. Each
perturbs the output by at most u times the size of what it rounds; bounding those sizes by
the output's scale (the largest |reference| value) and summing the chain linearly gives
roundings * u * scale. It is doubled (ROUNDING_FACTOR): a dot product of rounded operands
errs by u times sum |a_i b_i|, not |sum a_i b_i|, and in these layers' signed sums the former
stays within twice the largest output. The K-term dot products accumulate in f32, whose own
rounding adds at most K * 2^-24 of the sum (Higham's gamma_K), also taken relative to the
scale. Measured errors are a fraction of this bound: Mixtral's decode step on the host
(test/e2e/hf-moe-mixtral-decode-gemv.test, K = 32: a bound of 3.9% of the largest output)
errs by 0.25-0.7% of it over input seeds 0-5 (1.9e-3 absolute against 1.2e-2 at seed 3),
while a wrong answer far exceeds it: outputs scaled by 0.7, ±0.045 noise or all zeros (the
same test checks that each fails; rtol = atol = 5e-2 let all three through).

scripts/run_vs_onnxruntime.py (`--bf16 K`) and benchmarks/gpu/bench_layer.py use it; the
GPU bundles copy this file beside them.
"""

BF16_UNIT_ROUNDOFF = 2.0 ** -8
F32_UNIT_ROUNDOFF = 2.0 ** -24
ROUNDING_FACTOR = 2
# The bf16 roundings on the way to a gated expert MLP's output under --precision=bf16: the
# tokens, the up/gate weights, the activation, the down weights, the routing-weighted sum.
BF16_ROUNDINGS = 5


def bf16_tolerance(scale, k, roundings=BF16_ROUNDINGS):
    """The largest absolute error allowed for outputs of largest magnitude `scale`, computed
    with `roundings` bf16 roundings and f32 dot products of at most `k` terms."""
    relative = ROUNDING_FACTOR * roundings * BF16_UNIT_ROUNDOFF + k * F32_UNIT_ROUNDOFF
    return relative * scale
