/*
 * kvmpc guest test runtime: the API a payload's main() uses.
 *
 * A payload's main() runs at CPL 3 (port I/O allowed by the TSS I/O
 * bitmap; IOPL is 3 too where the host honours it), on an identity map of
 * physical memory (RAM and device MMIO are user accessible).  Interrupt
 * handlers registered with irq_set_handler() run at CPL 0; keep them tiny
 * (count, EOI).
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asm-defs.h"

#define noreturn __attribute__((noreturn))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PRINTF_FMT(f, a) __attribute__((format(printf, f, a)))

/* ---- port I/O and MMIO ---- */

static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint8_t mmio_read8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uintptr_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t mmio_read64(uintptr_t a) { return *(volatile uint64_t *)a; }
static inline void mmio_write8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void mmio_write64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

/* ---- CPU ---- */

struct cpuid { uint32_t a, b, c, d; };

static inline struct cpuid cpuid_native(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid r;
    asm volatile("cpuid" : "=a"(r.a), "=b"(r.b), "=c"(r.c), "=d"(r.d) : "a"(leaf), "c"(subleaf));
    return r;
}

/* The guest's CPUID.  Executed at CPL 0: on the development hosts (PVM)
 * CPUID at CPL 3 runs natively and returns the host's values. */
struct cpuid cpuid(uint32_t leaf, uint32_t subleaf);

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void) { asm volatile("pause" ::: "memory"); }
static inline void barrier(void) { asm volatile("" ::: "memory"); }

static inline uint64_t read_rflags(void)
{
    uint64_t f;
    asm volatile("pushfq; popq %0" : "=r"(f));
    return f;
}

/*
 * CPL 3 -> CPL 0 goes through int3, whose IDT gate (cpl0_gate in start.S)
 * has DPL 3; rdx = GATE_MAGIC tells a call from a stray int3.  rax = a
 * function, called at CPL 0 with rdi, rsi, interrupts off, and its result
 * returned in rax; or rax = GATE_STI / GATE_CLI, which set or clear IF in
 * the RFLAGS that iretq restores.
 *
 * Why not cli/sti, `int n` or syscall at CPL 3: on the development hosts
 * (KVM's PVM flavour) RFLAGS.IOPL of CPL 3 code is forced to 0, so cli/sti
 * fault; `int n` (n != 3) raises #UD; and syscall reaches LSTAR without
 * leaving CPL 3.  pushf at CPL 3 there always shows IF=1; the guest's own
 * IF is what it set through these calls.
 */
#define GATE_STI 1
#define GATE_CLI 2

typedef uint64_t (*cpl0_fn)(uint64_t a, uint64_t b);

static inline uint64_t cpl0_call(cpl0_fn fn, uint64_t a, uint64_t b)
{
    register uint64_t rax asm("rax") = (uint64_t)fn;
    register uint64_t rdi asm("rdi") = a;
    register uint64_t rsi asm("rsi") = b;
    register uint64_t rdx asm("rdx") = GATE_MAGIC;
    asm volatile("int3"
                 : "+r"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx)
                 :
                 : "rcx", "r8", "r9", "r10", "r11", "memory", "cc");
    return rax;
}

/* Enable/disable interrupts for the calling CPL 3 code. */
static inline void irq_enable(void)
{
    asm volatile("int3" :: "a"(GATE_STI), "d"(GATE_MAGIC) : "memory", "cc");
}

static inline void irq_disable(void)
{
    asm volatile("int3" :: "a"(GATE_CLI), "d"(GATE_MAGIC) : "memory", "cc");
}

uint64_t rdmsr(uint32_t msr);               /* via cpl0_call */
void wrmsr(uint32_t msr, uint64_t value);   /* via cpl0_call */
uint64_t read_cr0(void);
uint64_t read_cr3(void);
uint64_t read_cr4(void);
void flush_tlb(void);
/* sti; hlt at CPL 0: sleeps until the next interrupt has been handled. */
void wait_for_interrupt(void);
noreturn void halt_forever(void);

/* ---- console, printf ---- */

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_FMT(3, 4);
int printf(const char *fmt, ...) PRINTF_FMT(1, 2);
int vprintf(const char *fmt, va_list ap);
int puts(const char *s);            /* appends '\n' */
void console_write(const char *s, size_t len);
/* While held, console output is kept in memory (e.g. while the test uses
 * the UART in loopback mode) and written out by console_release(). */
void console_hold(void);
void console_release(void);

/* COM1 16550 */
#define COM1 0x3f8
void serial_init(void);             /* 115200 8N1, FIFOs on, IER 0, MCR DTR|RTS */
bool serial_has_fifo(void);
/* A received byte (polled), or -1 after @timeout_us. */
int serial_getc(uint64_t timeout_us);

