/*
 * Boot information: turns whatever the loader handed over (Multiboot info,
 * Linux zero page, PVH start info) into struct boot_info.
 */
#include "guest.h"
#include "bootproto.h"

extern uint64_t boot_info_ptr;
extern uint32_t boot_protocol;
extern uint32_t boot_magic;

struct boot_info boot;

static void add_data(uint64_t start, uint64_t len)
{
    if (!len || boot.nr_data >= BOOT_MAX_DATA)
        return;
    boot.data[boot.nr_data].start = start;
    boot.data[boot.nr_data].end = start + len;
    boot.nr_data++;
}

static void add_mem(uint64_t base, uint64_t len, uint32_t type)
{
    if (boot.nr_mem >= BOOT_MAX_MEM)
        return;
    boot.mem[boot.nr_mem].base = base;
    boot.mem[boot.nr_mem].len = len;
    boot.mem[boot.nr_mem].type = type;
    boot.nr_mem++;
}

static void add_mod(uint64_t start, uint64_t end, const char *s)
{
    if (boot.nr_mods >= BOOT_MAX_MODS)
        return;
    boot.mods[boot.nr_mods].start = start;
    boot.mods[boot.nr_mods].end = end;
    boot.mods[boot.nr_mods].string = s ? s : "";
    boot.nr_mods++;
    add_data(start, end - start);
}

/* A loader-provided pointer: make sure it is mapped. */
static const void *phys(uint64_t addr, uint64_t len)
{
    if (addr + len > (4ull << 30))
        paging_map_up_to(addr + len);
    return (const void *)addr;
}

static const char *phys_str(uint64_t addr)
{
    if (!addr)
        return NULL;
    const char *s = phys(addr, 4096);
    add_data(addr, strlen(s) + 1);
    return s;
}

static void parse_multiboot(void)
{
    const struct multiboot_info *mbi = phys(boot.raw, sizeof(*mbi));
    add_data(boot.raw, sizeof(*mbi));

    if (mbi->flags & MBI_FLAG_CMDLINE)
        boot.cmdline = phys_str(mbi->cmdline);
    if (mbi->flags & MBI_FLAG_LOADER)
        phys_str(mbi->boot_loader_name);
    if (mbi->flags & MBI_FLAG_MMAP) {
        add_data(mbi->mmap_addr, mbi->mmap_length);
        uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
        while (p + 4 <= end) {
            const struct multiboot_mmap_entry *e = phys(p, sizeof(*e));
            if (e->size < 20)
                break;
            add_mem(e->addr, e->len, e->type);
            p += e->size + 4;
        }
    } else if (mbi->flags & MBI_FLAG_MEM) {
        add_mem(0, (uint64_t)mbi->mem_lower << 10, E820_RAM);
        add_mem(1 << 20, (uint64_t)mbi->mem_upper << 10, E820_RAM);
    }
    if (mbi->flags & MBI_FLAG_MODS) {
        add_data(mbi->mods_addr, (uint64_t)mbi->mods_count * sizeof(struct multiboot_module));
        const struct multiboot_module *m = phys(mbi->mods_addr, mbi->mods_count * sizeof(*m));
        for (uint32_t i = 0; i < mbi->mods_count; i++)
            add_mod(m[i].mod_start, m[i].mod_end, phys_str(m[i].string));
    }
}

static void parse_linux(void)
{
    const uint8_t *bp = phys(boot.raw, 4096);
    add_data(boot.raw, 4096);

    uint64_t cmd = *(const uint32_t *)(bp + HDR_CMD_LINE_PTR) |
                   (uint64_t)*(const uint32_t *)(bp + BP_EXT_CMD_LINE_PTR) << 32;
    boot.cmdline = phys_str(cmd);

    unsigned n = bp[BP_E820_ENTRIES];
    if (n > BP_E820_MAX)
        n = BP_E820_MAX;
    const struct boot_e820_entry *e = (const void *)(bp + BP_E820_TABLE);
    for (unsigned i = 0; i < n; i++)
        add_mem(e[i].addr, e[i].size, e[i].type);

    uint64_t rd = *(const uint32_t *)(bp + HDR_RAMDISK_IMAGE) |
                  (uint64_t)*(const uint32_t *)(bp + BP_EXT_RAMDISK_IMAGE) << 32;
    uint64_t rs = *(const uint32_t *)(bp + HDR_RAMDISK_SIZE) |
                  (uint64_t)*(const uint32_t *)(bp + BP_EXT_RAMDISK_SIZE) << 32;
    if (rd && rs) {
        phys(rd, rs);
        add_mod(rd, rd + rs, "initrd");
    }

    /* setup_data list (struct setup_data: next, type, len, data[len]) */
    uint64_t sd = *(const uint64_t *)(bp + HDR_SETUP_DATA);
    for (int i = 0; sd && i < 8; i++) {
        const uint8_t *p = phys(sd, 16);
        add_data(sd, 16 + *(const uint32_t *)(p + 12));
        sd = *(const uint64_t *)p;
    }
}

