/*
 * fw_cfg device (QEMU docs/specs/fw_cfg.rst) on the pc machine: the
 * traditional and DMA interfaces, every item and file the machine
 * provides, -fw_cfg user files, -boot, -option-rom, the firmware-boot
 * (-kernel through SeaBIOS) items, and the start-up errors of the options.
 */
#include "fw-cfg-util.h"
#include <signal.h>
#include <cpuid.h>
#include <string.h>

#define SCRATCH         0x100000ULL     /* guest RAM the tests use */
#define DESC            0x0f000ULL
#define UNASSIGNED      0xe0000000ULL   /* PCI hole: nothing mapped */

static void test_signature_id(void)
{
    QTestState *s = qtest_init("");
    char sig[8];

    fw_cfg_read_entry(s, FW_CFG_SIGNATURE, sig, sizeof(sig));
    g_assert(!memcmp(sig, "QEMU\0\0\0\0", 8));     /* zeros past the end */
    /* A byte read of the selector port reads data too, as in QEMU. */
    fw_cfg_select(s, FW_CFG_SIGNATURE);
    g_assert_cmpuint(qtest_inb(s, FW_CFG_CTL), ==, 'Q');
    g_assert_cmpuint(qtest_inb(s, FW_CFG_DATA), ==, 'E');
    /* Bit 0 traditional, bit 1 DMA. */
    g_assert_cmphex(fw_cfg_get_u32(s, FW_CFG_ID), ==, 3);
    /* An unknown key reads as zeros. */
    g_assert_cmphex(fw_cfg_get_u32(s, 0x3fff), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_dma_signature(void)
{
    QTestState *s = qtest_init("");

    g_assert_cmphex(qtest_inl(s, FW_CFG_DMA), ==, 0x554d4551);      /* QEMU */
    g_assert_cmphex(qtest_inl(s, FW_CFG_DMA + 4), ==, 0x47464320);  /*  CFG */
    g_assert_cmphex(qtest_inb(s, FW_CFG_DMA + 7), ==, 'G');
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_machine_items(void)
{
    QTestState *s = qtest_init("-m 256 -smp 3,maxcpus=4 "
                               "-uuid 12345678-9abc-def0-1122-334455667788");
    static const uint8_t uuid[16] = {
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    };
    uint8_t buf[16], numa[8 * 6];

    g_assert_cmphex(fw_cfg_get_u64(s, FW_CFG_RAM_SIZE), ==, 256ULL << 20);
    g_assert_cmpuint(fw_cfg_get_u16(s, FW_CFG_NB_CPUS), ==, 3);
    g_assert_cmpuint(fw_cfg_get_u16(s, FW_CFG_MAX_CPUS), ==, 4);
    g_assert_cmpuint(fw_cfg_get_u16(s, FW_CFG_NOGRAPHIC), ==, 0);
    g_assert_cmpuint(fw_cfg_get_u16(s, FW_CFG_BOOT_MENU), ==, 0);
    g_assert_cmpuint(fw_cfg_get_u32(s, FW_CFG_IRQ0_OVERRIDE), ==, 1);
    fw_cfg_read_entry(s, FW_CFG_UUID, buf, sizeof(buf));
    g_assert(!memcmp(buf, uuid, sizeof(uuid)));
    /* No NUMA nodes: node count 0 and a zero word per possible APIC ID. */
    fw_cfg_read_entry(s, FW_CFG_NUMA, numa, sizeof(numa));
    for (unsigned i = 0; i < sizeof(numa); i++) {
        g_assert_cmpuint(numa[i], ==, 0);
    }
    /* HPET: one block, id from its capabilities, at 0xfed00000. */
    fw_cfg_read_entry(s, FW_CFG_HPET, buf, 15);
    g_assert_cmpuint(buf[0], ==, 1);
    g_assert_cmphex(buf[1] | buf[2] << 8 | buf[3] << 16 |
                    (uint32_t)buf[4] << 24, ==, 0x8086a201);
    g_assert_cmphex(buf[5] | buf[6] << 8 | buf[7] << 16 |
                    (uint32_t)buf[8] << 24, ==, 0xfed00000);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/*
 * FW_CFG_NUMA with two nodes, as SeaBIOS reads it: the node count, the
 * node of each APIC ID below the limit (2 sockets x 3 cores: IDs 0-2 and
 * 4-6; 3 is no CPU's), then each node's RAM.
 */
static void test_numa_entry(void)
{
    static const uint64_t want[] = {
        2,                                  /* nodes */
        0, 0, 0, 0, 1, 1, 1,                /* APIC IDs 0-6 */
        64ULL << 20, 192ULL << 20,          /* node sizes */
    };
    QTestState *s = qtest_init(
        "-m 256M -smp 6,sockets=2,cores=3 "
        "-object memory-backend-ram,id=m0,size=64M "
        "-object memory-backend-ram,id=m1,size=192M "
        "-numa node,nodeid=0,memdev=m0,cpus=0-2 "
        "-numa node,nodeid=1,memdev=m1 "
        "-numa cpu,node-id=1,socket-id=1");
    uint8_t numa[8 * G_N_ELEMENTS(want)];

    g_assert_cmpuint(fw_cfg_get_u16(s, FW_CFG_MAX_CPUS), ==, 7);
    fw_cfg_read_entry(s, FW_CFG_NUMA, numa, sizeof(numa));
    for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
        g_assert_cmphex(ldq_le(numa + 8 * i), ==, want[i]);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* The same entry from QEMU 7.2 for the same command line (under TCG,
 * stopped: Debian's QEMU has no qtest accelerator). */
static void test_numa_entry_like_qemu(void)
{
    static const char args[] =
        "-m 256M -smp 4,sockets=2,cores=3,maxcpus=6 "
        "-object memory-backend-ram,id=m0,size=64M "
        "-object memory-backend-ram,id=m1,size=192M "
        "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 "
        "-numa cpu,node-id=1,socket-id=0 -numa cpu,node-id=0,socket-id=1";
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    uint8_t ours[8 * 12], theirs[8 * 12];  /* 1 + 7 + 2 words, and past */
    QTestState *s;

    if (!qemu) {
        g_test_skip("qemu-system-x86_64 is not installed");
        return;
    }
    s = qtest_init(args);
    fw_cfg_read_entry(s, FW_CFG_NUMA, ours, sizeof(ours));
    g_assert_cmpint(qtest_quit(s), ==, 0);
    s = qtest_init_qemu(qemu, args);
    fw_cfg_read_entry(s, FW_CFG_NUMA, theirs, sizeof(theirs));
    qtest_quit(s);
    g_assert_cmpuint(ldq_le(ours), ==, 2);
    g_assert_cmpuint(ldq_le(ours + 8), ==, 1);          /* APIC ID 0 */
    g_assert_cmpmem(ours, sizeof(ours), theirs, sizeof(theirs));
}

static void test_topology_and_flags(void)
{
    /* 2 sockets x 3 cores: core IDs take 2 bits, so APIC IDs reach 6. */
    QTestState *s = qtest_init("-smp 6,sockets=2,cores=3 -no-hpet "
                               "-machine graphics=off");
    uint8_t hpet[1];

    g_assert_cmpuint(fw_cfg_get_u16(s, FW_CFG_NB_CPUS), ==, 6);
    g_assert_cmpuint(fw_cfg_get_u16(s, FW_CFG_MAX_CPUS), ==, 7);
    g_assert_cmpuint(fw_cfg_get_u16(s, FW_CFG_NOGRAPHIC), ==, 1);
    fw_cfg_read_entry(s, FW_CFG_HPET, hpet, 1);
    g_assert_cmpuint(hpet[0], ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static const char *const expected_files[] = {
    "bios-geometry", "bootorder", "etc/acpi/rsdp", "etc/acpi/tables",
    "etc/boot-fail-wait", "etc/e820", "etc/smbios/smbios-anchor",
    "etc/smbios/smbios-tables", "etc/system-states", "etc/table-loader",
};

static void test_file_dir(void)
{
    QTestState *s = qtest_init("");
    uint8_t cnt[4];
    uint32_t n;
    char prev[57] = "";

    fw_cfg_read_entry(s, FW_CFG_FILE_DIR, cnt, sizeof(cnt));
    n = (uint32_t)cnt[0] << 24 | cnt[1] << 16 | cnt[2] << 8 | cnt[3];
    g_assert_cmpuint(n, ==, G_N_ELEMENTS(expected_files));
    for (uint32_t i = 0; i < n; i++) {
        uint8_t e[64];
        char name[57] = { 0 };

        fw_cfg_read(s, e, sizeof(e));
        memcpy(name, e + 8, 56);
        /* Sorted by name, keys from 0x20 in order, reserved field 0. */
        g_assert_cmpstr(name, ==, expected_files[i]);
        g_assert_cmpint(strcmp(prev, name), <, 0);
        g_assert_cmphex(e[4] << 8 | e[5], ==, FW_CFG_FILE_FIRST + i);
        g_assert_cmphex(e[6] | e[7], ==, 0);
        memcpy(prev, name, sizeof(prev));
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void check_e820_entry(const uint8_t *e, uint64_t addr, uint64_t len,
                             uint32_t type)
{
    g_assert_cmphex(ldq_le(e), ==, addr);
    g_assert_cmphex(ldq_le(e + 8), ==, len);
    g_assert_cmphex(e[16] | e[17] << 8 | e[18] << 16 | (uint32_t)e[19] << 24,
                    ==, type);
}

static unsigned host_phys_bits(void)
{
    unsigned eax = 0, ebx, ecx, edx;

    return __get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx) ? eax & 0xff : 36;
}

static void test_e820(void)
{
    /* qemu64 is an AMD model: QEMU reserves the HyperTransport window. */
    QTestState *s = qtest_init("-m 5G -cpu qemu64");
    bool ht = host_phys_bits() >= 40;
    size_t len;
    g_autofree uint8_t *e = fw_cfg_get_file(s, "etc/e820", &len);

    /* KVM's TSS/identity pages, RAM up to 3 GiB, RAM above 4 GiB. */
    g_assert_cmpuint(len, ==, (ht ? 4 : 3) * 20);
    check_e820_entry(e, 0xfeffc000, 0x4000, 2);
    check_e820_entry(e + 20, 0, 3ULL << 30, 1);
    check_e820_entry(e + 40, 4ULL << 30, 2ULL << 30, 1);
    if (ht) {
        check_e820_entry(e + 60, 0xfd00000000ULL, 0x300000000ULL, 2);
    }
    g_assert_cmpint(qtest_quit(s), ==, 0);

    /* An Intel guest has no such hole; 128 MiB: no RAM above 4 GiB. */
    s = qtest_init("-cpu qemu64,vendor=GenuineIntel");
    g_free(e);
    e = fw_cfg_get_file(s, "etc/e820", &len);
    g_assert_cmpuint(len, ==, 2 * 20);
    check_e820_entry(e + 20, 0, 128ULL << 20, 1);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_dma_read(void)
{
    QTestState *s = qtest_init("");
    uint8_t buf[8];

    /* Select + read, past the end of the item: zero filled. */
    qtest_memset(s, SCRATCH, 0xaa, 8);
    g_assert_cmphex(fw_cfg_dma(s, DESC, FW_CFG_SIGNATURE << 16 |
                               DMA_CTL_SELECT | DMA_CTL_READ, 8, SCRATCH),
                    ==, 0);
    qtest_memread(s, SCRATCH, buf, 8);
    g_assert(!memcmp(buf, "QEMU\0\0\0\0", 8));

    /* Select + skip 2, then a plain read continues at offset 2. */
    g_assert_cmphex(fw_cfg_dma(s, DESC, FW_CFG_SIGNATURE << 16 |
                               DMA_CTL_SELECT | DMA_CTL_SKIP, 2, 0), ==, 0);
    g_assert_cmphex(fw_cfg_dma(s, DESC, DMA_CTL_READ, 2, SCRATCH), ==, 0);
    qtest_memread(s, SCRATCH, buf, 2);
    g_assert(!memcmp(buf, "MU", 2));
    /* The traditional interface shares the offset. */
    g_assert_cmpuint(qtest_inb(s, FW_CFG_DATA), ==, 0);

    /* No operation bit: nothing happens, no error. */
    g_assert_cmphex(fw_cfg_dma(s, DESC, 0, 4, SCRATCH), ==, 0);
    /* Writes are not allowed. */
    g_assert_cmphex(fw_cfg_dma(s, DESC, FW_CFG_SIGNATURE << 16 |
                               DMA_CTL_SELECT | DMA_CTL_WRITE, 4, SCRATCH),
                    ==, DMA_CTL_ERROR);
    /* Destination outside RAM, or wrapping around: error, no transfer. */
    g_assert_cmphex(fw_cfg_dma(s, DESC, FW_CFG_SIGNATURE << 16 |
                               DMA_CTL_SELECT | DMA_CTL_READ, 4, UNASSIGNED),
                    ==, DMA_CTL_ERROR);
    g_assert_cmphex(fw_cfg_dma(s, DESC, FW_CFG_SIGNATURE << 16 |
                               DMA_CTL_SELECT | DMA_CTL_READ, 16,
                               UINT64_MAX - 7), ==, DMA_CTL_ERROR);
    /* Length running off the end of RAM (128 MiB). */
    g_assert_cmphex(fw_cfg_dma(s, DESC, FW_CFG_SIGNATURE << 16 |
                               DMA_CTL_SELECT | DMA_CTL_READ, 0x2000,
                               (128ULL << 20) - 0x1000), ==, DMA_CTL_ERROR);
    /* An invalid key reads zeros. */
    qtest_memset(s, SCRATCH, 0xaa, 4);
    g_assert_cmphex(fw_cfg_dma(s, DESC, 0x3fffu << 16 | DMA_CTL_SELECT |
                               DMA_CTL_READ, 4, SCRATCH), ==, 0);
    g_assert_cmphex(qtest_readl(s, SCRATCH), ==, 0);
    /* A descriptor outside RAM is ignored; the device still works. */
    qtest_outl(s, FW_CFG_DMA, 0);
    qtest_outl(s, FW_CFG_DMA + 4, GUINT32_SWAP_LE_BE((uint32_t)UNASSIGNED));
    g_assert_cmphex(fw_cfg_get_u32(s, FW_CFG_ID), ==, 3);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static char *write_temp(const char *name, const void *data, size_t len)
{
    g_autofree char *dir = g_dir_make_tmp("kvmpc-fwcfg-XXXXXX", NULL);
    char *path = g_build_filename(dir, name, NULL);

    g_assert(g_file_set_contents(path, data, len, NULL));
    return path;
}

static void remove_temp(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);

    unlink(path);
    rmdir(dir);
}

static void test_user_items(void)
{
    static const uint8_t blob[] = { 0, 1, 2, 0xff, 0x80 };
    g_autofree char *path = write_temp("blob", blob, sizeof(blob));
    QTestState *s = qtest_initf("-fw_cfg name=opt/kvmpc/str,string=hello "
                                "-fw_cfg opt/kvmpc/file,file=%s", path);
    size_t len;
    g_autofree uint8_t *str = fw_cfg_get_file(s, "opt/kvmpc/str", &len);
    g_autofree uint8_t *file = NULL;

    /* Strings are stored without their NUL, as in QEMU. */
    g_assert_cmpuint(len, ==, 5);
    g_assert(!memcmp(str, "hello", 5));
    file = fw_cfg_get_file(s, "opt/kvmpc/file", &len);
    g_assert_cmpuint(len, ==, sizeof(blob));
    g_assert(!memcmp(file, blob, sizeof(blob)));
    g_assert_cmpint(qtest_quit(s), ==, 0);
    remove_temp(path);
}

static void expect_fail(const char *args, const char *message)
{
    g_autofree char *err = NULL;
    int status = run_kvmpc_expect_fail(args, &err);

    g_assert_cmpint(status, ==, 1);
    if (!strstr(err, message)) {
        g_error("'%s': expected '%s' in: %s", args, message, err);
    }
    /* One line, "kvmpc: ...", after any warnings. */
    g_assert(g_str_has_suffix(err, "\n"));
    g_assert_nonnull(strstr(err, "kvmpc: "));
}

static void test_user_item_errors(void)
{
    g_autofree char *longname = g_strnfill(60, 'x');
    g_autofree char *args = g_strdup_printf("-fw_cfg name=opt/%s,string=x",
                                            longname);
    g_autofree char *err = NULL;

    expect_fail("-fw_cfg name=opt/a,file=/nonexistent/file",
                "could not open fw_cfg file '/nonexistent/file': No such");
    expect_fail("-fw_cfg name=opt/a,file=/etc/hostname,string=x",
                "name, plus exactly one of file and string, are needed");
    expect_fail("-fw_cfg name=opt/a", "exactly one of file and string");
    expect_fail("-fw_cfg string=x", "exactly one of file and string");
    expect_fail(args, "name too long (max. 55 char)");
    expect_fail("-fw_cfg name=opt/a,string=x -fw_cfg name=opt/a,string=y",
                "duplicate fw_cfg file name: opt/a");
    expect_fail("-fw_cfg name=etc/e820,string=x",
                "duplicate fw_cfg file name: etc/e820");
    /* A name outside opt/ is a warning only (then the duplicate fails). */
    run_kvmpc_expect_fail("-fw_cfg name=etc/e820,string=x", &err);
    g_assert_nonnull(strstr(err, "warning: externally provided fw_cfg "
                                 "item names should be prefixed with "
                                 "\"opt/\""));
}

static void test_boot_options(void)
{
    QTestState *s = qtest_init("-boot order=c,menu=on,splash-time=1234,"
                               "reboot-timeout=5000,strict=on");
    size_t len;
    g_autofree uint8_t *wait = fw_cfg_get_file(s, "etc/boot-menu-wait", &len);
    g_autofree uint8_t *fail = NULL;

    g_assert_cmpuint(fw_cfg_get_u16(s, FW_CFG_BOOT_MENU), ==, 1);
    g_assert_cmpuint(len, ==, 2);
    g_assert_cmpuint(wait[0] | wait[1] << 8, ==, 1234);
    fail = fw_cfg_get_file(s, "etc/boot-fail-wait", &len);
    g_assert_cmpuint(len, ==, 4);
    g_assert_cmphex(fail[0] | fail[1] << 8 | fail[2] << 16 |
                    (uint32_t)fail[3] << 24, ==, 5000);
    g_assert_cmpint(qtest_quit(s), ==, 0);

    /* Defaults: no menu, no menu wait, never reboot on failure. */
    s = qtest_init("");
    g_assert_cmpuint(fw_cfg_get_u16(s, FW_CFG_BOOT_MENU), ==, 0);
    g_assert_null(fw_cfg_get_file(s, "etc/boot-menu-wait", &len));
    g_free(fail);
    fail = fw_cfg_get_file(s, "etc/boot-fail-wait", &len);
    g_assert_cmphex(fail[0] & fail[1] & fail[2] & fail[3], ==, 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);

    expect_fail("-boot splash-time=70000", "splash-time is invalid");
    expect_fail("-boot reboot-timeout=-2", "reboot-timeout is invalid");
    expect_fail("-boot menu=maybe", "-boot menu=maybe");
    expect_fail("-boot foo=1", "Invalid parameter 'foo'");
}

static void test_option_rom(void)
{
    uint8_t rom[1024] = { 0x55, 0xaa, 2 };
    g_autofree char *path = write_temp("test.rom", rom, sizeof(rom));
    QTestState *s = qtest_initf("-option-rom %s,bootindex=3", path);
    size_t len;
    g_autofree uint8_t *got = fw_cfg_get_file(s, "genroms/test.rom", &len);
    g_autofree uint8_t *order = NULL;

    g_assert_cmpuint(len, ==, sizeof(rom));
    g_assert(!memcmp(got, rom, sizeof(rom)));
    order = fw_cfg_get_file(s, "bootorder", &len);
    g_assert_cmpstr((char *)order, ==, "/rom@genroms/test.rom");
    g_assert_cmpuint(len, ==, strlen("/rom@genroms/test.rom") + 1);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    remove_temp(path);

    expect_fail("-option-rom /nonexistent/x.rom",
                "could not open option rom '/nonexistent/x.rom'");
}

/* ---- firmware-boot: a synthetic bzImage ---------------------------------- */

#define BZ_SETUP_SECTS  3
#define BZ_SETUP_SIZE   ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_KERNEL_SIZE  8192
#define BZ_INITRD_SIZE  10000
#define BZ_CMDLINE      "console=ttyS0 kvmpc-test=1"

static uint8_t *make_bzimage(size_t *len)
{
    uint8_t *k = g_malloc0(BZ_SETUP_SIZE + BZ_KERNEL_SIZE);

    k[0x1f1] = BZ_SETUP_SECTS;
    k[0x1fe] = 0x55;
    k[0x1ff] = 0xaa;
    memcpy(k + 0x202, "HdrS", 4);
    k[0x206] = 0x0f;                    /* protocol 2.15 */
    k[0x207] = 0x02;
    k[0x211] = 0x01;                    /* LOADED_HIGH */
    stl_le(k + 0x22c, 0x7fffffff);      /* initrd_addr_max */
    stl_le(k + 0x238, 2047);            /* cmdline_size */
    for (unsigned i = 0; i < BZ_KERNEL_SIZE; i++) {
        k[BZ_SETUP_SIZE + i] = i * 7;
    }
    *len = BZ_SETUP_SIZE + BZ_KERNEL_SIZE;
    return k;
}

static void check_rom_image(const uint8_t *rom, size_t len)
{
    uint8_t sum = 0;

    g_assert_cmpuint(len, >=, 512);
    g_assert_cmpuint(len % 512, ==, 0);
    g_assert_cmphex(rom[0], ==, 0x55);
    g_assert_cmphex(rom[1], ==, 0xaa);
    g_assert_cmpuint(rom[2] * 512u, ==, len);
    for (size_t i = 0; i < len; i++) {
        sum += rom[i];
    }
    g_assert_cmpuint(sum, ==, 0);
}

static void check_setup(const uint8_t *setup, uint32_t initrd_addr)
{
    g_assert_cmphex(setup[0x210], ==, 0xb0);            /* type_of_loader */
    g_assert_cmphex(setup[0x211], ==, 0x81);            /* + CAN_USE_HEAP */
    g_assert_cmphex(setup[0x224] | setup[0x225] << 8, ==, 0xfe00);
    g_assert_cmphex(ldl_le(setup + 0x228), ==, 0x20000);    /* cmd_line_ptr */
    g_assert_cmphex(ldl_le(setup + 0x218), ==, initrd_addr);
    g_assert_cmpuint(ldl_le(setup + 0x21c), ==, BZ_INITRD_SIZE);
}

static void test_firmware_boot(void)
{
    size_t klen, len;
    g_autofree uint8_t *kimg = make_bzimage(&klen);
    g_autofree uint8_t *irdimg = g_malloc(BZ_INITRD_SIZE);
    g_autofree char *kpath = write_temp("bzImage", kimg, klen);
    g_autofree char *ipath = NULL;
    g_autofree uint8_t *setup = g_malloc(BZ_SETUP_SIZE);
    g_autofree uint8_t *data = g_malloc(BZ_KERNEL_SIZE);
    g_autofree uint8_t *rom = NULL;
    g_autofree uint8_t *order = NULL;
    /* min(initrd_addr_max, RAM - firmware reserve - 1) - size, 4K down */
    uint32_t initrd_addr = ((256u << 20) - 0x28000 - 1 - BZ_INITRD_SIZE) &
                           ~4095u;
    char cmdline[sizeof(BZ_CMDLINE)];
    QTestState *s;

    memset(irdimg, 0x5a, BZ_INITRD_SIZE);
    ipath = write_temp("initrd", irdimg, BZ_INITRD_SIZE);
    s = qtest_initf("-machine pc,firmware-boot=on -m 256 -kernel %s "
                    "-initrd %s -append '" BZ_CMDLINE "'", kpath, ipath);
    g_assert_cmphex(fw_cfg_get_u32(s, FW_CFG_SETUP_ADDR), ==, 0x10000);
    g_assert_cmpuint(fw_cfg_get_u32(s, FW_CFG_SETUP_SIZE), ==, BZ_SETUP_SIZE);
    fw_cfg_read_entry(s, FW_CFG_SETUP_DATA, setup, BZ_SETUP_SIZE);
    check_setup(setup, initrd_addr);
    g_assert_cmphex(fw_cfg_get_u32(s, FW_CFG_KERNEL_ADDR), ==, 0x100000);
    g_assert_cmpuint(fw_cfg_get_u32(s, FW_CFG_KERNEL_SIZE), ==,
                     BZ_KERNEL_SIZE);
    g_assert_cmphex(fw_cfg_dma(s, DESC, FW_CFG_KERNEL_DATA << 16 |
                               DMA_CTL_SELECT | DMA_CTL_READ, BZ_KERNEL_SIZE,
                               SCRATCH), ==, 0);
    qtest_bufread(s, SCRATCH, data, BZ_KERNEL_SIZE);
    g_assert(!memcmp(data, kimg + BZ_SETUP_SIZE, BZ_KERNEL_SIZE));
    g_assert_cmphex(fw_cfg_get_u32(s, FW_CFG_CMDLINE_ADDR), ==, 0x20000);
    g_assert_cmpuint(fw_cfg_get_u32(s, FW_CFG_CMDLINE_SIZE), ==,
                     sizeof(BZ_CMDLINE));
    fw_cfg_read_entry(s, FW_CFG_CMDLINE_DATA, cmdline, sizeof(cmdline));
    g_assert_cmpstr(cmdline, ==, BZ_CMDLINE);
    g_assert_cmphex(fw_cfg_get_u32(s, FW_CFG_INITRD_ADDR), ==, initrd_addr);
    g_assert_cmpuint(fw_cfg_get_u32(s, FW_CFG_INITRD_SIZE), ==,
                     BZ_INITRD_SIZE);
    /* The linuxboot ROM boots first. */
    rom = fw_cfg_get_file(s, "genroms/linuxboot.bin", &len);
    g_assert_nonnull(rom);
    check_rom_image(rom, len);
    order = fw_cfg_get_file(s, "bootorder", &len);
    g_assert_cmpstr((char *)order, ==, "/rom@genroms/linuxboot.bin");
    g_assert_cmpint(qtest_quit(s), ==, 0);

    expect_fail("-machine pc,firmware-boot=on -kernel /etc/hostname",
                "is not a Linux bzImage");
    remove_temp(kpath);
    remove_temp(ipath);
}

static void test_no_firmware_boot_items(void)
{
    QTestState *s = qtest_init("");
    size_t len;

    g_assert_cmpuint(fw_cfg_get_u32(s, FW_CFG_KERNEL_SIZE), ==, 0);
    g_assert_null(fw_cfg_get_file(s, "genroms/linuxboot.bin", &len));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fw_cfg/signature-id", test_signature_id);
    g_test_add_func("/fw_cfg/dma-signature", test_dma_signature);
    g_test_add_func("/fw_cfg/machine-items", test_machine_items);
    g_test_add_func("/fw_cfg/topology-flags", test_topology_and_flags);
    g_test_add_func("/fw_cfg/file-dir", test_file_dir);
    g_test_add_func("/fw_cfg/e820", test_e820);
    g_test_add_func("/fw_cfg/dma-read", test_dma_read);
    g_test_add_func("/fw_cfg/user-items", test_user_items);
    g_test_add_func("/fw_cfg/user-item-errors", test_user_item_errors);
    g_test_add_func("/fw_cfg/boot-options", test_boot_options);
    g_test_add_func("/fw_cfg/option-rom", test_option_rom);
    g_test_add_func("/fw_cfg/numa", test_numa_entry);
    g_test_add_func("/fw_cfg/numa-like-qemu", test_numa_entry_like_qemu);
    g_test_add_func("/fw_cfg/firmware-boot", test_firmware_boot);
    g_test_add_func("/fw_cfg/no-firmware-boot", test_no_firmware_boot_items);
    return g_test_run();
}
