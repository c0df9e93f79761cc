#!/usr/bin/env python3
"""Fit the polynomials of the synth:teacher Box-Muller transform (src/synth_teacher.c).

Each polynomial interpolates its function at the Chebyshev nodes of its interval, which comes
within a small factor of the minimax error. The script prints the coefficients, rounded to
float32 as the C code stores them, and the largest error of evaluating them in float32 with
fused multiply-adds on a grid of 40,001 points. Python's fused multiply-add is emulated in
double precision, so the errors are estimates to within a rounding.

  Q(f) = (ln(1 + f) - f) / f^2   for f in [sqrt(1/2) - 1, sqrt(2) - 1], degree 7
  S(q) = sin(pi/2 sqrt(q)) / sqrt(q)   for q = p^2 in [0, 1/4], degree 3
  C(q) = cos(pi/2 sqrt(q))             for q = p^2 in [0, 1/4], degree 4

Usage: scripts/fit-teacher-polynomials.py (Python 3.8 or later, standard library only)
"""
import math
import struct


def f32(x):
    """Return the float32 nearest to x."""
    return struct.unpack("f", struct.pack("f", x))[0]


def fma32(a, b, c):
    """Return a * b + c rounded to float32. The product of two float32 values is exact in a
    double, but the sum is rounded twice, to double and then to float32."""
    return f32(a * b + c)


def chebyshev_fit(g, lo, hi, degree):
    """Return the monomial coefficients, lowest first, of the polynomial of the given degree
    that interpolates g at the Chebyshev nodes of [lo, hi]."""
    count = degree + 1
    nodes = [math.cos(math.pi * (k + 0.5) / count) for k in range(count)]
    values = [g((hi - lo) / 2 * t + (hi + lo) / 2) for t in nodes]
    cheb = [
        2.0 / count * sum(values[k] * math.cos(j * math.pi * (k + 0.5) / count) for k in range(count))
        for j in range(count)
    ]
    cheb[0] /= 2
    # Chebyshev polynomials T_j(t) as monomial coefficients in t.
    basis = [[1.0], [0.0, 1.0]]
    for _ in range(2, count):
        t_next = [0.0] + [2 * c for c in basis[-1]]
        for i, c in enumerate(basis[-2]):
            t_next[i] -= c
        basis.append(t_next)
    in_t = [0.0] * count
    for j in range(count):
        for i, c in enumerate(basis[j]):
            in_t[i] += cheb[j] * c
    # Substitute t = scale x + shift.
    scale, shift = 2 / (hi - lo), -(hi + lo) / (hi - lo)
    in_x = [0.0] * count
    for i, c in enumerate(in_t):
        for k in range(i + 1):
            in_x[k] += c * math.comb(i, k) * scale**k * shift ** (i - k)
    return in_x


def horner32(coefficients, x):
    """Return the polynomial at x, evaluated in float32 with fused multiply-adds from the
    highest coefficient down."""
    result = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        result = fma32(x, result, c)
    return result


def report(name, coefficients, worst):
    print(f"{name}: max error {worst:.2e}")
    for i, c in enumerate(coefficients):
        print(f"  {i}: {c:.9g}f")


def fit_log():
    lo, hi = math.sqrt(0.5) - 1, math.sqrt(2) - 1

    def q_exact(f):
        if abs(f) < 1e-6:
            return -0.5 + f / 3 - f * f / 4
        return (math.log1p(f) - f) / (f * f)

    coefficients = [f32(c) for c in chebyshev_fit(q_exact, lo, hi, 7)]
    worst = 0.0
    for i in range(40001):
        m = f32(math.sqrt(0.5) + (math.sqrt(2) - math.sqrt(0.5)) * i / 40000)
        f = f32(m - 1.0)
        ln_m = fma32(f32(f * f), horner32(coefficients, f), f)
        worst = max(worst, abs(ln_m - math.log(m)))
    report("ln(1 + f) = f + f^2 Q(f), Q", coefficients, worst)


def fit_sin_cos():
    half_pi = math.pi / 2

    def s_exact(q):
        if q < 1e-12:
            return half_pi - half_pi**3 * q / 6
        return math.sin(half_pi * math.sqrt(q)) / math.sqrt(q)

    def c_exact(q):
        return math.cos(half_pi * math.sqrt(q))

    s = [f32(c) for c in chebyshev_fit(s_exact, 0.0, 0.25, 3)]
    c = [f32(v) for v in chebyshev_fit(c_exact, 0.0, 0.25, 4)]
    worst_s = worst_c = 0.0
    for i in range(-20000, 20001):
        p = f32(0.5 * i / 20000)
        q = f32(p * p)
        worst_s = max(worst_s, abs(f32(p * horner32(s, q)) - math.sin(half_pi * p)))
        worst_c = max(worst_c, abs(horner32(c, q) - math.cos(half_pi * p)))
    report("sin(pi p / 2) = p S(p^2), S", s, worst_s)
    report("cos(pi p / 2) = C(p^2), C", c, worst_c)


if __name__ == "__main__":
    fit_log()
    fit_sin_cos()
