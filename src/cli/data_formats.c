/* Data file formats of the command: --format, the extension rule and the format-specific
 * options. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char *const format_names[] = {
    [BMLP_FORMAT_CSV] = "csv",
    [BMLP_FORMAT_LIBSVM] = "libsvm",
    [BMLP_FORMAT_NPY] = "npy",
};

int cli_parse_format(const char *cmd, const char *text, bmlp_file_format_t *format)
{
    for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (strcasecmp(text, format_names[i]) == 0) {
            *format = (bmlp_file_format_t)i;
            return 0;
        }
    }
    cli_usage_error(cmd, "--format: unknown format '%s' (expected csv, libsvm or npy)", text);
    return -1;
}

const char *cli_format_name(bmlp_file_format_t format)
{
    if ((size_t)format < sizeof(format_names) / sizeof(format_names[0]))
        return format_names[format];
    return "unknown";
}

/* Returns 1 when path ends in suffix, compared without regard to case. */
static int has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path);
    size_t k = strlen(suffix);

    return n >= k && strcasecmp(path + n - k, suffix) == 0;
}

bmlp_file_format_t cli_format_from_path(const char *path)
{
    if (has_suffix(path, ".npy"))
        return BMLP_FORMAT_NPY;
    if (has_suffix(path, ".svm") || has_suffix(path, ".libsvm"))
        return BMLP_FORMAT_LIBSVM;
    return BMLP_FORMAT_CSV;
}

bmlp_file_format_t cli_data_format(const cli_data_options_t *data)
{
    return data->format >= 0 ? (bmlp_file_format_t)data->format
                             : cli_format_from_path(data->source);
}

/* Fills err with an invalid-argument message and returns BMLP_ERR_INVALID_ARGUMENT. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static bmlp_status_t
option_error(bmlp_error_t *err, const char *fmt, ...)
{
    va_list ap;

    bmlp_error_clear(err);
    err->status = BMLP_ERR_INVALID_ARGUMENT;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return err->status;
}

/* Rejects options that do not apply to the format the file is read in, since ignoring them
 * would read the file differently from what was requested. */
static bmlp_status_t check_format_options(const cli_data_options_t *data, bmlp_file_format_t format,
                                          bmlp_error_t *err)
{
    const char *chosen_by = data->format >= 0 ? "--format" : "its extension";
    const char *name = cli_format_name(format);

    if (data->csv_option != NULL && format != BMLP_FORMAT_CSV)
        return option_error(err, "%s applies to CSV files only, and %s is read as %s (by %s)",
                            data->csv_option, data->source, name, chosen_by);
    if (data->zero_based_given && format != BMLP_FORMAT_LIBSVM)
        return option_error(err,
                            "--zero-based applies to LIBSVM files only, and %s is read as %s "
                            "(by %s)",
                            data->source, name, chosen_by);
    if (data->features_given && format != BMLP_FORMAT_LIBSVM)
        return option_error(err,
                            "--features applies to LIBSVM files, synth:blobs and synth:teacher "
                            "only, and %s is read as %s (by %s)",
                            data->source, name, chosen_by);
    if (data->teacher_option != NULL)
        return option_error(err, "%s applies to synth:teacher only, and %s is read as %s (by %s)",
                            data->teacher_option, data->source, name, chosen_by);
    if (data->synth_option != NULL)
        return option_error(err,
                            "%s applies to synthetic sets (synth:NAME) only, not to the file %s",
                            data->synth_option, data->source);
    return BMLP_OK;
}

bmlp_status_t cli_open_file_source(const cli_data_options_t *data, bmlp_source_t **src,
                                   bmlp_dataset_t *ds, bmlp_error_t *err)
{
    bmlp_file_format_t format = cli_data_format(data);
    bmlp_status_t st;

    *src = NULL;
    memset(ds, 0, sizeof(*ds));
    if (format == BMLP_FORMAT_NPY) {
        st = check_format_options(data, format, err);
        return st == BMLP_OK ? bmlp_source_open_npy(data->source, src, err) : st;
    }
    st = cli_load_file(data, ds, err);
    if (st == BMLP_OK)
        st = bmlp_source_from_dataset(ds, src, err);
    if (st != BMLP_OK)
        bmlp_dataset_free(ds);
    return st;
}

bmlp_status_t cli_load_file(const cli_data_options_t *data, bmlp_dataset_t *ds, bmlp_error_t *err)
{
    bmlp_file_format_t format = cli_data_format(data);
    bmlp_libsvm_options_t libsvm = data->libsvm;
    bmlp_status_t st = check_format_options(data, format, err);

    memset(ds, 0, sizeof(*ds));
    if (st != BMLP_OK)
        return st;
    switch (format) {
    case BMLP_FORMAT_LIBSVM:
        libsvm.n_features = data->features_given ? data->synth.n_features : 0;
        return bmlp_libsvm_load(data->source, &libsvm, ds, err);
    case BMLP_FORMAT_NPY:
        return bmlp_npy_load(data->source, ds, err);
    case BMLP_FORMAT_CSV:
    default:
        return bmlp_csv_load(data->source, &data->csv, ds, err);
    }
}
