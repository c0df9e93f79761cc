#!/usr/bin/env python3
"""Writes the NPY fixtures of tests/test_npy.c into this directory.

The valid files come from numpy.save and numpy.lib.format.write_array, so that the loader is
checked against NumPy's own writer (these were made with NumPy 1.24 from Debian 12's
python3-numpy). The damaged files are built byte by byte. Run it from any directory:
    python3 tests/data/npy/make_fixtures.py
"""
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# The dataset of tests/data/csv/basic_lf.csv: features, then the 0/1 label.
BASIC = np.array(
    [[0.5, -1.25, 1.0], [2.0, 300.0, 0.0], [-0.0, np.float32(1e-3), 1.0]], dtype=np.float32
)


def path(name):
    return os.path.join(HERE, name)


def save_with_version(name, array, version):
    with open(path(name), "wb") as f:
        np.lib.format.write_array(f, array, version=version)


def raw_file(name, header_text, data, version=(1, 0), align=64):
    """Writes magic, version, header length and header_text padded with spaces and a newline
    to a multiple of align, then data."""
    length_size = 2 if version[0] == 1 else 4
    preamble = 6 + 2 + length_size
    text = header_text.encode("latin1")
    total = preamble + len(text) + 1
    padded = (total + align - 1) // align * align
    text += b" " * (padded - total) + b"\n"
    length = struct.pack("<H" if length_size == 2 else "<I", len(text))
    with open(path(name), "wb") as f:
        f.write(b"\x93NUMPY" + bytes(version) + length + text + data)


def raw_bytes(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def basic_dict(descr="<f4", shape="(3, 3)", fortran="False"):
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


def with_value(row, col, value, dtype=np.float32):
    a = BASIC.astype(dtype)
    a[row, col] = value
    return a


def write_good():
    np.save(path("good_f4_v1.npy"), BASIC)
    np.save(path("good_f8_v1.npy"), BASIC.astype(np.float64))
    save_with_version("good_f4_v2.npy", BASIC, (2, 0))
    save_with_version("good_f8_v3.npy", BASIC.astype(np.float64), (3, 0))
    # A header in the style of NumPy under Python 2: keys in another order, L suffixes on the
    # dimensions, 16-byte alignment, no trailing comma.
    raw_file(
        "good_python2_header.npy",
        "{'shape': (3L, 3L), 'fortran_order': False, 'descr': '<f4'}",
        BASIC.tobytes(),
        align=16,
    )
    # Double quotes, a tab and no alignment; the data starts at byte 66, which is not a
    # multiple of the item size.
    raw_file(
        "good_unaligned.npy",
        '{"descr":\t"<f8","fortran_order":False,"shape":(3,3)}   ',
        BASIC.astype(np.float64).tobytes(),
        align=1,
    )
    # A label of -0.0 is class 0.
    np.save(path("good_negative_zero_label.npy"), with_value(1, 2, -0.0))


def write_bad_headers():
    data = BASIC.tobytes()
    raw_bytes("bad_empty.npy", b"")
    raw_bytes("bad_magic.npy", b"0.5,-1.25,1\n2,3e2,0\n")
    raw_bytes("bad_short.npy", b"\x93NUM")
    raw_file("bad_version.npy", basic_dict(), data, version=(4, 0))
    raw_bytes("bad_header_truncated.npy", open(path("good_f4_v1.npy"), "rb").read()[:60])
    good = bytearray(open(path("good_f4_v1.npy"), "rb").read())
    good[127] = ord(" ")
    raw_bytes("bad_no_newline.npy", bytes(good))
    np.save(path("bad_big_endian.npy"), BASIC.astype(">f4"))
    np.save(path("bad_fortran.npy"), np.asfortranarray(BASIC))
    np.save(path("bad_int32.npy"), BASIC.astype(np.int32))
    np.save(path("bad_float16.npy"), BASIC.astype(np.float16))
    structured = np.zeros(3, dtype=[("x", "<f4"), ("y", "<f4")])
    np.save(path("bad_structured.npy"), structured)
    np.save(path("bad_1d.npy"), BASIC[:, 0].copy())
    np.save(path("bad_3d.npy"), BASIC.reshape(3, 3, 1))
    np.save(path("bad_zero_rows.npy"), np.zeros((0, 3), dtype=np.float32))
    np.save(path("bad_one_column.npy"), BASIC[:, 2:].copy())
    raw_file("bad_0d.npy", basic_dict(shape="()"), struct.pack("<f", 1.0))
    raw_file("bad_zero_columns.npy", basic_dict(shape="(3, 0)"), b"")
    raw_file("bad_too_many_columns.npy", basic_dict(shape="(1, 1048578)"), b"")
    raw_file("bad_long_shape.npy", basic_dict(shape="(%s)" % ", ".join(["4294967296"] * 10)), b"")
    raw_file("bad_unknown_key.npy", basic_dict()[:-1] + "'extra': 1, }", data)
    raw_file("bad_missing_key.npy", "{'descr': '<f4', 'shape': (3, 3), }", data)
    raw_file("bad_duplicate_key.npy", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", data)
    raw_file("bad_non_ascii.npy", basic_dict().replace("descr", "d\xe9scr"), data)
    raw_file("bad_after_dict.npy", basic_dict() + " x", data)
    raw_file("bad_shape_text.npy", basic_dict(shape="(3, three)"), data)
    raw_file("bad_shape_huge.npy", basic_dict(shape="(99999999999999999999, 3)"), data)
    raw_file("bad_too_many_rows.npy", basic_dict(shape="(17179869185, 3)"), data)
    raw_file("bad_fortran_value.npy", basic_dict(fortran="0"), data)


def write_bad_data():
    good = open(path("good_f4_v1.npy"), "rb").read()
    raw_bytes("bad_truncated.npy", good[:-4])
    raw_bytes("bad_trailing.npy", good + b"\0\0\0\0")
    np.save(path("bad_nan.npy"), with_value(1, 0, np.nan))
    np.save(path("bad_inf.npy"), with_value(2, 1, -np.inf))
    np.save(path("bad_overflow_f8.npy"), with_value(0, 1, 1e39, np.float64))
    np.save(path("bad_label_2.npy"), with_value(1, 2, 2.0))
    np.save(path("bad_label_half.npy"), with_value(2, 2, 0.5))
    np.save(path("bad_label_nan.npy"), with_value(0, 2, np.nan))


if __name__ == "__main__":
    write_good()
    write_bad_headers()
    write_bad_data()
