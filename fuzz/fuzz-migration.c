/*
 * libFuzzer target: the incoming migration stream.
 *
 * The machine is built once in-process (kvmpc_init, -accel qtest, a blank
 * 64 KiB BIOS, the devices below); each input is a stream, read from
 * memory by the same code -incoming runs (mig_load_stream, then
 * mig_load_finish when it was accepted).  Oracles besides the
 * sanitizers: a refused stream gives one line of error, never a crash;
 * after every input the machine is reset, so the next starts equal.
 *
 * Seeds (fuzz/corpus/migration) are real streams of this very machine,
 * written by kvmpc through fuzz/make-migration-seeds.py (docs/fuzzing.md):
 * the configuration check passes, so the fuzzer reaches the RAM, device
 * and state sections.  In the corpus replay (fuzz-main.c names the file
 * in FUZZ_REPLAY_INPUT) a seed-* that this machine refuses at the
 * configuration check fails the run: the seeds went stale and the script
 * must make them again.  Other corpus entries, found by the fuzzer, may
 * be refused anywhere.
 */
#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/qdev.h"
#include "migration/savevm.h"
#include "system/main-loop.h"
#include "system/timer.h"
#include "system/vl.h"
#include <signal.h>
#include <sys/mman.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BIOS_SIZE (64 * 1024)

/* The same command line makes the seeds (with -qtest and -qmp added). */
static const char *const machine_args[] = {
    "kvmpc", "-machine", "pc", "-accel", "qtest", "-nodefaults",
    "-display", "none", "-m", "16M", "-serial", "null",
    "-device", "pci-testdev,addr=5,id=td",
};

static void build_machine(void)
{
    g_autofree uint8_t *zeros = g_malloc0(FUZZ_BIOS_SIZE);
    g_autofree char *bios = NULL;
    GError *err = NULL;
    GPtrArray *argv = g_ptr_array_new();
    int fd = g_file_open_tmp("fuzz-migration-bios-XXXXXX", &bios, &err);

    if (fd < 0 || !g_file_set_contents(bios, (const char *)zeros,
                                       FUZZ_BIOS_SIZE, &err)) {
        fprintf(stderr, "fuzz-migration: %s\n", err->message);
        exit(1);
    }
    close(fd);
    for (unsigned i = 0; i < ARRAY_SIZE(machine_args); i++) {
        g_ptr_array_add(argv, (char *)machine_args[i]);
    }
    g_ptr_array_add(argv, (char *)"-bios");
    g_ptr_array_add(argv, bios);
    kvmpc_init(argv->len, (char **)argv->pdata);
    unlink(bios);
    g_ptr_array_free(argv, true);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static bool done;

    if (done) {
        return 0;
    }
    done = true;
    build_machine();
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    return 0;
}

/* A seed-* (named by the replay) refused before its sections: stale. */
static void check_seed_matched(const MigLoad *ld, const GError *err)
{
    const char *path = g_getenv("FUZZ_REPLAY_INPUT");
    g_autofree char *name = path ? g_path_get_basename(path) : NULL;

    if (name && g_str_has_prefix(name, "seed-") && !ld->config_matched) {
        fprintf(stderr, "fuzz-migration: %s is refused at the configuration "
                "check (%s): the seed is stale, regenerate the seeds with "
                "fuzz/make-migration-seeds.py (docs/fuzzing.md)\n", path,
                err ? err->message : "no error");
        exit(1);
    }
}

static void reset_machine(void)
{
    qemu_clock_virtual_set_manual();
    devices_reset_all();
    madvise(memory_region_get_ram_ptr(&current_machine->ram),
            current_machine->ram_size, MADV_DONTNEED);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    MigFile *f;
    MigLoad *ld;
    GError *err = NULL;

    LLVMFuzzerInitialize(NULL, NULL);
    f = mig_file_new_mem(data, size);
    ld = mig_load_new();
    if (mig_load_stream(f, ld, false, &err)) {
        mig_load_finish(ld, &err);
    }
    check_seed_matched(ld, err);
    if (g_getenv("FUZZ_MIGRATION_TRACE")) {
        fprintf(stderr, "# %s\n", err ? err->message : "loaded");
    }
    if (err) {
        /* one clear line, as the destination prints it */
        g_assert(err->message[0] && !strchr(err->message, '\n'));
        g_error_free(err);
    }
    mig_load_free(ld);
    mig_file_free(f);
    reset_machine();
    return 0;
}
