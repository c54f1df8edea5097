/*
 * vmgenid and vmcoreinfo through fw_cfg, the test acting as the firmware:
 * it runs etc/table-loader as SeaBIOS does (ALLOCATE, ADD_POINTER,
 * ADD_CHECKSUM, and WRITE_POINTER as an fw_cfg DMA write into
 * etc/vmgenid_addr), then checks what the device wrote in guest memory,
 * the GPE it raised, query-vm-generation-id, a migration to a machine with
 * another GUID, reset, and that hostile DMA writes change nothing.
 * vmcoreinfo: the guest's descriptor written and read back, and the note
 * it points at in dump-guest-memory's ELF file.
 *
 * Spec: QEMU docs/specs/vmgenid.txt, docs/specs/vmcoreinfo.txt,
 * docs/specs/fw_cfg.rst (DMA interface: control bits, error bit).
 */
#include "fw-cfg-util.h"
#include "libqvirtio.h"
#include <elf.h>
#include <string.h>

#define GUID_A          "324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87"
#define GUID_B          "11111111-2222-3333-4444-555555555555"
#define GPE0_STS        0xafe0          /* PIIX4's GPE0 block (pc) */
#define GPE_VMGENID     (1u << 5)       /* \_GPE._E05 */
#define GUID_OFFSET     40
#define DESC            0x10000ULL      /* scratch guest RAM */
#define BUF             0x11000ULL
#define RAM_SIZE_MB     128     /* the default: the test linker places
                                   blobs at 127 MiB */

static const uint8_t guid_a_le[16] = {
    0xaf, 0x6e, 0x4e, 0x32, 0xd1, 0xd1, 0xf6, 0x4b,
    0xbf, 0x41, 0xb9, 0xbb, 0x6c, 0x91, 0xfb, 0x87,
};
static const uint8_t guid_b_le[16] = {
    0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33,
    0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
};

typedef struct Env {
    QTestState *qts;
    QMPConn *qmp;
    char *dir;
} Env;

static void env_start(Env *e, const char *dir, const char *args)
{
    g_autofree char *sock = g_build_filename(dir, "qmp.sock", NULL);
    g_autofree char *full = g_strdup_printf(
        "%s -qmp unix:%s,server=on,wait=off", args, sock);

    e->qts = qtest_init(full);
    e->qmp = qmp_connect(sock);
    unlink(sock);
}

static void env_stop(Env *e)
{
    qmp_close(e->qmp);
    g_assert_cmpint(qtest_quit(e->qts), ==, 0);
}

static Env *env_new(const char *args)
{
    Env *e = g_new0(Env, 1);

    e->dir = g_dir_make_tmp("kvmpc-vmgenid-XXXXXX", NULL);
    g_assert_nonnull(e->dir);
    env_start(e, e->dir, args);
    return e;
}

static void env_free(Env *e)
{
    env_stop(e);
    g_assert_cmpint(rmdir(e->dir), ==, 0);
    g_free(e->dir);
    g_free(e);
}

static uint64_t vmgenid_addr_file(QTestState *s)
{
    size_t len;
    g_autofree uint8_t *a = fw_cfg_get_file(s, "etc/vmgenid_addr", &len);

    g_assert_nonnull(a);
    g_assert_cmpuint(len, ==, 8);
    return ldq_le(a);
}

static void assert_guid_at(QTestState *s, uint64_t addr, const uint8_t *le)
{
    uint8_t got[16];

    qtest_memread(s, addr, got, sizeof(got));
    g_assert(!memcmp(got, le, sizeof(got)));
}

static uint8_t gpe_sts_take(QTestState *s)
{
    uint8_t v = qtest_inb(s, GPE0_STS);

    qtest_outb(s, GPE0_STS, v);         /* write 1 to clear */
    return v;
}

/* Link the tables as firmware: returns the GUID's guest address. */
static uint64_t firmware_link(QTestState *s)
{
    LinkedTables lt;
    uint64_t guid_addr = 0;

    acpi_link_tables(s, &lt);
    g_assert_cmpuint(lt.write_pointers, ==, 1);
    for (unsigned i = 0; i < lt.nr; i++) {
        if (!strcmp(lt.blobs[i].name, "etc/vmgenid_guid")) {
            g_assert_cmpuint(lt.blobs[i].len, ==, 4096);
            g_assert_cmphex(lt.blobs[i].addr & 0xfff, ==, 0);
            guid_addr = lt.blobs[i].addr + GUID_OFFSET;
        }
    }
    acpi_linked_free(&lt);
    g_assert_cmphex(guid_addr, !=, 0);
    return guid_addr;
}

