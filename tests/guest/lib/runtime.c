/*
 * Guest runtime core: per-CPU setup at CPL 0 (IDT, TSS), the interrupt
 * and exception dispatchers, the drop to CPL 3, exit, CPL 0 helpers and
 * paging above 4 GiB.
 *
 * Code that runs at CPL 0 is emulated one instruction at a time on the
 * development hosts (about a million instructions a second), so it is
 * kept to the minimum: descriptor setup once per CPU and the dispatchers.
 */
#include "guest.h"
#include "bootproto.h"

/* From start.S */
extern uint8_t isr_table[];
extern void cpl0_gate(void);
extern uint64_t gdt[];
extern uint8_t tss_area[], iobitmap[];
extern uint8_t idt[];
extern uint8_t kstacks[], istacks[], ustacks[];
extern uint64_t pdpt[];
extern noreturn void enter_user(void (*entry)(uint64_t), uint64_t stack_top, uint64_t arg);

void bsp_start_cpl0(void);
void ap_start_cpl0(int cpu);
void exception_dispatch(struct exc_frame *f);
void irq_dispatch(uint64_t vector);
void ap_user_entry(uint64_t cpu);           /* smp.c */
void bootinfo_parse(void);                  /* bootinfo.c */
void console_emergency(void);               /* serial.c */

/* Written before the BSS is cleared: must live in .data. */
static bool idt_ready __attribute__((section(".data")));

static irq_handler_t irq_handlers[256];
static exc_handler_t exc_handlers[32];
volatile uint32_t irq_unexpected_count;
volatile uint32_t irq_unexpected_last;
volatile uint32_t irq_spurious_count;

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

static inline uint64_t kstack_top(int cpu) { return (uint64_t)kstacks + (uint64_t)(cpu + 1) * KSTACK_SIZE; }
static inline uint64_t istack_top(int cpu) { return (uint64_t)istacks + (uint64_t)(cpu + 1) * ISTACK_SIZE; }
static inline uint64_t ustack_top(int cpu) { return (uint64_t)ustacks + (uint64_t)(cpu + 1) * USTACK_SIZE; }

static void idt_set(int vec, uint64_t handler, int dpl, int ist)
{
    uint8_t *e = idt + 16 * vec;
    uint32_t lo = (uint32_t)(handler & 0xffff) | ((uint32_t)KCODE64 << 16);
    uint32_t hi = (uint32_t)(handler & 0xffff0000) | 0x8e00u | ((uint32_t)dpl << 13) | (uint32_t)ist;
    *(uint32_t *)(e + 0) = lo;
    *(uint32_t *)(e + 4) = hi;
    *(uint64_t *)(e + 8) = handler >> 32;
}

static void idt_init(void)
{
    for (int v = 0; v < 256; v++) {
        int ist = (v == 2 || v == 8 || v == 18) ? 1 : 0;
        idt_set(v, (uint64_t)(isr_table + 16 * v), 0, ist);
    }
    idt_set(3, (uint64_t)cpl0_gate, 3, 0);              /* int3: cpl0_call() */
    idt_ready = true;
}