/* ---- exit and reporting ---- */

/* isa-debug-exit: QEMU and kvmpc exit with status (code << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4
noreturn void exit(int code);

void report(bool pass, const char *fmt, ...) PRINTF_FMT(2, 3);
void report_skip(const char *fmt, ...) PRINTF_FMT(1, 2);
void report_info(const char *fmt, ...) PRINTF_FMT(1, 2);
/* Prefix for the following report lines ("serial: ..."), NULL for none. */
void report_prefix(const char *prefix);
int report_failures(void);
/* Prints "SUMMARY: N tests, M failures" and exits 0 if M == 0, else 1. */
noreturn void report_summary(void);

/* ---- boot information (from whichever protocol booted the payload) ---- */

#define E820_RAM        1
#define E820_RESERVED   2
#define E820_ACPI       3
#define E820_NVS        4
#define E820_UNUSABLE   5

struct mem_range {
    uint64_t base, len;
    uint32_t type;
};

struct boot_module {
    uint64_t start, end;
    const char *string;
};

#define BOOT_MAX_MEM    128
#define BOOT_MAX_MODS   16
#define BOOT_MAX_DATA   (BOOT_MAX_MODS + 8)

struct boot_info {
    int protocol;                   /* BOOT_* */
    uint64_t raw;                   /* multiboot info / boot_params / hvm_start_info */
    uint32_t mb_magic;              /* EAX at a multiboot entry */
    const char *cmdline;            /* never NULL */
    int nr_mem;
    struct mem_range mem[BOOT_MAX_MEM];
    int nr_mods;
    struct boot_module mods[BOOT_MAX_MODS];
    /* Memory holding loader-provided data (info structures, memory map,
     * command line, modules): tests must not overwrite it. */
    int nr_data;
    struct { uint64_t start, end; } data[BOOT_MAX_DATA];
};

extern struct boot_info boot;

/* Value of "key=value" in the command line, copied to buf; NULL if absent.
 * A bare "key" gives "". */
const char *cmdline_get(const char *key, char *buf, size_t size);
long cmdline_get_int(const char *key, long dflt);
/* Highest end address of usable RAM, and total usable RAM. */
uint64_t boot_ram_top(void);
uint64_t boot_ram_total(void);
/* True if [start, end) overlaps the payload image, its stacks or loader
 * data recorded in boot.data. */
bool boot_range_in_use(uint64_t start, uint64_t end);
const char *boot_protocol_name(int protocol);

extern char __image_start[], _edata[], __bss_start[], __bss_end[], _end[];

/* ---- ACPI RSDP (lib/acpi.c) ---- */

struct rsdp {
    char sig[8];
    uint8_t cksum;
    char oem[6];
    uint8_t rev;
    uint32_t rsdt;
    uint32_t len;                   /* revision >= 2 */
    uint64_t xsdt;
    uint8_t xcksum, reserved[3];
} __attribute__((packed));

/* Byte sum (ACPI checksums make it 0). */
uint8_t sum8(const void *p, uint32_t len);
/* A valid RSDP at physical address a (signature, both checksums). */
bool rsdp_valid(uint64_t a);
/* The first valid RSDP in [start, end) on 16-byte boundaries, or 0. */
uint64_t rsdp_scan_range(uint64_t start, uint64_t end);
/* The RSDP address the boot protocol gave (PVH, Linux), or 0. */
uint64_t rsdp_from_boot(void);
/* The physical address of the table with signature @sig that the RSDT
 * lists (RSDP from the boot protocol, else the IA-PC scan), checksum
 * valid; 0 if none. */
uint64_t acpi_find_table(const char *sig);
/* The same, for the table whose OEM table id (header offset 16, 8 bytes,
 * NUL-padded) is @oem_table_id (NULL: any): one SSDT among several. */
uint64_t acpi_find_table_id(const char *sig, const char *oem_table_id);
/* The FADT's GPE0 block (status bytes first, then enable), or 0. */
uint16_t acpi_gpe0_block(void);
/* Take the SCI (the FADT's SCI_INT through the I/O APIC, level, active
 * high) on @vector with @gpe_bits enabled in GPE0_EN, after switching the
 * chipset to ACPI mode if SCI_EN was clear (SMI_CMD <- ACPI_ENABLE, as an
 * OS does): its handler ORs the
 * GPE0 status bits it finds into acpi_gpe_seen and clears them.  Enables
 * the LAPIC and interrupts; false without a FADT or a GPE0 block. */
