/* Output files written under a temporary name and renamed into place. */
/* realpath is an X/Open extension of POSIX. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmlp/file.h"
#include "error.h"

/* Returns the process umask as listed in /proc/self/status (Linux 4.7 and later), or -1 when
 * it cannot be read. umask() is no alternative because reading the mask with it briefly
 * changes the mask of every thread. */
static int read_umask(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned int mask;
    int result = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Umask: %o", &mask) == 1) {
            result = (int)(mask & 0777);
            break;
        }
    }
    fclose(f);
    return result;
}

/* The directory part of path ("." when it has none), newly allocated. */
static char *parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return strdup(".");
    return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* Flushes the directory that contains path, so that a rename survives a crash. Failure is
 * ignored because the file is already in place and some file systems do not support it. */
static void sync_parent_dir(const char *path)
{
    char *dir = parent_dir(path);
    int fd;

    if (dir == NULL)
        return;
    fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

/* Resolves the file that writing path replaces and the mode it should get. */
static bmlp_status_t resolve_target(const char *path, char **target, mode_t *mode,
                                    bmlp_error_t *err)
{
    struct stat st;
    int mask = read_umask();

    /* NOTE: where the umask cannot be read, a new file gets 0600, the mode mkstemp gives. */
    *mode = mask < 0 ? 0600 : (mode_t)(0666 & ~mask);
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT)
            return bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "cannot check the output: %s",
                             strerror(errno));
        *target = strdup(path);
    } else if (S_ISLNK(st.st_mode)) {
        *target = realpath(path, NULL);
        if (*target == NULL)
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL,
                             "the output is a symbolic link that cannot be followed: %s",
                             strerror(errno));
        if (stat(*target, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(*target);
            return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL,
                             "the output links to something that is not a regular file");
        }
        *mode = st.st_mode & 07777;
    } else if (!S_ISREG(st.st_mode)) {
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL,
                         "the output exists and is not a regular file; choose a file path");
    } else {
        *target = strdup(path);
        *mode = st.st_mode & 07777;
    }
    if (*target == NULL)
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, path, 0, 0, NULL,
                         "cannot allocate the output path");
    return BMLP_OK;
}

/* Base name of the temporary file where the output's own name leaves no room for the suffix
 * within NAME_MAX bytes. */
#define SHORT_TEMP_NAME "bmlp.tmp.XXXXXX"

bmlp_status_t bmlp_atomic_open(bmlp_atomic_file_t *f, const char *path, bmlp_error_t *err)
{
    static const char suffix[] = ".tmp.XXXXXX";
    bmlp_status_t st;
    mode_t mode;
    const char *slash;
    size_t len, base;
    int fd;

    memset(f, 0, sizeof(*f));
    if (path == NULL || path[0] == '\0')
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "the output path is empty");
    st = resolve_target(path, &f->target, &mode, err);
    if (st != BMLP_OK)
        return st;
    len = strlen(f->target);
    slash = strrchr(f->target, '/');
    base = slash != NULL ? (size_t)(slash + 1 - f->target) : 0;
    f->temp_path = malloc(len + sizeof(suffix) + sizeof(SHORT_TEMP_NAME));
    if (f->temp_path == NULL) {
        bmlp_atomic_abort(f);
        return bmlp_fail(err, BMLP_ERR_NO_MEMORY, path, 0, 0, NULL,
                         "cannot allocate the temporary file name");
    }
    /* The temporary file is the output's name with the suffix, beside it, or a fixed name in
     * the same directory for a name too long to take the suffix. */
    memcpy(f->temp_path, f->target, len);
    if (len - base + sizeof(suffix) - 1 <= NAME_MAX)
        memcpy(f->temp_path + len, suffix, sizeof(suffix));
    else
        memcpy(f->temp_path + base, SHORT_TEMP_NAME, sizeof(SHORT_TEMP_NAME));
    fd = mkstemp(f->temp_path);
    if (fd < 0) {
        /* The reason comes before the name, which a long path would cut from the message. */
        st = bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "cannot create temporary file: %s (%s)",
                       strerror(errno), f->temp_path);
        free(f->temp_path);
        f->temp_path = NULL;
        bmlp_atomic_abort(f);
        return st;
    }
    if (fchmod(fd, mode) != 0 || (f->stream = fdopen(fd, "wb")) == NULL) {
        st = bmlp_fail(err, BMLP_ERR_IO, path, 0, 0, NULL, "cannot open temporary file: %s (%s)",
                       strerror(errno), f->temp_path);
        close(fd);
        bmlp_atomic_abort(f);
        return st;
    }
    return BMLP_OK;
}

bmlp_status_t bmlp_atomic_commit(bmlp_atomic_file_t *f, bmlp_error_t *err)
{
    const char *failed_call = NULL;
    bmlp_status_t st = BMLP_OK;

    if (fflush(f->stream) != 0 || ferror(f->stream))
        failed_call = "write";
    else if (fsync(fileno(f->stream)) != 0)
        failed_call = "fsync";
    /* fclose releases the stream even when it fails, so it is closed exactly once here. */
    if (fclose(f->stream) != 0 && failed_call == NULL)
        failed_call = "close";
    f->stream = NULL;
    if (failed_call == NULL && rename(f->temp_path, f->target) != 0)
        failed_call = "rename";
    if (failed_call != NULL) {
        st = bmlp_fail(err, BMLP_ERR_IO, f->target, 0, 0, NULL,
                       "cannot write the file: %s failed: %s", failed_call, strerror(errno));
        unlink(f->temp_path);
    } else {
        sync_parent_dir(f->target);
    }
    free(f->temp_path);
    free(f->target);
    memset(f, 0, sizeof(*f));
    return st;
}

void bmlp_atomic_abort(bmlp_atomic_file_t *f)
{
    if (f->stream != NULL)
        fclose(f->stream);
    if (f->temp_path != NULL)
        unlink(f->temp_path);
    free(f->temp_path);
    free(f->target);
    memset(f, 0, sizeof(*f));
}

bmlp_status_t bmlp_check_output_path(const char *path, bmlp_error_t *err)
{
    char *target = NULL;
    char *dir;
    mode_t mode;
    bmlp_status_t st;

    if (path[0] == '\0')
        return bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, NULL, 0, 0, NULL,
                         "the output path is empty");
    st = resolve_target(path, &target, &mode, err);
    if (st != BMLP_OK)
        return st;
    dir = parent_dir(target);
    if (dir == NULL)
        st = bmlp_fail(err, BMLP_ERR_NO_MEMORY, path, 0, 0, NULL, "cannot allocate a path");
    else if (access(dir, W_OK | X_OK) != 0)
        st = bmlp_fail(err, BMLP_ERR_INVALID_ARGUMENT, path, 0, 0, NULL,
                       "cannot write to directory %s: %s", dir, strerror(errno));
    free(dir);
    free(target);
    if (st == BMLP_OK) {
        /* access() misses some reasons why no file can be created there, such as a virtual
         * file system like /proc, which it calls writable for root. Creating and removing the
         * temporary file that the write will use finds them. */
        bmlp_atomic_file_t trial;

        st = bmlp_atomic_open(&trial, path, err);
        if (st == BMLP_OK)
            bmlp_atomic_abort(&trial);
    }
    return st;
}

int bmlp_same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
