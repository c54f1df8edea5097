/*
 * raw-kvm-loop: the smallest possible KVM_RUN loop, the "limit" column of
 * the benchmarks.  It boots a Multiboot v1 payload (ELF32/ELF64 or a.out
 * kludge; Multiboot 0.6.96) on one vCPU with the in-kernel irqchip and
 * PIT, and handles exits with no more work than they need:
 *
 *   OUT to 0xf4 (isa-debug-exit)   exit((value << 1) | 1)
 *   OUT to 0x3f8 (COM1 data)       the byte goes to stdout
 *   IN from 0x3fd (COM1 LSR)       0x60: transmitter empty
 *   other IN / MMIO read           all ones
 *   other OUT / MMIO write         ignored
 *   shutdown (triple fault)        exit(0), as QEMU with -no-reboot
 *   internal error / failed entry  exit(2) with a message
 *
 * The boot information (MBI) matches kvmpc's loader: flags, mem_lower/
 * mem_upper, an e820-style mmap, the command line and the loader name,
 * placed after the payload; the CPU enters flat 32-bit protected mode with
 * EAX = 0x2BADB002, EBX = MBI.  Only libc and the Linux UAPI headers:
 *
 *   raw-kvm-loop [-m MiB] [-append CMDLINE] [-v] PAYLOAD
 *
 * Everything read from the payload file is bounds-checked.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MB_HEADER_MAGIC 0x1BADB002u
#define MB_BOOT_MAGIC   0x2BADB002u
#define GDT_ADDR        0x500
#define DEBUG_EXIT_PORT 0xf4
#define COM1            0x3f8

struct vm {
    int kvm, fd, vcpu;
    uint8_t *ram;
    uint64_t ram_size;
    struct kvm_run *run;
    int run_size;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                      noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("raw-kvm-loop: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static uint32_t ld32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ld64(const uint8_t *p)
{
    return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static uint16_t ld16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static void st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static void st64(uint8_t *p, uint64_t v)
{
    st32(p, v);
    st32(p + 4, v >> 32);
}

static bool in_file(size_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

/* Guest RAM at [addr, addr + len), or die. */
static uint8_t *guest(struct vm *vm, uint64_t addr, uint64_t len)
{
    if (addr > vm->ram_size || len > vm->ram_size - addr) {
        die("payload wants 0x%llx bytes at 0x%llx, beyond RAM",
            (unsigned long long)len, (unsigned long long)addr);
    }
    return vm->ram + addr;
}

static void load_piece(struct vm *vm, const uint8_t *file, size_t size,
                       uint64_t paddr, uint64_t off, uint64_t filesz,
                       uint64_t memsz)
{
    if (!in_file(size, off, filesz) || filesz > memsz) {
        die("payload segment runs past the end of the file");
    }
    memcpy(guest(vm, paddr, memsz), file + off, filesz);
    memset(vm->ram + paddr + filesz, 0, memsz - filesz);
}

/* Loads ELF PT_LOADs by physical address; returns the end of the image. */
static uint64_t load_elf(struct vm *vm, const uint8_t *f, size_t size,
                         uint32_t *entry)
{
    bool is64 = size > 4 && f[4] == 2;
    uint64_t phoff, high = 0;
    unsigned phentsize, phnum;

    if (size < 64 || memcmp(f, "\177ELF", 4)) {
        die("payload is neither a.out-kludge Multiboot nor ELF");
    }
    phoff = is64 ? ld64(f + 32) : ld32(f + 28);
    phentsize = ld16(f + (is64 ? 54 : 42));
    phnum = ld16(f + (is64 ? 56 : 44));
    if (phentsize < (is64 ? 56u : 32u) ||
        !in_file(size, phoff, (uint64_t)phentsize * phnum)) {
        die("bad ELF program headers");
    }
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = f + phoff + (uint64_t)i * phentsize;
        uint64_t off, paddr, filesz, memsz;

        if (ld32(ph) != 1) {    /* PT_LOAD */
            continue;
        }
        off = is64 ? ld64(ph + 8) : ld32(ph + 4);
        paddr = is64 ? ld64(ph + 24) : ld32(ph + 12);
        filesz = is64 ? ld64(ph + 32) : ld32(ph + 16);
        memsz = is64 ? ld64(ph + 40) : ld32(ph + 20);
        load_piece(vm, f, size, paddr, off, filesz, memsz);
        if (paddr + memsz > high) {
            high = paddr + memsz;
        }
    }
    *entry = is64 ? ld64(f + 24) : ld32(f + 24);
    return high;
}