/* One DMA write of @len bytes (at @buf) into @file from @offset. */
static uint32_t dma_write_file(QTestState *s, const char *file,
                               uint32_t offset, uint32_t len, uint64_t buf)
{
    uint16_t key;
    uint32_t size;

    g_assert(fw_cfg_find_file(s, file, &key, &size));
    if (offset) {
        g_assert_cmphex(fw_cfg_dma(s, DESC, (uint32_t)key << 16 |
                                   DMA_CTL_SELECT | DMA_CTL_SKIP, offset, 0),
                        ==, 0);
        return fw_cfg_dma(s, DESC, DMA_CTL_WRITE, len, buf);
    }
    return fw_cfg_dma(s, DESC, (uint32_t)key << 16 | DMA_CTL_SELECT |
                      DMA_CTL_WRITE, len, buf);
}

static uint32_t write_addr_file(QTestState *s, uint64_t value)
{
    uint8_t v[8];

    for (unsigned i = 0; i < 8; i++) {
        v[i] = value >> (8 * i);
    }
    qtest_memwrite(s, BUF, v, sizeof(v));
    return dma_write_file(s, "etc/vmgenid_addr", 0, 8, BUF);
}

/* ---- vmgenid --------------------------------------------------------- */

static void test_firmware(void)
{
    Env *e = env_new("-device vmgenid,id=vg,guid=" GUID_A);
    uint64_t addr;
    g_autofree char *r = NULL;

    gpe_sts_take(e->qts);
    addr = firmware_link(e->qts);
    g_assert_cmphex(vmgenid_addr_file(e->qts), ==, addr);
    assert_guid_at(e->qts, addr, guid_a_le);
    g_assert_cmphex(gpe_sts_take(e->qts) & GPE_VMGENID, ==, GPE_VMGENID);

    /* The device itself writes the GUID when the address is written (the
     * blob the firmware copied may be older than the GUID). */
    qtest_memset(e->qts, addr, 0, 16);
    g_assert_cmphex(write_addr_file(e->qts, addr), ==, 0);
    assert_guid_at(e->qts, addr, guid_a_le);
    g_assert_cmphex(gpe_sts_take(e->qts) & GPE_VMGENID, ==, GPE_VMGENID);

    r = qmp_cmd(e->qmp, "{\"execute\": \"query-vm-generation-id\"}");
    g_assert_nonnull(strstr(r, "{\"return\": {\"guid\": \"" GUID_A "\"}}"));
    g_free(r);
    r = qmp_cmd(e->qmp, "{\"execute\": \"human-monitor-command\", "
                "\"arguments\": {\"command-line\": "
                "\"info vm-generation-id\"}}");
    g_assert_nonnull(strstr(r, "\"return\": \"" GUID_A "\\r\\n\""));
    /* QEMU 7.2 refuses to change it at run time. */
    qmp_assert_error(e->qmp, "{\"execute\": \"qom-set\", \"arguments\": "
                     "{\"path\": \"vg\", \"property\": \"guid\", "
                     "\"value\": \"" GUID_B "\"}}",
                     "Attempt to set property 'guid' on device 'vg' "
                     "(type 'vmgenid') after it was realized");
    assert_guid_at(e->qts, addr, guid_a_le);
    g_assert_cmphex(gpe_sts_take(e->qts) & GPE_VMGENID, ==, 0);

    /* Reset: the address is forgotten until the firmware writes it. */
    qmp_assert_ok(e->qmp, "{\"execute\": \"system_reset\"}");
    g_assert_cmphex(vmgenid_addr_file(e->qts), ==, 0);
    env_free(e);
}

/* Hostile writes: wrong sizes and offsets, a read-only file, bad DMA
 * addresses, an address that is not RAM.  Nothing changes, no GPE. */
