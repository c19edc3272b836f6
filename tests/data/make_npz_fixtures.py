#!/usr/bin/env python3
"""Writes the .npz fixtures of npz_test.cpp with numpy itself, so the C++ reader is checked
against files it did not write. Rerun (python3 make_npz_fixtures.py) only to regenerate them; the
test recomputes the same formulas below.
"""
import os

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))

np.savez(
    os.path.join(here, "numpy_arrays.npz"),
    f4=(np.arange(6, dtype="<f4") * 0.5 - 1).reshape(2, 3),
    f8=np.arange(4, dtype="<f8") / 3,
    f2=np.arange(3, dtype="<f2") + 0.25,
    i4=(np.arange(8, dtype="<i4") - 4).reshape(2, 2, 2),
    i8=np.array(-(2**40), dtype="<i8"),  # rank 0
    u1=np.arange(250, 255, dtype="|u1"),
    i1=np.arange(-3, 2, dtype="|i1"),
    empty=np.zeros((0, 5), dtype="<f4"),
)
# A compressed archive, as numpy.savez_compressed writes it.
np.savez_compressed(os.path.join(here, "numpy_compressed.npz"), x=np.arange(1000, dtype="<i8"))
np.savez(os.path.join(here, "numpy_fortran.npz"), dense=np.asfortranarray(np.ones((2, 3), dtype="<f4")))
np.savez(os.path.join(here, "numpy_big_endian.npz"), x=np.arange(3, dtype=">f4"))