/* Multiboot header search and load (Multiboot 0.6.96, 3.1). */
static uint64_t load_multiboot(struct vm *vm, const uint8_t *f, size_t size,
                               uint32_t *entry)
{
    for (uint64_t off = 0; off + 12 <= size && off < 8192; off += 4) {
        const uint8_t *h = f + off;
        uint32_t flags = ld32(h + 4);
        uint32_t header_addr, load_addr, load_end, bss_end, text_off;
        uint64_t load_size;

        if (ld32(h) != MB_HEADER_MAGIC ||
            (uint32_t)(ld32(h) + flags + ld32(h + 8)) != 0) {
            continue;
        }
        if (!(flags & (1u << 16))) {
            return load_elf(vm, f, size, entry);
        }
        if (!in_file(size, off, 32)) {
            die("truncated Multiboot header");
        }
        header_addr = ld32(h + 12);
        load_addr = ld32(h + 16);
        load_end = ld32(h + 20);
        bss_end = ld32(h + 24);
        *entry = ld32(h + 28);
        if (load_addr > header_addr || header_addr - load_addr > off) {
            die("Multiboot header addresses do not match the file");
        }
        text_off = off - (header_addr - load_addr);
        load_size = load_end ? (uint64_t)load_end - load_addr
                             : size - text_off;
        if (load_end && load_end < load_addr) {
            die("Multiboot load_end_addr below load_addr");
        }
        if (bss_end && bss_end < load_addr + load_size) {
            die("Multiboot bss_end_addr below the loaded image");
        }
        load_piece(vm, f, size, load_addr, text_off, load_size,
                   bss_end ? bss_end - load_addr : load_size);
        return bss_end ? bss_end : load_addr + load_size;
    }
    die("no Multiboot header in the first 8 KiB");
}

/* MBI with the same content kvmpc's loader gives. */
static uint32_t write_mbi(struct vm *vm, uint64_t kernel_end,
                          const char *cmdline)
{
    const struct { uint64_t addr, size; uint32_t type; } map[] = {
        { 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 },
        { 0x100000, vm->ram_size - 0x100000, 1 },
    };
    uint64_t base = (kernel_end + 4095) & ~4095ULL;
    size_t cmd_len = strlen(cmdline) + 1;
    uint64_t mmap = base + 88, str = mmap + sizeof(map) / sizeof(map[0]) * 24;
    uint8_t *mbi = guest(vm, base, str + cmd_len + 6 - base);

    memset(mbi, 0, 88);
    st32(mbi, 1 | 2 | 4 | 8 | 64 | 512);    /* mem, boot dev, cmdline,
                                               mods, mmap, loader name */
    st32(mbi + 4, 639);
    st32(mbi + 8, (vm->ram_size - 0x100000) / 1024);
    st32(mbi + 12, 0x8000ffff);
    st32(mbi + 16, str);
    st32(mbi + 24, base + 88);              /* no modules */
    st32(mbi + 44, sizeof(map) / sizeof(map[0]) * 24);
    st32(mbi + 48, mmap);
    for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        uint8_t *e = vm->ram + mmap + i * 24;
        st32(e, 20);
        st64(e + 4, map[i].addr);
        st64(e + 12, map[i].size);
        st32(e + 20, map[i].type);
    }
    memcpy(vm->ram + str, cmdline, cmd_len);
    memcpy(vm->ram + str + cmd_len, "kvmpc", 6);
    st32(mbi + 64, str + cmd_len);
    return base;
}