bool acpi_sci_enable(uint8_t gpe_bits, unsigned vector);
extern volatile uint32_t acpi_gpe_seen;
/* Wait until an SCI reported GPE0 status @bit (then forget it). */
bool acpi_wait_gpe(uint8_t bit, uint64_t timeout_us);

/* ---- PCI (lib/pci.c): configuration mechanism #1 ---- */

/* A function's name for the accessors: bus << 8 | devfn; a plain devfn
 * (< 256) is a function of bus 0. */
#define PCI_BDF(bus, dev, fn) ((unsigned)(bus) << 8 | (dev) << 3 | (fn))

uint32_t pci_cfg_read32(unsigned bdf, unsigned off);
void pci_cfg_write32(unsigned bdf, unsigned off, uint32_t v);
uint8_t pci_cfg_read8(unsigned bdf, unsigned off);
uint16_t pci_cfg_read16(unsigned bdf, unsigned off);
void pci_cfg_write16(unsigned bdf, unsigned off, uint16_t v);
/* The first function of bus 0 whose register 0 (device << 16 | vendor)
 * is one of the @n @ids, or -1. */
int pci_find_id(const uint32_t *ids, unsigned n);

/* The modern transport's common configuration (VIRTIO 1.2, 4.1.4.3):
 * register offsets from virtio_pci_caps.common. */
#define C_DFSELECT      0x00
#define C_DF            0x04
#define C_GFSELECT      0x08
#define C_GF            0x0c
#define C_STATUS        0x14
#define C_Q_SELECT      0x16
#define C_Q_SIZE        0x18
#define C_Q_MSIX        0x1a
#define C_Q_ENABLE      0x1c
#define C_Q_NOFF        0x1e
#define C_Q_DESC        0x20
#define C_Q_AVAIL       0x28
#define C_Q_USED        0x30
#define C_Q_RESET       0x3a

/* A split virtqueue's descriptor (VIRTIO 1.2, 2.7.5); flags NEXT = 1,
 * WRITE = 2 (device-writable), INDIRECT = 4.  used->flags bit 0 is
 * VRING_USED_F_NO_NOTIFY (2.7.7.2: the device asks for no kicks). */
struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* Where the virtio PCI capabilities (VIRTIO 1.2, 4.1.4) put the modern
 * transport's structures (0: not found). */
struct virtio_pci_caps {
    uintptr_t common, notify, isr, device;
    uint32_t notify_mult;
};
/* Place BAR 4 at @bar4, turn on memory decoding and bus mastering, and
 * walk the capabilities of the structures in BAR 4 (@bdf: any bus). */
void virtio_pci_map(unsigned bdf, uintptr_t bar4,
                    struct virtio_pci_caps *c);

/* ---- paging ---- */

/* Identity-map [0, end) (the first 4 GiB are always mapped), up to 64 GiB.
 * Returns false if end is beyond what the runtime can map. */
bool paging_map_up_to(uint64_t end);

/* ---- interrupts ---- */

typedef void (*irq_handler_t)(int vector);
/* Handlers run at CPL 0 with interrupts off and must acknowledge the
 * interrupt themselves (lapic_eoi(), pic_eoi()). */
void irq_set_handler(int vector, irq_handler_t fn);

struct exc_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};
/* A handler returns true when it has fixed the frame up (e.g. advanced
 * rip); false reports the exception and exits with a failure. */
typedef bool (*exc_handler_t)(struct exc_frame *f);
void exception_set_handler(int vector, exc_handler_t fn);

/* Interrupts that had no handler (counted at CPL 0; report_summary()
 * turns them into a failure). */
extern volatile uint32_t irq_unexpected_count;
extern volatile uint32_t irq_unexpected_last;
/* LAPIC (0xff) and 8259 (IRQ 7, 15) spurious interrupts: reported only. */
extern volatile uint32_t irq_spurious_count;

/* Local APIC (xAPIC MMIO) */
#define LAPIC_BASE      0xfee00000UL
#define LAPIC_ID        0x020
#define LAPIC_VERSION   0x030
#define LAPIC_TPR       0x080
#define LAPIC_EOI       0x0b0
#define LAPIC_LDR       0x0d0
#define LAPIC_DFR       0x0e0
#define LAPIC_SVR       0x0f0
#define LAPIC_ISR       0x100
#define LAPIC_IRR       0x200
#define LAPIC_ESR       0x280
#define LAPIC_ICR_LO    0x300
#define LAPIC_ICR_HI    0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_ICR 0x380
#define LAPIC_TIMER_CCR 0x390
#define LAPIC_TIMER_DCR 0x3e0