/* Per-CPU descriptor setup, at CPL 0. */
static inline uint64_t rdmsr_cpl0(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr_cpl0(uint32_t msr, uint64_t v)
{
    asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static void cpu_init_cpl0(int cpu)
{
    struct tss64 *tss = (struct tss64 *)(tss_area + TSS_STRIDE * cpu);
    uint64_t base = (uint64_t)tss;
    uint64_t iomap = (uint64_t)iobitmap - base;
    uint64_t limit = iomap + IOBITMAP_SIZE;     /* covers the 0xff byte */

    tss->rsp[0] = kstack_top(cpu);
    tss->ist[0] = istack_top(cpu);
    tss->iomap_base = (uint16_t)iomap;

    uint64_t *d = &gdt[TSS_SEL(cpu) / 8];
    d[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
           (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    d[1] = base >> 32;

    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = {
        256 * 16 - 1, (uint64_t)idt
    };
    asm volatile("lidt %0" :: "m"(idtr));
    asm volatile("ltr %w0" :: "r"(TSS_SEL(cpu)));
}

static noreturn void user_start(uint64_t arg);

void bsp_start_cpl0(void)
{
    if (!idt_ready)
        idt_init();
    cpu_init_cpl0(0);
    enter_user(user_start, ustack_top(0), 0);
}

void ap_start_cpl0(int cpu)
{
    cpu_init_cpl0(cpu);
    enter_user(ap_user_entry, ustack_top(cpu), (uint64_t)cpu);
}

/* ---- CPL 3 start ---- */

/* Payloads that inspect the 8259s as the loader left them override this
 * (guest.h); the default does nothing. */
__attribute__((weak)) void payload_early(void)
{
}

static noreturn void user_start(uint64_t arg)
{
    (void)arg;
    memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
    serial_init();
    payload_early();
    pic_init();
    bootinfo_parse();
    printf("guest: %s entry, cmdline \"%s\"\n", boot_protocol_name(boot.protocol), boot.cmdline);
    exit(main());
}

/* ---- dispatchers (CPL 0) ---- */

void irq_dispatch(uint64_t vector)
{
    irq_handler_t h = irq_handlers[vector & 0xff];
    if (h) {
        h((int)vector);
        return;
    }
    if (vector == SPURIOUS_VECTOR || vector == PIC_VECTOR_BASE + 7 || vector == PIC_VECTOR_BASE + 15) {
        /* LAPIC or 8259 spurious interrupt: no EOI */
        irq_spurious_count++;
        return;
    }
    irq_unexpected_count++;
    irq_unexpected_last = (uint32_t)vector;
    if (vector >= PIC_VECTOR_BASE && vector < PIC_VECTOR_BASE + 16)
        pic_eoi((unsigned)(vector - PIC_VECTOR_BASE));
    else
        lapic_eoi();
}

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
    "#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
    "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

static inline uint64_t read_cr2_cpl0(void)
{
    uint64_t v;
    asm volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

void exception_dispatch(struct exc_frame *f)
{
    unsigned v = (unsigned)f->vector;
    if (v < 32 && exc_handlers[v] && exc_handlers[v](f))
        return;
    console_emergency();
    printf("FAIL: unexpected exception %s (vector %u) error code 0x%lx at rip 0x%lx "
           "(cs 0x%lx, rflags 0x%lx, rsp 0x%lx, ss 0x%lx)",
           v < 32 ? exc_names[v] : "?", v, f->error_code, f->rip, f->cs, f->rflags, f->rsp, f->ss);
    if (v == 14)
        printf(" cr2 0x%lx", read_cr2_cpl0());
    printf("\n  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n"
           "  rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n"
           "  r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n"
           "  r13 %016lx r14 %016lx r15 %016lx\n",
           f->rax, f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp, f->r8,
           f->r9, f->r10, f->r11, f->r12, f->r13, f->r14, f->r15);
    exit(2);
}

void irq_set_handler(int vector, irq_handler_t fn)
{
    irq_handlers[vector & 0xff] = fn;
}

void exception_set_handler(int vector, exc_handler_t fn)
{
    if (vector >= 0 && vector < 32)
        exc_handlers[vector] = fn;
}

/* ---- CPL 0 helpers ---- */

static inline int current_cpl(void)
{
    uint16_t cs;
    asm volatile("mov %%cs, %0" : "=r"(cs));
    return cs & 3;
}

static uint64_t cpl0_rdmsr(uint64_t msr, uint64_t unused)
{
    return rdmsr_cpl0((uint32_t)msr);
}

static uint64_t cpl0_wrmsr(uint64_t msr, uint64_t v)
{
    wrmsr_cpl0((uint32_t)msr, v);
    return 0;
}

static uint64_t cpl0_read_cr(uint64_t which, uint64_t unused)
{
    uint64_t v = 0;
    switch (which) {
    case 0: asm volatile("mov %%cr0, %0" : "=r"(v)); break;
    case 3: asm volatile("mov %%cr3, %0" : "=r"(v)); break;
    case 4: asm volatile("mov %%cr4, %0" : "=r"(v)); break;
    }
    return v;
}

static uint64_t cpl0_flush_tlb(uint64_t a, uint64_t b)
{
    uint64_t v;
    asm volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(v) :: "memory");
    return 0;
}

static uint64_t cpl0_wait_irq(uint64_t a, uint64_t b)
{
    asm volatile("sti; hlt; cli" ::: "memory");
    return 0;
}

static uint64_t cpl0_halt(uint64_t a, uint64_t b)
{
    for (;;)
        asm volatile("cli; hlt");
    __builtin_unreachable();
}

static uint64_t cpl0_cpuid(uint64_t leaves, uint64_t out)
{
    *(struct cpuid *)out = cpuid_native((uint32_t)leaves, (uint32_t)(leaves >> 32));
    return 0;
}

struct cpuid cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid r;
    cpl0_call(cpl0_cpuid, leaf | (uint64_t)subleaf << 32, (uint64_t)&r);
    return r;
}

uint64_t rdmsr(uint32_t msr) { return cpl0_call(cpl0_rdmsr, msr, 0); }
void wrmsr(uint32_t msr, uint64_t v) { cpl0_call(cpl0_wrmsr, msr, v); }
uint64_t read_cr0(void) { return cpl0_call(cpl0_read_cr, 0, 0); }
uint64_t read_cr3(void) { return cpl0_call(cpl0_read_cr, 3, 0); }
uint64_t read_cr4(void) { return cpl0_call(cpl0_read_cr, 4, 0); }
void flush_tlb(void) { cpl0_call(cpl0_flush_tlb, 0, 0); }
void wait_for_interrupt(void) { cpl0_call(cpl0_wait_irq, 0, 0); }

noreturn void halt_forever(void)
{
    if (current_cpl() == 0)
        cpl0_halt(0, 0);
    cpl0_call(cpl0_halt, 0, 0);
    for (;;)
        ;
}

noreturn void exit(int code)
{
    console_release();
    outl(DEBUG_EXIT_PORT, (uint32_t)code);
    printf("exit(%d): isa-debug-exit at port 0x%x did not stop the machine\n", code, DEBUG_EXIT_PORT);
    halt_forever();
}

/* ---- paging above 4 GiB ---- */

#define PD_HIGH_GIB 60                          /* 4 GiB .. 64 GiB */
static uint64_t pd_high[PD_HIGH_GIB][512] __attribute__((aligned(4096)));

bool paging_map_up_to(uint64_t end)
{
    uint64_t gibs = (end + (1ull << 30) - 1) >> 30;
    bool ok = true;
    if (gibs > 4 + PD_HIGH_GIB) {
        gibs = 4 + PD_HIGH_GIB;
        ok = false;
    }
    bool changed = false;
    for (uint64_t g = 4; g < gibs; g++) {
        if (pdpt[g])
            continue;
        uint64_t *pd = pd_high[g - 4];
        for (uint64_t i = 0; i < 512; i++)
            pd[i] = (g << 30) | (i << 21) | 0x87;
        barrier();
        pdpt[g] = (uint64_t)pd | 0x7;
        changed = true;
    }
    if (changed)
        flush_tlb();
    return ok;
}