static void test_bad_writes(void)
{
    Env *e = env_new("-device vmgenid,guid=" GUID_A);
    QTestState *s = e->qts;
    uint64_t addr = firmware_link(s);
    size_t len;
    g_autofree uint8_t *blob = NULL, *blob2 = NULL;
    uint8_t junk[16];

    gpe_sts_take(s);
    memset(junk, 0xa5, sizeof(junk));
    qtest_memwrite(s, BUF, junk, sizeof(junk));
    g_assert_cmphex(dma_write_file(s, "etc/vmgenid_addr", 0, 9, BUF), ==,
                    DMA_CTL_ERROR);
    g_assert_cmphex(dma_write_file(s, "etc/vmgenid_addr", 4, 8, BUF), ==,
                    DMA_CTL_ERROR);
    g_assert_cmphex(dma_write_file(s, "etc/vmgenid_addr", 8, 1, BUF), ==,
                    DMA_CTL_ERROR);
    g_assert_cmphex(dma_write_file(s, "etc/vmgenid_addr", 0, 8,
                                   0xfee00000), ==, DMA_CTL_ERROR);
    g_assert_cmphex(dma_write_file(s, "etc/vmgenid_addr", 0, 8,
                                   0xfffffffffffffffcULL), ==, DMA_CTL_ERROR);
    g_assert_cmphex(vmgenid_addr_file(s), ==, addr);

    /* etc/vmgenid_guid is read-only; numbered items too. */
    blob = fw_cfg_get_file(s, "etc/vmgenid_guid", &len);
    g_assert_cmphex(dma_write_file(s, "etc/vmgenid_guid", GUID_OFFSET, 16,
                                   BUF), ==, DMA_CTL_ERROR);
    blob2 = fw_cfg_get_file(s, "etc/vmgenid_guid", &len);
    g_assert(!memcmp(blob, blob2, len));
    g_assert(!memcmp(blob + GUID_OFFSET, guid_a_le, 16));
    g_assert_cmphex(fw_cfg_dma(s, DESC, FW_CFG_UUID << 16 | DMA_CTL_SELECT |
                               DMA_CTL_WRITE, 16, BUF), ==, DMA_CTL_ERROR);
    g_assert_cmphex(fw_cfg_get_u32(s, FW_CFG_SIGNATURE), ==, 0x554d4551);
    g_assert_cmphex(gpe_sts_take(s) & GPE_VMGENID, ==, 0);

    /* An address that is not RAM (the IOAPIC), past RAM, or wrapping:
     * accepted in the file, but the device writes no GUID there. */
    g_assert_cmphex(write_addr_file(s, 0xfec00000), ==, 0);
    g_assert_cmphex(qtest_readl(s, 0xfec00000), ==, 0);     /* IOREGSEL */
    g_assert_cmphex(write_addr_file(s, RAM_SIZE_MB * 0x100000ULL - 8), ==, 0);
    g_assert_cmphex(write_addr_file(s, 0xfffffffffffffff8ULL), ==, 0);
    g_assert_cmphex(gpe_sts_take(s) & GPE_VMGENID, ==, 0);
    assert_guid_at(s, addr, guid_a_le);
    env_free(e);
}

/*
 * The DMA write rules against QEMU 7.2's on the same sequence: status
 * words, where the offset ends up after a refused write (it moves over
 * what the item had room for), and the file's contents.  (Sources in MMIO
 * are left out: QEMU reads device registers into the file, kvmpc refuses.)
 */
static char *dma_write_transcript(QTestState *s)
{
    GString *t = g_string_new(NULL);
    uint16_t key;
    uint32_t size;
    uint8_t b[8];
    size_t len;
    g_autofree uint8_t *f = NULL;

    g_assert(fw_cfg_find_file(s, "etc/vmgenid_addr", &key, &size));
    for (unsigned i = 0; i < 16; i++) {
        b[i % 8] = 0x10 + i;
        if (i % 8 == 7) {
            qtest_memwrite(s, BUF + (i / 8) * 8, b, 8);
        }
    }
    g_string_append_printf(t, "w8@0 %x\n",
                           dma_write_file(s, "etc/vmgenid_addr", 0, 8, BUF));
    g_string_append_printf(t, "w9@0 %x\n",
                           dma_write_file(s, "etc/vmgenid_addr", 0, 9,
                                          BUF + 8));
    /* where the offset is now: a read of 4 without selecting again */
    qtest_memset(s, BUF + 32, 0xee, 4);
    g_string_append_printf(t, "r4 %x", fw_cfg_dma(s, DESC, DMA_CTL_READ, 4,
                                                 BUF + 32));
    qtest_memread(s, BUF + 32, b, 4);
    g_string_append_printf(t, " %02x%02x%02x%02x\n", b[0], b[1], b[2], b[3]);
    g_string_append_printf(t, "w8@4 %x\n",
                           dma_write_file(s, "etc/vmgenid_addr", 4, 8,
                                          BUF + 8));
    g_string_append_printf(t, "w4@4 %x\n",
                           dma_write_file(s, "etc/vmgenid_addr", 4, 4,
                                          BUF + 8));
    g_string_append_printf(t, "w0@0 %x\n",
                           dma_write_file(s, "etc/vmgenid_addr", 0, 0,
                                          BUF));
    g_string_append_printf(t, "guid %x\n",
                           dma_write_file(s, "etc/vmgenid_guid", 0, 8, BUF));
    g_string_append_printf(t, "uuid %x\n",
                           fw_cfg_dma(s, DESC, FW_CFG_UUID << 16 |
                                      DMA_CTL_SELECT | DMA_CTL_WRITE, 4,
                                      BUF));
    g_string_append_printf(t, "none %x\n",
                           fw_cfg_dma(s, DESC, 0x7fffu << 16 |
                                      DMA_CTL_SELECT | DMA_CTL_WRITE, 4,
                                      BUF));
    f = fw_cfg_get_file(s, "etc/vmgenid_addr", &len);
    g_string_append_printf(t, "file");
    for (size_t i = 0; i < len; i++) {
        g_string_append_printf(t, " %02x", f[i]);
    }
    return g_string_free(t, FALSE);
}