static uint8_t *read_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t *buf;
    size_t got = 0;

    if (fd < 0 || fstat(fd, &st) < 0) {
        die("cannot open '%s': %s", path, strerror(errno));
    }
    buf = malloc(st.st_size ? st.st_size : 1);
    if (!buf) {
        die("out of memory");
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, st.st_size - got);
        if (n <= 0) {
            die("cannot read '%s'", path);
        }
        got += n;
    }
    close(fd);
    *size = got;
    return buf;
}

static int xioctl(int fd, unsigned long req, void *arg, const char *name)
{
    int ret = ioctl(fd, req, arg);

    if (ret < 0) {
        die("%s: %s", name, strerror(errno));
    }
    return ret;
}

static void create_vm(struct vm *vm)
{
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    struct kvm_userspace_memory_region mem = { 0 };
    uint64_t identity = 0xfeffc000;

    vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm < 0) {
        die("cannot open /dev/kvm: %s", strerror(errno));
    }
    vm->fd = xioctl(vm->kvm, KVM_CREATE_VM, 0, "KVM_CREATE_VM");
    ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &identity);
    xioctl(vm->fd, KVM_SET_TSS_ADDR, (void *)0xfeffd000UL, "KVM_SET_TSS_ADDR");
    xioctl(vm->fd, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
    xioctl(vm->fd, KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2");
    vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (vm->ram == MAP_FAILED) {
        die("cannot allocate guest RAM");
    }
    mem.memory_size = vm->ram_size;
    mem.userspace_addr = (uintptr_t)vm->ram;
    xioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &mem,
           "KVM_SET_USER_MEMORY_REGION");
}

static void setup_cpuid(struct vm *vm)
{
    const unsigned max = 128;
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
                                  max * sizeof(struct kvm_cpuid_entry2));

    c->nent = max;
    xioctl(vm->kvm, KVM_GET_SUPPORTED_CPUID, c, "KVM_GET_SUPPORTED_CPUID");
    for (unsigned i = 0; i < c->nent; i++) {
        if (c->entries[i].function == 1) {
            c->entries[i].ebx &= 0x0000ffff;    /* APIC ID 0, 1 CPU */
            c->entries[i].ecx |= 1u << 31;      /* hypervisor */
        }
    }
    xioctl(vm->vcpu, KVM_SET_CPUID2, c, "KVM_SET_CPUID2");
    free(c);
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
    *s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff,
                               .selector = sel, .type = type, .present = 1,
                               .s = 1, .db = 1, .g = 1 };
}