static void parse_pvh(void)
{
    const struct hvm_start_info *si = phys(boot.raw, sizeof(*si));
    if (si->magic != HVM_START_MAGIC)
        return;
    add_data(boot.raw, si->version >= 1 ? sizeof(*si) : offsetof(struct hvm_start_info, memmap_paddr));
    boot.cmdline = phys_str(si->cmdline_paddr);
    if (si->nr_modules && si->modlist_paddr) {
        const struct hvm_modlist_entry *m = phys(si->modlist_paddr, si->nr_modules * sizeof(*m));
        add_data(si->modlist_paddr, si->nr_modules * sizeof(*m));
        for (uint32_t i = 0; i < si->nr_modules; i++)
            add_mod(m[i].paddr, m[i].paddr + m[i].size, phys_str(m[i].cmdline_paddr));
    }
    if (si->version >= 1 && si->memmap_paddr) {
        const struct hvm_memmap_table_entry *e = phys(si->memmap_paddr, si->memmap_entries * sizeof(*e));
        add_data(si->memmap_paddr, si->memmap_entries * sizeof(*e));
        for (uint32_t i = 0; i < si->memmap_entries; i++)
            add_mem(e[i].addr, e[i].size, e[i].type);
    }
}

void bootinfo_parse(void)
{
    boot.protocol = (int)boot_protocol;
    boot.raw = boot_info_ptr & 0xffffffffffffull;
    boot.mb_magic = boot_magic;
    boot.cmdline = NULL;
    switch (boot.protocol) {
    case BOOT_MULTIBOOT:
        parse_multiboot();
        break;
    case BOOT_LINUX32:
    case BOOT_LINUX64:
        parse_linux();
        break;
    case BOOT_PVH:
        parse_pvh();
        break;
    }
    if (!boot.cmdline)
        boot.cmdline = "";
}

const char *boot_protocol_name(int protocol)
{
    switch (protocol) {
    case BOOT_MULTIBOOT: return "multiboot";
    case BOOT_LINUX32: return "linux 32-bit";
    case BOOT_LINUX64: return "linux 64-bit";
    case BOOT_PVH: return "pvh";
    }
    return "unknown";
}

const char *cmdline_get(const char *key, char *buf, size_t size)
{
    size_t klen = strlen(key);
    const char *p = boot.cmdline;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *tok = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        size_t tlen = (size_t)(p - tok);
        if (tlen >= klen && !strncmp(tok, key, klen) && (tlen == klen || tok[klen] == '=')) {
            const char *v = tlen == klen ? tok + klen : tok + klen + 1;
            size_t vlen = (size_t)(p - v);
            if (size) {
                if (vlen >= size)
                    vlen = size - 1;
                memcpy(buf, v, vlen);
                buf[vlen] = 0;
            }
            return buf;
        }
    }
    return NULL;
}

long cmdline_get_int(const char *key, long dflt)
{
    char buf[32];
    if (!cmdline_get(key, buf, sizeof(buf)) || !buf[0])
        return dflt;
    return strtol(buf, NULL, 0);
}

uint64_t boot_ram_top(void)
{
    uint64_t top = 0;
    for (int i = 0; i < boot.nr_mem; i++)
        if (boot.mem[i].type == E820_RAM && boot.mem[i].base + boot.mem[i].len > top)
            top = boot.mem[i].base + boot.mem[i].len;
    return top;
}

uint64_t boot_ram_total(void)
{
    uint64_t total = 0;
    for (int i = 0; i < boot.nr_mem; i++)
        if (boot.mem[i].type == E820_RAM)
            total += boot.mem[i].len;
    return total;
}

bool boot_range_in_use(uint64_t start, uint64_t end)
{
    if (start < (uint64_t)_end && end > (uint64_t)__image_start)
        return true;
    for (int i = 0; i < boot.nr_data; i++)
        if (start < boot.data[i].end && end > boot.data[i].start)
            return true;
    return false;
}
