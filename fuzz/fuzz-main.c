/*
 * A main() for fuzz targets built without libFuzzer: runs the target once
 * per file named on the command line (directories are walked one level),
 * or once on stdin.  Used to replay the corpus as a regression test.
 */
#include "qemu/osdep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    GError *err = NULL;
    gchar *data;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "%s\n", err->message);
        g_error_free(err);
        return 1;
    }
    /* FUZZ_REPLAY_INPUT: which file this is, for a target with rules on
     * named inputs (fuzz-migration: a seed-* must pass its configuration
     * check); unset when the input comes from stdin */
    g_setenv("FUZZ_REPLAY_INPUT", path, true);
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    g_free(data);
    return 0;
}

static int run_path(const char *path, int *count)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    const char *name;
    int rc = 0;

    if (!dir) {
        (*count)++;
        return run_file(path);
    }
    while ((name = g_dir_read_name(dir))) {
        char *file = g_build_filename(path, name, NULL);

        if (g_file_test(file, G_FILE_TEST_IS_REGULAR)) {
            (*count)++;
            rc |= run_file(file);
        }
        g_free(file);
    }
    g_dir_close(dir);
    return rc;
}

int main(int argc, char **argv)
{
    int count = 0, rc = 0;

    if (argc < 2) {
        GString *in = g_string_new(NULL);
        char buf[4096];
        size_t n;

        while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
            g_string_append_len(in, buf, n);
        }
        LLVMFuzzerTestOneInput((const uint8_t *)in->str, in->len);
        g_string_free(in, true);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        rc |= run_path(argv[i], &count);
    }
    printf("ran %d input(s)\n", count);
    return rc;
}