/* Flat 32-bit protected mode at @entry (Multiboot 0.6.96, 3.2). */
static void setup_vcpu(struct vm *vm, uint32_t entry, uint32_t mbi)
{
    static const uint64_t gdt[4] = { 0, 0, 0x00cf9b000000ffffULL,
                                     0x00cf93000000ffffULL };
    struct kvm_sregs sregs;
    struct kvm_regs regs = { .rflags = 2, .rip = entry,
                             .rax = MB_BOOT_MAGIC, .rbx = mbi };

    for (unsigned i = 0; i < 4; i++) {
        st64(guest(vm, GDT_ADDR + i * 8, 8), gdt[i]);
    }
    xioctl(vm->vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
    flat_segment(&sregs.cs, 0x10, 0xb);
    flat_segment(&sregs.ds, 0x18, 0x3);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.gdt.base = GDT_ADDR;
    sregs.gdt.limit = sizeof(gdt) - 1;
    sregs.cr0 = 0x11;
    xioctl(vm->vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
    xioctl(vm->vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

static unsigned long long exits;

static void handle_io(struct vm *vm)
{
    struct kvm_run *r = vm->run;
    uint8_t *data = (uint8_t *)r + r->io.data_offset;
    unsigned size = r->io.size, count = r->io.count;

    if (r->io.data_offset > (uint64_t)vm->run_size ||
        (uint64_t)size * count > vm->run_size - r->io.data_offset) {
        die("malformed PIO exit");
    }
    for (unsigned i = 0; i < count; i++, data += size) {
        uint32_t v = size == 1 ? data[0] : size == 2 ? ld16(data) : ld32(data);

        if (r->io.direction == KVM_EXIT_IO_OUT) {
            if (r->io.port == DEBUG_EXIT_PORT) {
                fflush(stdout);
                exit((v << 1) | 1);
            }
            if (r->io.port == COM1) {
                putchar(v & 0xff);
            }
        } else {
            memset(data, r->io.port == COM1 + 5 ? 0 : 0xff, size);
            if (r->io.port == COM1 + 5) {
                data[0] = 0x60;
            }
        }
    }
}

static void run(struct vm *vm)
{
    for (;;) {
        if (ioctl(vm->vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            die("KVM_RUN: %s", strerror(errno));
        }
        exits++;
        switch (vm->run->exit_reason) {
        case KVM_EXIT_IO:
            handle_io(vm);
            break;
        case KVM_EXIT_MMIO:
            if (!vm->run->mmio.is_write) {
                memset(vm->run->mmio.data, 0xff, sizeof(vm->run->mmio.data));
            }
            break;
        case KVM_EXIT_HLT:
        case KVM_EXIT_SHUTDOWN:
            fflush(stdout);
            exit(0);
        case KVM_EXIT_INTERNAL_ERROR:
            die("KVM internal error, suberror %u",
                vm->run->internal.suberror);
        case KVM_EXIT_FAIL_ENTRY:
            die("KVM entry failed, reason 0x%llx",
                (unsigned long long)
                vm->run->fail_entry.hardware_entry_failure_reason);
        default:
            break;
        }
    }
}

static void report_exits(void)
{
    fprintf(stderr, "raw-kvm-loop: %llu exits\n", exits);
}

int main(int argc, char **argv)
{
    struct vm vm = { .ram_size = 128ULL << 20 };
    const char *cmdline = "", *path = NULL;
    uint32_t entry = 0, mbi;
    uint64_t end;
    uint8_t *file;
    size_t size;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc) {
            vm.ram_size = strtoull(argv[++i], NULL, 0) << 20;
        } else if (!strcmp(argv[i], "-append") && i + 1 < argc) {
            cmdline = argv[++i];
        } else if (!strcmp(argv[i], "-v")) {
            atexit(report_exits);
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            die("usage: raw-kvm-loop [-m MiB] [-append CMDLINE] [-v] "
                "PAYLOAD");
        }
    }
    if (!path || vm.ram_size < (2ULL << 20) || vm.ram_size > (3ULL << 30)) {
        die("usage: raw-kvm-loop [-m MiB (2-3072)] [-append CMDLINE] [-v] "
            "PAYLOAD");
    }
    create_vm(&vm);
    file = read_file(path, &size);
    end = load_multiboot(&vm, file, size, &entry);
    mbi = write_mbi(&vm, end, cmdline);
    free(file);
    vm.vcpu = xioctl(vm.fd, KVM_CREATE_VCPU, 0, "KVM_CREATE_VCPU");
    vm.run_size = xioctl(vm.kvm, KVM_GET_VCPU_MMAP_SIZE, 0,
                         "KVM_GET_VCPU_MMAP_SIZE");
    vm.run = mmap(NULL, vm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                  vm.vcpu, 0);
    if (vm.run == MAP_FAILED) {
        die("cannot map the vCPU run area");
    }
    setup_cpuid(&vm);
    setup_vcpu(&vm, entry, mbi);
    run(&vm);
}
