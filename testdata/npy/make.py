#!/usr/bin/env python3
"""Writes the .npy files src/runtime/npy.test.ts reads: bytes NumPy itself wrote.

Run once with Debian's python3-numpy (`python3 testdata/npy/make.py`) and commit the outputs;
the test knows the values below independently and never runs Python.
"""
import os
import numpy as np
from numpy.lib import format as npy_format

here = os.path.dirname(os.path.abspath(__file__))

def save(name, array, **kw):
    with open(os.path.join(here, name), 'wb') as f:
        if kw:
            npy_format.write_array(f, array, **kw)
        else:
            np.save(f, array)

save('f4-2x3.npy', np.arange(6, dtype='<f4').reshape(2, 3))
save('f8-3.npy', np.array([1.5, -2.25, 1e300], dtype='<f8'))
save('i8-3.npy', np.array([1, -5, 2 ** 50], dtype='<i8'))
save('i4-2x1x2.npy', np.array([1, 2, 3, -4], dtype='<i4').reshape(2, 1, 2))
save('u1-5.npy', np.array([0, 1, 2, 254, 255], dtype='u1'))
save('b1-4.npy', np.array([True, False, False, True]))
save('f4-scalar.npy', np.array(7, dtype='<f4'))
save('f4-0x3.npy', np.zeros((0, 3), dtype='<f4'))
save('f4-2x3-v2.npy', np.arange(6, dtype='<f4').reshape(2, 3), version=(2, 0))
save('f4-2x3-fortran.npy', np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))
save('f4-2x3-big-endian.npy', np.arange(6, dtype='>f4').reshape(2, 3))
print('numpy', np.__version__)
