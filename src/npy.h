/* NPY files mapped into memory, for loaders that read the array in place. Internal to the
 * library. docs/npy-format.md lists what is accepted. */
#ifndef BMLP_SRC_NPY_H
#define BMLP_SRC_NPY_H

#include <stddef.h>

#include "bmlp/status.h"

/* A validated NPY file mapped read-only. Row i, column j of the array starts at byte
 * data_offset + (i * cols + j) * item_size of base, little-endian. NOTE: data_offset is a
 * multiple of 64 in files that NumPy 1.24 writes, but a file from another writer may leave the
 * data unaligned, so read elements with memcpy unless data_offset % item_size == 0. */
typedef struct bmlp_npy_map {
    const unsigned char *base; /* the whole file */
    size_t file_size;   /* bytes mapped, which equals data_offset + rows * cols * item_size */
    size_t data_offset; /* header size: magic, version, header length and header text */
    size_t item_size;   /* 4 for '<f4' (float32), 8 for '<f8' (float64) */
    size_t rows;        /* samples, at least 1 */
    size_t cols;        /* features plus the label in the last column, at least 2 */
    unsigned version;   /* major format version: 1, 2 or 3 */
    const char *path;   /* borrowed from the caller of bmlp_npy_map, for error messages */
} bmlp_npy_map_t;

/* Maps the file at path and validates its header, shape and size. The values are checked only
 * by bmlp_npy_read_rows. On failure *map is zeroed and nothing stays mapped. path must outlive
 * the map. NOTE: a file truncated by another process while it is mapped raises SIGBUS on
 * access, as with any mapping. */
bmlp_status_t bmlp_npy_map(const char *path, bmlp_npy_map_t *map, bmlp_error_t *err);

/* Unmaps the file and zeroes *map. Accepts a zeroed map. */
void bmlp_npy_unmap(bmlp_npy_map_t *map);

/* Converts rows first .. first + count - 1 into x (count x (cols - 1) floats, row-major) and y
 * (count labels), rejecting NaN, infinities, float64 values that overflow float32 and labels
 * other than exactly 0 or 1. Errors name the row, column and byte offset in their message. */
bmlp_status_t bmlp_npy_read_rows(const bmlp_npy_map_t *map, size_t first, size_t count, float *x,
                                 float *y, bmlp_error_t *err);

/* Writes the header of a version 1.0 '<f4' C-order file of rows x cols into buf, padded with
 * spaces and a final newline to a multiple of 64 bytes as NumPy pads it. Returns its length, or
 * 0 when size is too small; 128 bytes are always enough. */
size_t bmlp_npy_format_header(size_t rows, size_t cols, unsigned char *buf, size_t size);

#endif /* BMLP_SRC_NPY_H */
