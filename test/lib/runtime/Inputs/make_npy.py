"""Writes the .npy files the runtime tests feed the stand-in models.

Usage: make_npy.py DIR. Besides good inputs it writes every kind of bad one: the wrong dtype,
rank or size, Fortran order, a truncated file, a bad magic, a bad header."""
import os
import sys

import numpy as np

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
x = np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4)
w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
np.save(f"{d}/x.npy", x)
np.save(f"{d}/want.npy", np.maximum(x @ w, 0))
np.save(f"{d}/x6.npy", np.ones((6, 4), np.float32))
np.save(f"{d}/x-nan.npy", np.array([[np.nan, np.inf, -np.inf, 1]], np.float32))
np.save(f"{d}/x-empty.npy", np.zeros((0, 4), np.float32))
np.save(f"{d}/x64.npy", x.astype(np.float64))
np.save(f"{d}/x-rank1.npy", x.reshape(20))
np.save(f"{d}/x-5x7.npy", np.zeros((5, 7), np.float32))
np.save(f"{d}/x-fortran.npy", np.asfortranarray(x))
np.save(f"{d}/x-bigendian.npy", x.astype(">f4"))
good = open(f"{d}/x.npy", "rb").read()
open(f"{d}/x-truncated.npy", "wb").write(good[:-4])
open(f"{d}/x-bad-magic.npy", "wb").write(b"PK" + good[2:])
open(f"{d}/x-bad-header.npy", "wb").write(good.replace(b"'shape'", b"'shapo'"))
open(f"{d}/x-header-only.npy", "wb").write(good[:9])
