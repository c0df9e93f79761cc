/* Decimal number syntax and the C locale scope shared by the text loaders and writers. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>

#include "numparse.h"

/* Label exponents are clamped to this magnitude while they are read, so that they cannot
 * overflow. The clamp exceeds the digit count of any line that fits in memory, so a clamped
 * exponent never turns a label into exactly 1. */
#define LABEL_EXPONENT_CLAMP (LLONG_MAX / 20)

/* Returns the length of the longest prefix of s that is a run of decimal digits. */
static size_t digit_run(const char *s)
{
    size_t n = 0;

    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

int bmlp_decimal_is_valid(const char *text)
{
    const char *p = text;
    size_t int_digits;
    size_t frac_digits = 0;

    if (*p == '+' || *p == '-')
        p++;
    int_digits = digit_run(p);
    p += int_digits;
    if (*p == '.') {
        p++;
        frac_digits = digit_run(p);
        p += frac_digits;
    }
    if (int_digits + frac_digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (digit_run(p) == 0)
            return 0;
        p += digit_run(p);
    }
    return *p == '\0';
}

int bmlp_decimal_is_nonfinite_word(const char *text)
{
    char *end;
    double v = strtod(text, &end);

    return end != text && *end == '\0' && !isfinite(v);
}

/* Parses the decimal exponent that starts at p (after the 'e'), clamped to
 * +-LABEL_EXPONENT_CLAMP. */
static long long parse_clamped_exponent(const char *p)
{
    long long sign = 1;
    long long value = 0;

    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (value < LABEL_EXPONENT_CLAMP)
            value = value * 10 + (*p - '0');
    }
    return sign * value;
}

int bmlp_decimal_exact_label(const char *text)
{
    const char *p = text;
    int negative = *p == '-';
    long long point;       /* number of mantissa digits before the decimal point */
    long long one_at = -1; /* mantissa index of the only nonzero digit, which must be a 1 */
    long long index = 0;

    if (*p == '+' || *p == '-')
        p++;
    point = (long long)digit_run(p);
    for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
        if (*p == '.')
            continue;
        if (*p != '0') {
            if (*p != '1' || one_at >= 0)
                return -1;
            one_at = index;
        }
        index++;
    }
    if (one_at < 0)
        return 0; /* every digit is zero, whatever the sign and exponent */
    if (negative)
        return -1;
    /* The value is 10^(point - one_at - 1 + exponent), which is 1 only when the power is 0. */
    if (*p == 'e' || *p == 'E')
        return parse_clamped_exponent(p + 1) == one_at + 1 - point ? 1 : -1;
    return one_at + 1 == point ? 1 : -1;
}

int bmlp_c_locale_enter(bmlp_c_locale_t *scope)
{
    scope->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (scope->c_locale == (locale_t)0)
        return -1;
    scope->previous = uselocale(scope->c_locale);
    return 0;
}

void bmlp_c_locale_leave(bmlp_c_locale_t *scope)
{
    uselocale(scope->previous);
    freelocale(scope->c_locale);
}
