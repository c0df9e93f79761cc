/* Decimal number syntax and the C locale scope shared by the text loaders and writers. Internal
 * to the library. */
#ifndef BMLP_SRC_NUMPARSE_H
#define BMLP_SRC_NUMPARSE_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <locale.h>

/* Returns 1 when text is exactly [+-]digits[.digits][(e|E)[+-]digits], with at least one digit
 * in the mantissa. This grammar excludes what strtod would also take: leading spaces, hex
 * floats, "nan" and "inf". */
int bmlp_decimal_is_valid(const char *text);

/* Returns 1 when text spells NaN or an infinity in a form that strtod accepts. */
int bmlp_decimal_is_nonfinite_word(const char *text);

/* Returns 0 or 1 when the decimal text (already checked by bmlp_decimal_is_valid) is exactly
 * that value, and -1 otherwise. The check is done on the digits, so "1.0000000000000000001",
 * which strtod would round to 1, is rejected. A negative zero returns 0. */
int bmlp_decimal_exact_label(const char *text);

/* The "C" locale installed on the calling thread, and the locale it replaced. */
typedef struct bmlp_c_locale {
    locale_t c_locale;
    locale_t previous;
} bmlp_c_locale_t;

/* Switches the calling thread to the "C" locale, so that strtof, strtod and snprintf use '.' as
 * the decimal point whatever locale the program has set. uselocale affects only the calling
 * thread. Returns 0, or -1 with errno set when the locale cannot be created. */
int bmlp_c_locale_enter(bmlp_c_locale_t *scope);

/* Restores the locale that bmlp_c_locale_enter replaced and frees the "C" locale object. */
void bmlp_c_locale_leave(bmlp_c_locale_t *scope);

#endif /* BMLP_SRC_NUMPARSE_H */