static void test_dma_writes_like_qemu(void)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    const char *args = "-device vmgenid,guid=" GUID_A;
    g_autofree char *ours = NULL, *theirs = NULL;
    QTestState *s = qtest_init(args);

    ours = dma_write_transcript(s);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    /* not vacuous: a write went in, refused ones did not */
    g_assert_nonnull(strstr(ours, "w8@0 0\n"));
    g_assert_nonnull(strstr(ours, "w9@0 1\n"));
    if (!qemu) {
        g_test_skip("qemu-system-x86_64 is not installed");
        return;
    }
    s = qtest_init_qemu(qemu, args);
    theirs = dma_write_transcript(s);
    qtest_quit(s);
    g_test_message("transcript:\n%s", ours);
    g_assert_cmpstr(ours, ==, theirs);
}

/*
 * Migration to a machine started with another GUID: the destination
 * writes its GUID at the address the source's firmware wrote (the
 * device's migrated state) and raises the GPE.
 */
static void test_migrate_new_guid(void)
{
    Env *e = env_new("-device vmgenid,id=vg,guid=" GUID_A);
    g_autofree char *mig = g_build_filename(e->dir, "mig", NULL);
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"file:%s\"}}",
        mig);
    g_autofree char *args = g_strdup_printf(
        "-device vmgenid,id=vg,guid=" GUID_B " -incoming file:%s", mig);
    uint64_t addr = firmware_link(e->qts);
    Env dst;

    gpe_sts_take(e->qts);
    qmp_assert_ok(e->qmp, cmd);
    for (int i = 0; ; i++) {
        g_autofree char *r = qmp_cmd(e->qmp,
                                     "{\"execute\": \"query-migrate\"}");
        if (strstr(r, "\"completed\"")) {
            break;
        }
        g_assert(!strstr(r, "\"failed\""));
        g_assert_cmpint(i, <, 2000);
        g_usleep(5000);
    }
    env_stop(e);

    env_start(&dst, e->dir, args);
    for (int i = 0; ; i++) {
        g_autofree char *r = qmp_cmd(dst.qmp,
                                     "{\"execute\": \"query-status\"}");
        if (!strstr(r, "inmigrate")) {
            break;
        }
        g_assert_cmpint(i, <, 2000);
        g_usleep(5000);
    }
    unlink(mig);
    g_assert_cmphex(vmgenid_addr_file(dst.qts), ==, addr);
    assert_guid_at(dst.qts, addr, guid_b_le);
    g_assert_cmphex(gpe_sts_take(dst.qts) & GPE_VMGENID, ==, GPE_VMGENID);
    {
        g_autofree char *r = qmp_cmd(dst.qmp,
            "{\"execute\": \"query-vm-generation-id\"}");
        g_assert_nonnull(strstr(r, GUID_B));
    }
    e->qts = dst.qts;
    e->qmp = dst.qmp;
    env_free(e);
}

/*
 * Direct kernel boot: kvmpc itself runs the table-loader (acpi-direct.c),
 * WRITE_POINTER included, at start and at every reset (after the device's
 * own reset cleared the address).
 */
