/*
 * vmcoreinfo: a guest tells the host where its VMCOREINFO note is, as
 * Linux's qemu_fw_cfg driver does (drivers/firmware/qemu_fw_cfg.c,
 * fw_cfg_write_vmcoreinfo), through the fw_cfg file "etc/vmcoreinfo" of
 * QEMU 7.2's vmcoreinfo device (QEMU docs/specs/vmcoreinfo.txt and
 * docs/specs/fw_cfg.txt; docs/vmgenid.md here).
 *
 *   - fw_cfg: the "QEMU" signature, the DMA interface in the ID features
 *     (bit 1), the file directory (key 0x19: a big-endian count, then
 *     64-byte entries: be32 size, be16 select, be16 reserved, name[56]);
 *   - the file: 16 bytes, little-endian u16 host_format (1: ELF, as the
 *     device sets it), u16 guest_format (0 until written), u32 size,
 *     u64 paddr;
 *   - an ELF note "VMCOREINFO" (type 0) whose text carries the nonce=N
 *     of the command line, in the payload's (identity-mapped) data;
 *   - first a partial DMA write (the first 8 bytes only): the device must
 *     not take it ("vmcoreinfo: ready for dump (partial)"); then the whole
 *     descriptor, guest_format ELF, size, paddr, read back through the
 *     I/O port ("vmcoreinfo: ready for dump (note)").  At each ready line
 *     the host dumps the guest (dump-guest-memory) and looks for the note
 *     (run-vmcoreinfo-test.py), then sends a byte on COM1.
 *
 * The fw_cfg DMA address register is big-endian (high half at 0x514,
 * low half at 0x518, whose write starts the transfer); so is the
 * FWCfgDmaAccess structure.
 */
#include "guest.h"

#define FW_CFG_SEL          0x510
#define FW_CFG_DATA         0x511
#define FW_CFG_DMA_HI       0x514
#define FW_CFG_DMA_LO       0x518
#define FW_CFG_SIGNATURE    0x00
#define FW_CFG_ID           0x01
#define FW_CFG_FILE_DIR     0x19
#define FW_CFG_VERSION_DMA  2u

#define DMA_CTL_ERROR       0x01u
#define DMA_CTL_SELECT      0x08u
#define DMA_CTL_WRITE       0x10u

#define VMCOREINFO_FORMAT_ELF 1
#define WAIT_US             30000000

struct fw_cfg_dma_access {
    uint32_t control;
    uint32_t length;
    uint64_t address;
} __attribute__((packed, aligned(16)));

struct vmcoreinfo_desc {
    uint16_t host_format;
    uint16_t guest_format;
    uint32_t size;
    uint64_t paddr;
} __attribute__((packed));

/* An ELF note: n_namesz, n_descsz, n_type, "VMCOREINFO\0" padded to 12,
 * then the text (padded to 4). */
static uint8_t note[256] __attribute__((aligned(8)));
static struct vmcoreinfo_desc desc __attribute__((aligned(16)));
static struct fw_cfg_dma_access dma;

static uint32_t be32(uint32_t v) { return __builtin_bswap32(v); }
static uint16_t be16(uint16_t v) { return __builtin_bswap16(v); }

static void fw_cfg_read(uint16_t key, void *buf, uint32_t len)
{
    uint8_t *p = buf;

    outw(FW_CFG_SEL, key);
    for (uint32_t i = 0; i < len; i++)
        p[i] = inb(FW_CFG_DATA);
}

/* Reads on from where the selected item's offset is. */
static void fw_cfg_read_more(void *buf, uint32_t len)
{
    uint8_t *p = buf;

    for (uint32_t i = 0; i < len; i++)
        p[i] = inb(FW_CFG_DATA);
}

/* The select key of fw_cfg file @name and its size, or 0. */
static uint16_t fw_cfg_find_file(const char *name, uint32_t *size)
{
    uint32_t count;

    fw_cfg_read(FW_CFG_FILE_DIR, &count, 4);
    count = be32(count);
    for (uint32_t i = 0; i < count && i < 4096; i++) {
        struct { uint32_t size; uint16_t select, reserved; char name[56]; }
            f;

        fw_cfg_read_more(&f, sizeof(f));
        if (!strncmp(f.name, name, sizeof(f.name))) {
            *size = be32(f.size);
            return be16(f.select);
        }
    }
    return 0;
}

