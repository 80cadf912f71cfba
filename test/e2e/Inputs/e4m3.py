#!/usr/bin/env python3
"""float32 -> float8 e4m3fn bytes in numpy, rounded to nearest even, as ml_dtypes'
float8_e4m3fn (which the test environment does not have) converts them.

e4m3fn: sign, 4 exponent bits of bias 7, 3 mantissa bits; exponent 0 is subnormal
(m / 8 * 2^-6); no infinities: S.1111.111 is NaN, the largest value 448. Magnitudes past
464 (halfway to the next binade's first value) and NaN become NaN.

    e4m3.py   checks the encoder on edge values (subnormals, ties, 448, NaN) and prints ok.
"""
import sys

import numpy as np

# The values of bytes 0x00..0x7E (0 and the positive finite values), increasing.
_EXPONENTS = np.arange(127) >> 3
_MANTISSAS = np.arange(127) & 7
POSITIVE = np.where(_EXPONENTS == 0, _MANTISSAS / 8 * 2.0 ** -6,
                    (1 + _MANTISSAS / 8) * 2.0 ** (_EXPONENTS - 7))
NAN = 0x7F


def encode(values):
    """The e4m3fn bytes (uint8) of float32 `values`."""
    values = np.asarray(values, dtype=np.float32)
    magnitude = np.abs(values).astype(np.float64)
    above = np.clip(np.searchsorted(POSITIVE, magnitude), 1, 126)
    below = above - 1
    to_below = magnitude - POSITIVE[below]
    to_above = POSITIVE[above] - magnitude
    # Ties go to the even byte (an even mantissa).
    byte = np.where((to_below < to_above) | ((to_below == to_above) & (below % 2 == 0)),
                    below, above)
    byte = np.where(magnitude >= POSITIVE[126], 126, byte)
    byte = np.where((magnitude > 464) | np.isnan(magnitude), NAN, byte)
    sign = np.where(np.signbit(values), 0x80, 0)
    return (byte | sign).astype(np.uint8)


def decode(bytes_):
    """The float32 values of e4m3fn `bytes_`."""
    bytes_ = np.asarray(bytes_, dtype=np.uint8)
    magnitude = np.where((bytes_ & 0x7F) == NAN, np.nan, POSITIVE[np.minimum(bytes_ & 0x7F, 126)])
    return np.where(bytes_ & 0x80, -magnitude, magnitude).astype(np.float32)


# Edge values and the bytes ml_dtypes 0.7's float8_e4m3fn gives them.
EDGES = [
    (0.0, 0x00), (-0.0, 0x80),
    (2.0 ** -9, 0x01),                 # the smallest subnormal
    (2.0 ** -10, 0x00),                # half of it: a tie, to even (0)
    (3 * 2.0 ** -10, 0x02),            # 1.5 subnormal steps: a tie, to even (2)
    (2.0 ** -11, 0x00),
    (7 * 2.0 ** -9, 0x07),             # the largest subnormal
    (15 * 2.0 ** -10, 0x08),           # halfway to the smallest normal: to even (0x08)
    (2.0 ** -6, 0x08),                 # the smallest normal
    (1.0, 0x38), (-1.0, 0xB8),
    (17.0, 0x58),                      # between 16 and 18: to even (16)
    (19.0, 0x5A),                      # between 18 and 20: to even (20)
    (0.3, 0x2A),
    (448.0, 0x7E), (-448.0, 0xFE),     # the largest value
    (450.0, 0x7E),                     # rounds down to it
    (464.0, 0x7E),                     # the tie past it: to even (448)
    (465.0, NAN), (1e6, NAN), (float("nan"), NAN), (float("inf"), NAN),
]


def main():
    values = np.array([value for value, _ in EDGES], dtype=np.float32)
    expected = np.array([byte for _, byte in EDGES], dtype=np.uint8)
    got = encode(values)
    # NaN's sign is not checked.
    got = np.where((got & 0x7F) == NAN, NAN, got)
    ok = np.array_equal(got, expected)
    roundtrip = np.arange(256, dtype=np.uint8)
    finite = (roundtrip & 0x7F) != NAN
    ok &= np.array_equal(encode(decode(roundtrip))[finite], roundtrip[finite])
    for value, want, have in zip(values, expected, got):
        if want != have:
            print(f"e4m3({value!r}) = {have:#04x}, expected {want:#04x}")
    print("ok" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