static void test_direct_boot(void)
{
    static const uint32_t mb[12] = {    /* Multiboot a.out kludge, unrun */
        0x1badb002u, 0x00010000u, -(0x1badb002u + 0x00010000u),
        0x100000, 0x100000, 0, 0, 0x100020,
    };
    g_autofree char *dir = g_dir_make_tmp("kvmpc-vmgenid-XXXXXX", NULL);
    g_autofree char *kernel = g_build_filename(dir, "kernel.bin", NULL);
    g_autofree char *args = NULL;
    Env e;

    g_assert(g_file_set_contents(kernel, (const char *)mb, sizeof(mb),
                                 NULL));
    args = g_strdup_printf("-kernel %s -device vmgenid,guid=" GUID_A,
                           kernel);
    env_start(&e, dir, args);
    for (int round = 0; round < 2; round++) {
        uint64_t addr = vmgenid_addr_file(e.qts);

        /* in the direct-boot ACPI area (0x90000-0x9fbff), page aligned */
        g_assert_cmphex(addr, >=, 0x90000 + GUID_OFFSET);
        g_assert_cmphex(addr + 16, <=, 0x9fc00);
        g_assert_cmphex((addr - GUID_OFFSET) & 0xfff, ==, 0);
        assert_guid_at(e.qts, addr, guid_a_le);
        qmp_assert_ok(e.qmp, "{\"execute\": \"system_reset\"}");
    }
    env_stop(&e);
    unlink(kernel);
    g_assert_cmpint(rmdir(dir), ==, 0);
}

/* ---- vmcoreinfo -------------------------------------------------------- */

#define NOTE_ADDR       0x20000ULL

/* A VMCOREINFO ELF note (Elf64_Nhdr, "VMCOREINFO\0" padded, text). */
static size_t make_note(uint8_t *buf, const char *text)
{
    static const char name[] = "VMCOREINFO";
    size_t namesz = sizeof(name), descsz = strlen(text);
    size_t off = 12;

    stl_le(buf, namesz);
    stl_le(buf + 4, descsz);
    stl_le(buf + 8, 0);
    memcpy(buf + off, name, namesz);
    off += (namesz + 3) & ~3u;
    memcpy(buf + off, text, descsz);
    off += (descsz + 3) & ~3u;
    return off;
}

static void write_vmcoreinfo(QTestState *s, uint16_t format, uint32_t size,
                             uint64_t paddr)
{
    uint8_t d[16] = { 0 };

    d[2] = format;
    d[3] = format >> 8;
    stl_le(d + 4, size);
    stl_le(d + 8, paddr);
    stl_le(d + 12, paddr >> 32);
    qtest_memwrite(s, BUF, d, sizeof(d));
    g_assert_cmphex(dma_write_file(s, "etc/vmcoreinfo", 0, 16, BUF), ==, 0);
}

/* The PT_NOTE segment of a dump (empty string: none). */
static GByteArray *dump_notes(Env *e)
{
    g_autofree char *path = g_build_filename(e->dir, "dump", NULL);
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"dump-guest-memory\", \"arguments\": "
        "{\"paging\": false, \"protocol\": \"file:%s\"}}", path);
    g_autofree uint8_t *hdr = NULL;
    GByteArray *notes = g_byte_array_new();
    Elf64_Ehdr eh;

    qmp_assert_ok(e->qmp, cmd);
    hdr = qtest_file_range(path, 0, sizeof(eh));
    memcpy(&eh, hdr, sizeof(eh));
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        g_autofree uint8_t *p = qtest_file_range(
            path, eh.e_phoff + i * sizeof(Elf64_Phdr), sizeof(Elf64_Phdr));
        Elf64_Phdr ph;

        memcpy(&ph, p, sizeof(ph));
        if (ph.p_type == PT_NOTE) {
            g_autofree uint8_t *n = qtest_file_range(path, ph.p_offset,
                                                     ph.p_filesz);
            g_byte_array_append(notes, n, ph.p_filesz);
        }
    }
    unlink(path);
    return notes;
}