/* A DMA write of @len bytes at @buf into file @key from offset 0; the
 * control word as the device left it (0: done, no error). */
static uint32_t fw_cfg_dma_write(uint16_t key, const void *buf, uint32_t len)
{
    uint64_t a = (uintptr_t)&dma;
    uint64_t start = rdtsc();

    dma.control = be32((uint32_t)key << 16 | DMA_CTL_SELECT | DMA_CTL_WRITE);
    dma.length = be32(len);
    dma.address = __builtin_bswap64((uintptr_t)buf);
    barrier();
    outl(FW_CFG_DMA_HI, be32(a >> 32));
    outl(FW_CFG_DMA_LO, be32((uint32_t)a));
    while ((be32(*(volatile uint32_t *)&dma.control) & ~DMA_CTL_ERROR) &&
           rdtsc() - start < (1ull << 34))
        cpu_relax();
    return be32(*(volatile uint32_t *)&dma.control);
}

/* The note with @text as its descriptor; its size. */
static uint32_t build_note(const char *text)
{
    uint32_t namesz = 11, descsz = strlen(text);
    uint32_t *hdr = (uint32_t *)note;

    memset(note, 0, sizeof(note));
    hdr[0] = namesz;
    hdr[1] = descsz;
    hdr[2] = 0;
    memcpy(note + 12, "VMCOREINFO", namesz);
    memcpy(note + 24, text, descsz);
    return 24 + ((descsz + 3) & ~3u);
}

static void wait_for_host(const char *what)
{
    printf("vmcoreinfo: ready for dump (%s)\n", what);
    report(serial_getc(WAIT_US) >= 0, "the host dumped the guest (%s)", what);
}

int main(void)
{
    char sig[4], nonce[24], text[128];
    uint32_t id, size = 0, ctl, note_size;
    struct vmcoreinfo_desc back;
    uint16_t key;

    if (!cmdline_get("nonce", nonce, sizeof(nonce))) {
        report(false, "nonce=N on the command line");
        report_summary();
    }
    fw_cfg_read(FW_CFG_SIGNATURE, sig, 4);
    report(!memcmp(sig, "QEMU", 4), "the fw_cfg signature");
    fw_cfg_read(FW_CFG_ID, &id, 4);
    report(id & FW_CFG_VERSION_DMA, "fw_cfg offers DMA (ID %#x)", id);
    key = fw_cfg_find_file("etc/vmcoreinfo", &size);
    report(key != 0 && size == sizeof(desc),
           "etc/vmcoreinfo is listed, %u bytes (key %#x)", size, key);
    if (!key || size != sizeof(desc))
        report_summary();
    fw_cfg_read(key, &back, sizeof(back));
    report(back.host_format == VMCOREINFO_FORMAT_ELF && !back.guest_format &&
           !back.size && !back.paddr,
           "as reset: host_format ELF, nothing from the guest");

    snprintf(text, sizeof(text), "OSRELEASE=kvmpc-guest-kit\n"
             "PAGESIZE=4096\nKVMPC_NONCE=%s\n", nonce);
    note_size = build_note(text);
    desc.host_format = back.host_format;
    desc.guest_format = VMCOREINFO_FORMAT_ELF;
    desc.size = note_size;
    desc.paddr = (uintptr_t)note;

    /* Linux writes all 16 bytes; half of them is no descriptor. */
    ctl = fw_cfg_dma_write(key, &desc, 8);
    report(ctl == 0, "the partial DMA write completes (control %#x)", ctl);
    wait_for_host("partial");

    ctl = fw_cfg_dma_write(key, &desc, sizeof(desc));
    report(ctl == 0, "the DMA write completes (control %#x)", ctl);
    fw_cfg_read(key, &back, sizeof(back));
    report(!memcmp(&back, &desc, sizeof(desc)),
           "read back: guest_format %u, size %u, paddr %#lx",
           back.guest_format, back.size, (unsigned long)back.paddr);
    printf("vmcoreinfo: note at %#lx, %u bytes\n", (unsigned long)desc.paddr,
           note_size);
    wait_for_host("note");
    report_summary();
}