#define LVT_MASKED          (1u << 16)
#define LVT_TIMER_PERIODIC  (1u << 17)
#define LVT_TIMER_TSCDEADLINE (2u << 17)
#define LVT_EXTINT          (7u << 8)

static inline uint32_t lapic_read(unsigned reg) { return mmio_read32(LAPIC_BASE + reg); }
static inline void lapic_write(unsigned reg, uint32_t v) { mmio_write32(LAPIC_BASE + reg, v); }
static inline void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }
static inline unsigned lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }
/* Software-enable this CPU's LAPIC, spurious vector 0xff, TPR 0. */
void lapic_enable(void);
/* Send an IPI: icr_lo as in the ICR low word, dest = APIC ID. */
void lapic_send_ipi(unsigned dest, uint32_t icr_lo);

/* I/O APIC */
#define IOAPIC_BASE     0xfec00000UL
uint32_t ioapic_read(unsigned reg);
void ioapic_write(unsigned reg, uint32_t v);
unsigned ioapic_max_pin(void);      /* from the version register */
#define IOAPIC_LEVEL    (1u << 15)
#define IOAPIC_LOW      (1u << 13)
#define IOAPIC_MASKED   (1u << 16)
/* Route pin to vector on the CPU with APIC ID dest, fixed delivery,
 * physical destination; flags: IOAPIC_LEVEL, IOAPIC_LOW, IOAPIC_MASKED. */
void ioapic_route(unsigned pin, unsigned vector, unsigned dest, uint32_t flags);
void ioapic_mask(unsigned pin);

/*
 * Called at CPL 3 once the console works and before the runtime
 * reprograms the 8259s (pic_init) and parses the boot information, with
 * interrupts off.  A payload that wants the PICs as the loader or the
 * firmware left them defines it; the runtime's default is empty.
 */
void payload_early(void);

/* 8259 PICs, remapped to PIC_VECTOR_BASE by the runtime, all masked. */
void pic_init(void);
void pic_unmask(unsigned irq);
void pic_mask(unsigned irq);
void pic_eoi(unsigned irq);         /* usable at CPL 0 and 3 */
/* Let the PIC's INTR through the BSP's LINT0 (ExtINT) */
void lapic_lint0_extint(bool enable);

/* ---- time ---- */

uint64_t tsc_hz(void);              /* calibrated with PIT channel 2 on first use */
void udelay(uint64_t us);
/* TSC value us microseconds from now, for timeouts. */
uint64_t deadline_us(uint64_t us);
static inline bool expired(uint64_t deadline) { return (int64_t)(rdtsc() - deadline) >= 0; }
uint64_t tsc_to_us(uint64_t ticks);

/* Wait until cond is true or timeout_us passes; evaluates to cond. */
#define wait_until(cond, timeout_us) ({                         \
    uint64_t __dl = deadline_us(timeout_us);                    \
    bool __ok;                                                  \
    while (!(__ok = !!(cond)) && !expired(__dl))                \
        cpu_relax();                                            \
    __ok;                                                       \
})

/* ---- SMP ---- */

/* Start every AP with INIT-SIPI-SIPI (broadcast); each runs fn(cpu) at
 * CPL 3 on its own stacks, cpu = 1, 2, ... in the order they came up, and
 * then idles with interrupts on.  Waits until expected_aps have called in
 * or timeout_us passed; returns the number that called in. */
int smp_start_aps(void (*fn)(int cpu), int expected_aps, uint64_t timeout_us);
/* Start the one AP with this APIC ID (INIT-SIPI-SIPI to it), fn as above;
 * true once it ran fn to the end within timeout_us. */
bool smp_start_ap(unsigned apic_id, void (*fn)(int cpu), uint64_t timeout_us);
/* Number of APs that ran their fn to the end. */
int smp_aps_done(void);

/* ---- strings and memory ---- */

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strstr(const char *h, const char *n);
unsigned long strtoul(const char *s, char **end, int base);
long strtol(const char *s, char **end, int base);

/* Deterministic byte stream shared with gen-testdata.py (xorshift32):
 * the files the build generates (initrd, modules) hold testdata_byte(i). */
#define TESTDATA_SEED 0x2545f491u
struct testdata { uint32_t state; };
static inline void testdata_init(struct testdata *t) { t->state = TESTDATA_SEED; }
static inline uint8_t testdata_next(struct testdata *t)
{
    uint32_t x = t->state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    t->state = x;
    return (uint8_t)(x >> 24);
}
/* Number of leading bytes of buf[0..len) that match the stream. */
size_t testdata_check(const void *buf, size_t len);

int main(void);

#endif