static void test_vmcoreinfo(void)
{
    Env *e = env_new("-m 8 -device vmcoreinfo");      /* small dumps */
    QTestState *s = e->qts;
    uint8_t note[256];
    size_t note_len = make_note(note, "OSRELEASE=6.1.0\nPAGESIZE=4096\n");
    size_t len;
    g_autofree uint8_t *f = fw_cfg_get_file(s, "etc/vmcoreinfo", &len);
    g_autofree uint8_t *f2 = NULL;
    g_autoptr(GByteArray) none = NULL, with = NULL, partial = NULL;

    /* host_format 1 (ELF), nothing from the guest yet */
    g_assert_cmpuint(len, ==, 16);
    g_assert_cmphex(f[0] | f[1] << 8, ==, 1);
    g_assert_cmphex(ldl_le(f + 4) | f[2] | f[3], ==, 0);
    none = dump_notes(e);
    g_assert_cmpuint(none->len, ==, 0);

    qtest_memwrite(s, NOTE_ADDR, note, note_len);
    write_vmcoreinfo(s, 1, note_len, NOTE_ADDR);
    f2 = fw_cfg_get_file(s, "etc/vmcoreinfo", &len);
    g_assert_cmphex(f2[2] | f2[3] << 8, ==, 1);
    g_assert_cmpuint(ldl_le(f2 + 4), ==, note_len);
    g_assert_cmphex(ldq_le(f2 + 8), ==, NOTE_ADDR);
    with = dump_notes(e);
    g_assert_cmpuint(with->len, ==, note_len);
    g_assert(!memcmp(with->data, note, note_len));

    /* Too long a write is refused; a partial one (not the whole file at
     * offset 0) leaves the note absent, as QEMU. */
    g_assert_cmphex(dma_write_file(s, "etc/vmcoreinfo", 0, 17, BUF), ==,
                    DMA_CTL_ERROR);
    g_assert_cmphex(dma_write_file(s, "etc/vmcoreinfo", 8, 8, BUF), ==, 0);
    partial = dump_notes(e);
    g_assert_cmpuint(partial->len, ==, 0);

    /* A size that is not a note, or a huge one: no note in the dump. */
    write_vmcoreinfo(s, 1, 4, NOTE_ADDR);
    {
        g_autoptr(GByteArray) n = dump_notes(e);
        g_assert_cmpuint(n->len, ==, 0);
    }
    write_vmcoreinfo(s, 1, 0xffffffff, 0xfffffffffffff000ULL);
    {
        g_autoptr(GByteArray) n = dump_notes(e);
        g_assert_cmpuint(n->len, ==, 0);
    }
    env_free(e);
}

/* QEMU 7.2's start-up errors. */
static void test_errors(void)
{
    g_autofree char *err = NULL, *err2 = NULL, *err3 = NULL;
    g_autofree char *err4 = NULL, *err5 = NULL;

    g_assert_cmpint(run_kvmpc_expect_fail("-device vmgenid -device vmgenid",
                                          &err), ==, 1);
    g_assert_nonnull(strstr(err, "at most one vmgenid device is permitted"));
    g_assert_cmpint(run_kvmpc_expect_fail(
        "-device vmcoreinfo -device vmcoreinfo", &err2), ==, 1);
    g_assert_nonnull(strstr(err2,
                            "at most one vmcoreinfo device is permitted"));
    g_assert_cmpint(run_kvmpc_expect_fail("-device vmgenid,guid=xyz",
                                          &err3), ==, 1);
    g_assert_nonnull(strstr(err3,
                            "Property 'vmgenid.guid' doesn't take value "
                            "'xyz'"));
    /* -machine none has no fw_cfg */
    g_assert_cmpint(run_kvmpc_expect_fail("-machine none -device vmgenid",
                                          &err4), ==, 1);
    g_assert_nonnull(strstr(err4, "vmgenid requires DMA write support in "
                            "fw_cfg, which this machine type does not "
                            "provide"));
    g_assert_cmpint(run_kvmpc_expect_fail("-machine none -device vmcoreinfo",
                                          &err5), ==, 1);
    g_assert_nonnull(strstr(err5,
                            "vmcoreinfo device requires fw_cfg with DMA"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmgenid/firmware", test_firmware);
    g_test_add_func("/vmgenid/bad-writes", test_bad_writes);
    g_test_add_func("/vmgenid/dma-writes-like-qemu",
                    test_dma_writes_like_qemu);
    g_test_add_func("/vmgenid/migrate-new-guid", test_migrate_new_guid);
    g_test_add_func("/vmgenid/direct-boot", test_direct_boot);
    g_test_add_func("/vmgenid/vmcoreinfo", test_vmcoreinfo);
    g_test_add_func("/vmgenid/errors", test_errors);
    return g_test_run();
}
