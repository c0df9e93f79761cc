/*
 * Reads the 2-D little-endian float32 NPY files that `bmlp gen` writes, for the peer programs
 * of scripts/compare-peers. It accepts format versions 1.0 and 2.0 with descr '<f4', C order
 * and a shape of two dimensions, and rejects anything else with a message on stderr. It
 * assumes a little-endian host and compiles as C and as C++.
 */
#ifndef BMLP_PEERS_NPY_F32_H
#define BMLP_PEERS_NPY_F32_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A row-major array of rows x cols float32 values. */
typedef struct npy_f32 {
    size_t rows;
    size_t cols;
    float *values;
} npy_f32_t;

/* Returns the text after "'key':" (or "\"key\":") in header, or NULL when key is missing. */
static const char *npy_find_key(const char *header, const char *key)
{
    char quoted[64];
    const char *hit;

    snprintf(quoted, sizeof quoted, "'%s'", key);
    hit = strstr(header, quoted);
    if (hit == NULL) {
        snprintf(quoted, sizeof quoted, "\"%s\"", key);
        hit = strstr(header, quoted);
    }
    if (hit == NULL)
        return NULL;
    hit = strchr(hit + strlen(quoted), ':');
    if (hit == NULL)
        return NULL;
    hit++;
    while (*hit == ' ' || *hit == '\t')
        hit++;
    return hit;
}

/* Loads path into *out and returns 0, or prints the reason and returns -1. The caller frees
 * out->values. */
static int npy_f32_load(const char *path, npy_f32_t *out)
{
    unsigned char prefix[12];
    size_t header_len;
    char *header = NULL;
    const char *field;
    char *end;
    unsigned long long rows, cols;
    FILE *file = fopen(path, "rb");

    if (file == NULL) {
        perror(path);
        return -1;
    }
    if (fread(prefix, 1, 10, file) != 10 || memcmp(prefix, "\x93NUMPY", 6) != 0) {
        fprintf(stderr, "%s: not an NPY file (missing the \\x93NUMPY magic string)\n", path);
        goto fail;
    }
    if (prefix[6] == 1) {
        header_len = (size_t)prefix[8] | (size_t)prefix[9] << 8;
    } else if (prefix[6] == 2) {
        if (fread(prefix + 10, 1, 2, file) != 2) {
            fprintf(stderr, "%s: truncated NPY header\n", path);
            goto fail;
        }
        header_len = (size_t)prefix[8] | (size_t)prefix[9] << 8 | (size_t)prefix[10] << 16 |
                     (size_t)prefix[11] << 24;
    } else {
        fprintf(stderr, "%s: NPY format version %d.%d is not supported (only 1.0 and 2.0)\n",
                path, prefix[6], prefix[7]);
        goto fail;
    }
    header = (char *)malloc(header_len + 1);
    if (header == NULL || fread(header, 1, header_len, file) != header_len) {
        fprintf(stderr, "%s: truncated NPY header\n", path);
        goto fail;
    }
    header[header_len] = '\0';

    field = npy_find_key(header, "descr");
    if (field == NULL || strncmp(field + 1, "<f4", 3) != 0) {
        fprintf(stderr, "%s: dtype must be '<f4' (float32); header: %s\n", path, header);
        goto fail;
    }
    field = npy_find_key(header, "fortran_order");
    if (field == NULL || strncmp(field, "False", 5) != 0) {
        fprintf(stderr, "%s: the array must be in C order; header: %s\n", path, header);
        goto fail;
    }
    field = npy_find_key(header, "shape");
    if (field == NULL || *field != '(') {
        fprintf(stderr, "%s: missing shape; header: %s\n", path, header);
        goto fail;
    }
    rows = strtoull(field + 1, &end, 10);
    while (*end == ',' || *end == ' ')
        end++;
    cols = strtoull(end, &end, 10);
    while (*end == ',' || *end == ' ')
        end++;
    if (rows == 0 || cols == 0 || *end != ')') {
        fprintf(stderr, "%s: shape must have two nonzero dimensions; header: %s\n", path, header);
        goto fail;
    }

    out->rows = (size_t)rows;
    out->cols = (size_t)cols;
    out->values = (float *)malloc(out->rows * out->cols * sizeof(float));
    if (out->values == NULL) {
        fprintf(stderr, "%s: out of memory for %llu x %llu floats\n", path, rows, cols);
        goto fail;
    }
    if (fread(out->values, sizeof(float), out->rows * out->cols, file) != out->rows * out->cols) {
        fprintf(stderr, "%s: file is shorter than its shape %llu x %llu\n", path, rows, cols);
        free(out->values);
        out->values = NULL;
        goto fail;
    }
    free(header);
    fclose(file);
    return 0;

fail:
    free(header);
    fclose(file);
    return -1;
}

#endif
