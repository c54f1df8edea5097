/*
 * bios-state: the PC conventions a BIOS leaves behind for the OS, read
 * the same way after SeaBIOS and after kvmpc's direct kernel boot.
 *
 *   - The two 8259As (Intel 8259A datasheet: OCW1 = IMR at ports 0x21 /
 *     0xa1, OCW3 selects IRR or ISR for a read of 0x20 / 0xa0; the
 *     PIIX3's edge/level control registers ELCR1/ELCR2 at 0x4d0/0x4d1,
 *     PIIX3 datasheet 2.2.4): IMR, ELCR and ISR are read before the
 *     runtime reprograms the PICs (payload_early); the vector bases (ICW2,
 *     which cannot be read back) by taking a real interrupt: PIT IRQ 0
 *     on the master, RTC IRQ 8 on the slave.
 *   - The real-mode interrupt vector table (0x0000-0x03ff, 256 far
 *     pointers offset:segment): which entries are zero (the user vectors
 *     a BIOS leaves free), that every other entry points into the BIOS
 *     area 0xe0000-0xfffff and outside RAM, and what the handler code is:
 *     a bare IRET, an 8259 EOI then IRET (master: OCW2 0x20 to port 0x20;
 *     slave: to 0xa0, then to 0x20), or other firmware code.
 *   - The BIOS data area (IBM PC/AT Technical Reference, BIOS data area
 *     at segment 0x40): 0x400 COM1-4 base ports, 0x408 LPT1-3 base ports,
 *     0x40e EBDA segment, 0x410 equipment word (bits 9-11 serial ports,
 *     14-15 parallel ports, bit 1 math coprocessor, bit 2 pointing
 *     device), 0x413 base memory in KiB; the EBDA's first byte, its size
 *     in KiB.
 *   - The ACPI RSDP in the BIOS read-only area 0xe0000-0xfffff (ACPI 6.4
 *     5.2.5.1 "Finding the RSDP on IA-PC Systems"): found by the scan on
 *     16-byte boundaries, checksums valid, its RSDT's signature, and
 *     outside RAM in the memory map; where the boot protocol passes an
 *     RSDP address (PVH, Linux), that one is valid too.
 *
 * Every value both a firmware boot and a direct boot must agree on is
 * printed as one "STATE: key = value" line (tests/guest/meson.build
 * checks them against what SeaBIOS was measured to leave; the functional
 * test bios-state-compare.py runs the payload through every protocol and
 * SeaBIOS and compares the lines).  Handler addresses differ between the
 * two and are checked by kind.  With "via=firmware" on the command line
 * the payload knows SeaBIOS booted it and accepts firmware code behind
 * the vectors; otherwise every vector must be kvmpc's bare IRET or EOI
 * stub.
 */
#include "guest.h"
#include "bootproto.h"

#define PIC1_CMD        0x20
#define PIC1_DATA       0x21
#define PIC2_CMD        0xa0
#define PIC2_DATA       0xa1
#define PIC_ELCR1       0x4d0
#define PIC_ELCR2       0x4d1
#define OCW2_EOI        0x20
#define OCW3_READ_IRR   0x0a
#define OCW3_READ_ISR   0x0b

#define PIT_CH0         0x40
#define PIT_MODE        0x43
#define CMOS_INDEX      0x70
#define CMOS_DATA       0x71
#define RTC_REG_A       0x0a
#define RTC_REG_B       0x0b
#define RTC_REG_C       0x0c
#define RTC_B_PIE       0x40

#define BIOS_AREA_START 0xe0000
#define BIOS_AREA_END   0x100000

/* Physical memory through the identity map (laundered, so GCC does not
 * treat low constant addresses such as the IVT's as null-pointer UB). */
static const void *phys(uint64_t a)
{
    asm("" : "+r"(a));
    return (const void *)(uintptr_t)a;
}

static uint8_t rd8(uint64_t a) { return *(const volatile uint8_t *)phys(a); }
static uint16_t rd16(uint64_t a) { return *(const volatile uint16_t *)phys(a); }

/* ---- the 8259s as the loader left them (payload_early) ---- */

struct pic_snapshot {
    uint8_t imr[2], elcr[2], isr[2];
    int vec_irq0, vec_irq8;         /* vector taken, -1: none */
};

static struct pic_snapshot pic;

/*
 * Vectors 8-15 are exceptions in the runtime's IDT (8 and 10-14 with a
 * CPU error code), but an 8259 with the BIOS's base 0x08 delivers IRQ 0-7
 * there without one.  While probing, those IDT entries point at these
 * stubs instead: record the first vector seen, EOI the master, return.
 */
volatile uint8_t probe_low_vec;
extern uint8_t probe_stubs[];

asm(".pushsection .text\n"
    ".balign 16\n"
    ".globl probe_stubs\n"
    "probe_stubs:\n"
    ".set pv, 8\n"
    ".rept 8\n"
    ".balign 16\n"
    "pushq $pv\n"
    "jmp probe_common\n"
    ".set pv, pv + 1\n"
    ".endr\n"
    "probe_common:\n"
    "push %rax\n"
    "mov 8(%rsp), %rax\n"
    "cmpb $0, probe_low_vec(%rip)\n"
    "jne 1f\n"
    "mov %al, probe_low_vec(%rip)\n"
    "1: mov $0x20, %al\n"
    "out %al, $0x20\n"
    "pop %rax\n"
    "add $8, %rsp\n"
    "iretq\n"
    ".popsection\n");

extern uint8_t idt[];
static uint8_t idt_saved[8][16];

static void idt_set_probe(int vec, uint64_t handler)
{
    uint8_t *e = idt + 16 * vec;
    *(uint32_t *)(e + 0) = (uint32_t)(handler & 0xffff) | ((uint32_t)KCODE64 << 16);
    *(uint32_t *)(e + 4) = (uint32_t)(handler & 0xffff0000) | 0x8e00u;
    *(uint64_t *)(e + 8) = handler >> 32;
}

static void idt_probe_install(bool on)
{
    for (int i = 0; i < 8; i++) {
        if (on) {
            memcpy(idt_saved[i], idt + 16 * (8 + i), 16);
            idt_set_probe(8 + i, (uint64_t)(probe_stubs + 16 * i));
        } else {
            memcpy(idt + 16 * (8 + i), idt_saved[i], 16);
        }
    }
}

/* Vectors 0x10 and up (where a mis-programmed base would put them). */
static volatile int probe_high_vec;

static void probe_irq_handler(int vector)
{
    outb(CMOS_INDEX, RTC_REG_C);            /* ack the RTC, if it was it */
    (void)inb(CMOS_DATA);
    if (!probe_high_vec)
        probe_high_vec = vector;
    outb(PIC2_CMD, OCW2_EOI);
    outb(PIC1_CMD, OCW2_EOI);
}

static void probe_handlers(bool on)
{
    for (int v = 0x10; v < 0x100; v++)
        if (v != SPURIOUS_VECTOR)
            irq_set_handler(v, on ? probe_irq_handler : NULL);
}

static int probe_result(void)
{
    if (probe_low_vec)
        return probe_low_vec;
    return probe_high_vec ? probe_high_vec : -1;
}

/* Unmask one line (and the cascade for the slave), take one interrupt. */
static int probe_vector(uint8_t imr1, uint8_t imr2)
{
    probe_low_vec = 0;
    probe_high_vec = 0;
    outb(PIC1_DATA, imr1);
    outb(PIC2_DATA, imr2);
    irq_enable();
    wait_until(probe_result() >= 0, 500000);
    irq_disable();
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
    return probe_result();
}

static int probe_irq0(void)
{
    int v;

    outb(PIT_MODE, 0x34);                   /* ch0, lo/hi, mode 2 */
    outb(PIT_CH0, 1193 & 0xff);             /* 1 ms */
    outb(PIT_CH0, 1193 >> 8);
    v = probe_vector(0xfe, 0xff);
    outb(PIT_MODE, 0x30);                   /* ch0, mode 0: one last edge */
    outb(PIT_CH0, 0xff);
    outb(PIT_CH0, 0xff);
    return v;
}

static uint8_t cmos_read(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
    outb(CMOS_INDEX, reg);
    outb(CMOS_DATA, v);
}

static int probe_irq8(void)
{
    uint8_t b = cmos_read(RTC_REG_B);
    int v;

    cmos_write(RTC_REG_A, 0x26);            /* 32.768 kHz base, 1024 Hz */
    (void)cmos_read(RTC_REG_C);
    cmos_write(RTC_REG_B, b | RTC_B_PIE);
    v = probe_vector(0xfb, 0xfe);
    cmos_write(RTC_REG_B, b & ~RTC_B_PIE);
    (void)cmos_read(RTC_REG_C);
    return v;
}

static uint8_t pic_read_isr(uint16_t cmd)
{
    uint8_t v;

    outb(cmd, OCW3_READ_ISR);
    v = inb(cmd);
    outb(cmd, OCW3_READ_IRR);               /* the default after ICW1 */
    return v;
}

void payload_early(void)
{
    pic.imr[0] = inb(PIC1_DATA);
    pic.imr[1] = inb(PIC2_DATA);
    pic.elcr[0] = inb(PIC_ELCR1);
    pic.elcr[1] = inb(PIC_ELCR2);
    pic.isr[0] = pic_read_isr(PIC1_CMD);
    pic.isr[1] = pic_read_isr(PIC2_CMD);

    (void)tsc_hz();                         /* PIT ch2: before ch0 runs */
    lapic_enable();
    lapic_lint0_extint(true);
    idt_probe_install(true);
    probe_handlers(true);
    pic.vec_irq0 = probe_irq0();
    pic.vec_irq8 = probe_irq8();
    probe_handlers(false);
    idt_probe_install(false);
    outb(PIC1_DATA, pic.imr[0]);
    outb(PIC2_DATA, pic.imr[1]);
}

static void check_pic(void)
{
    report_prefix("pic");
    printf("STATE: pic.imr = 0x%02x 0x%02x\n", pic.imr[0], pic.imr[1]);
    printf("STATE: pic.elcr = 0x%02x 0x%02x\n", pic.elcr[0], pic.elcr[1]);
    printf("STATE: pic.isr = 0x%02x 0x%02x\n", pic.isr[0], pic.isr[1]);
    printf("STATE: pic.vector.irq0 = 0x%02x\n", pic.vec_irq0 & 0xff);
    printf("STATE: pic.vector.irq8 = 0x%02x\n", pic.vec_irq8 & 0xff);
    report(pic.vec_irq0 == 0x08, "master vector base 0x08 (IRQ 0 arrived at 0x%x)", pic.vec_irq0);
    report(pic.vec_irq8 == 0x70, "slave vector base 0x70 (IRQ 8 arrived at 0x%x)", pic.vec_irq8);
    report(!(pic.imr[0] & 0x04), "cascade (IRQ 2) unmasked on the master");
    report(pic.isr[0] == 0 && pic.isr[1] == 0, "nothing in service");
    report(!(pic.elcr[0] & 0x07) && !(pic.elcr[1] & 0x21),
           "IRQ 0, 1, 2, 8 and 13 edge-triggered (ELCR)");
}

/* ---- the interrupt vector table ---- */

enum handler_kind { H_ZERO, H_OUTSIDE, H_IRET, H_EOI1, H_EOI2, H_CODE };

static const char *const kind_names[] = {
    [H_ZERO] = "zero", [H_OUTSIDE] = "outside", [H_IRET] = "iret",
    [H_EOI1] = "eoi-master", [H_EOI2] = "eoi-slave", [H_CODE] = "code",
};

/*
 * Decode the handler's first instructions, accepting only push ax, pop
 * ax, mov al,imm8, out imm8,al and iret: a bare IRET, or EOIs (OCW2
 * 0x20) to the master (and before it the slave) and then IRET.
 */
static enum handler_kind classify_code(uint64_t a)
{
    bool eoi1 = false, eoi2 = false;
    uint8_t al = 0;

    for (int n = 0; n < 12; n++) {
        uint8_t op = rd8(a);
        if (op == 0xcf)
            return eoi2 && eoi1 ? H_EOI2 : eoi1 ? H_EOI1 : eoi2 ? H_CODE : H_IRET;
        if (op == 0x50 || op == 0x58) {
            a += 1;
        } else if (op == 0xb0) {
            al = rd8(a + 1);
            a += 2;
        } else if (op == 0xe6 && al == OCW2_EOI && rd8(a + 1) == PIC1_CMD) {
            eoi1 = true;
            a += 2;
        } else if (op == 0xe6 && al == OCW2_EOI && rd8(a + 1) == PIC2_CMD && !eoi1) {
            eoi2 = true;
            a += 2;
        } else {
            return H_CODE;
        }
    }
    return H_CODE;
}

static bool in_ram(uint64_t a, uint64_t len)
{
    for (int i = 0; i < boot.nr_mem; i++) {
        const struct mem_range *m = &boot.mem[i];
        if (m->type == E820_RAM && a < m->base + m->len && a + len > m->base)
            return true;
    }
    return false;
}

static enum handler_kind classify_vector(int v, uint64_t *target)
{
    uint16_t off = rd16(4 * v), seg = rd16(4 * v + 2);
    uint64_t a = ((uint64_t)seg << 4) + off;

    *target = a;
    if (!seg && !off)
        return H_ZERO;
    if (a < BIOS_AREA_START || a + 16 > BIOS_AREA_END || in_ram(a, 16))
        return H_OUTSIDE;
    return classify_code(a);
}

static bool is_irq_vector(int v)
{
    return (v >= 0x08 && v <= 0x0f) || (v >= 0x70 && v <= 0x77);
}

/* "60-66 79": the vectors of one kind, as ranges. */
static void print_vector_set(const char *key, const bool *set)
{
    printf("STATE: %s =", key);
    int n = 0;
    for (int v = 0; v < 256; v++) {
        if (!set[v] || (v > 0 && set[v - 1]))
            continue;
        int end = v;
        while (end + 1 < 256 && set[end + 1])
            end++;
        printf(end > v ? " %02x-%02x" : " %02x", v, end);
        n++;
    }
    printf(n ? "\n" : " none\n");
}

static void check_ivt(bool via_firmware)
{
    static bool zero[256], outside[256];
    int kinds[6] = { 0 }, bad_sw = 0, bad_irq = 0;

    report_prefix("ivt");
    for (int v = 0; v < 256; v++) {
        uint64_t target;
        enum handler_kind k = classify_vector(v, &target);
        kinds[k]++;
        zero[v] = k == H_ZERO;
        outside[v] = k == H_OUTSIDE;
        if (k == H_OUTSIDE)
            report_info("vector 0x%02x -> 0x%05lx is outside the BIOS ROM area", v, (unsigned long)target);
        if (via_firmware || k == H_ZERO || k == H_OUTSIDE)
            continue;
        if (v >= 0x08 && v <= 0x0f)
            bad_irq += k != H_EOI1;
        else if (v >= 0x70 && v <= 0x77)
            bad_irq += k != H_EOI2;
        else
            bad_sw += k != H_IRET;
    }
    for (int k = 0; k < 6; k++)
        report_info("%d vectors: %s", kinds[k], kind_names[k]);
    report_info("IRQ 0 handler at %04x:%04x, INT 0x1c at %04x:%04x",
                rd16(4 * 0x08 + 2), rd16(4 * 0x08), rd16(4 * 0x1c + 2), rd16(4 * 0x1c));
    print_vector_set("ivt.zero", zero);
    print_vector_set("ivt.outside", outside);
    report(kinds[H_OUTSIDE] == 0, "every non-zero vector points into the BIOS area, outside RAM");
    for (int v = 0; v < 256; v++)
        if (is_irq_vector(v) && zero[v])
            bad_irq++;
    if (via_firmware) {
        report(bad_irq == 0, "the IRQ vectors 0x08-0x0f and 0x70-0x77 have handlers");
        report(classify_code(((uint64_t)rd16(4 * 0x1c + 2) << 4) + rd16(4 * 0x1c)) == H_IRET,
               "INT 0x1c (user timer tick) is a bare IRET");
    } else {
        report(bad_irq == 0, "IRQ vectors: master EOI then IRET (0x08-0x0f), slave and master "
               "EOI then IRET (0x70-0x77)");
        report(bad_sw == 0, "every other non-zero vector is a bare IRET");
    }
}

/* ---- the BIOS data area ---- */

static void check_bda(void)
{
    uint16_t com[4], lpt[3];
    uint16_t ebda = rd16(0x40e), equip = rd16(0x410), basemem = rd16(0x413);
    unsigned ncom = 0, nlpt = 0;

    report_prefix("bda");
    for (int i = 0; i < 4; i++) {
        com[i] = rd16(0x400 + 2 * i);
        ncom += com[i] != 0;
    }
    for (int i = 0; i < 3; i++) {
        lpt[i] = rd16(0x408 + 2 * i);
        nlpt += lpt[i] != 0;
    }
    printf("STATE: bda.com = 0x%04x 0x%04x 0x%04x 0x%04x\n", com[0], com[1], com[2], com[3]);
    printf("STATE: bda.lpt = 0x%04x 0x%04x 0x%04x\n", lpt[0], lpt[1], lpt[2]);
    printf("STATE: bda.ebda_segment = 0x%04x\n", ebda);
    printf("STATE: bda.equipment = 0x%04x\n", equip);
    printf("STATE: bda.base_memory_kib = %u\n", basemem);
    printf("STATE: bda.kbd_buffer = 0x%04x 0x%04x 0x%04x 0x%04x\n",
           rd16(0x41a), rd16(0x41c), rd16(0x480), rd16(0x482));
    printf("STATE: bda.com_timeouts = 0x%02x 0x%02x 0x%02x 0x%02x\n",
           rd8(0x47c), rd8(0x47d), rd8(0x47e), rd8(0x47f));
    printf("STATE: bda.kbd_mode = 0x%02x\n", rd8(0x496));
    printf("STATE: ebda.size_kib = %u\n", ebda ? rd8((uint64_t)ebda << 4) : 0);
    char line[512];
    int n = 0;
    for (int a = 0x400; a < 0x500 && n < (int)sizeof(line) - 12; a++)
        if (rd8(a))
            n += snprintf(line + n, sizeof(line) - (size_t)n, " %03x:%02x", a, rd8(a));
    report_info("non-zero BDA bytes:%s", n ? line : " none");
    report(com[0] == COM1, "COM1 at 0x3f8 (the runner's -serial)");
    report(((equip >> 9) & 7) == ncom, "equipment word: %u serial ports, as listed", ncom);
    report(((equip >> 14) & 3) == nlpt, "equipment word: %u parallel ports, as listed", nlpt);
    report(ebda >= 0x8000 && ebda < 0xa000 && basemem == (ebda >> 6),
           "base memory (%u KiB) ends where the EBDA (segment 0x%04x) starts", basemem, ebda);
    report(ebda && !in_ram((uint64_t)ebda << 4, 1024), "the EBDA is not RAM in the memory map");
}

/* ---- the RSDP in the BIOS area ---- */

static void check_rsdp(void)
{
    uint64_t found = rsdp_scan_range(BIOS_AREA_START, BIOS_AREA_END);
    uint64_t from_boot = rsdp_from_boot();

    report_prefix("rsdp");
    report(found != 0, "RSDP found in 0xe0000-0xfffff (at 0x%lx)", (unsigned long)found);
    if (from_boot) {
        report(from_boot < BIOS_AREA_END && rsdp_valid(from_boot),
               "the boot protocol's RSDP (0x%lx) is valid", (unsigned long)from_boot);
    }
    if (!found)
        return;
    const struct rsdp *r = phys(found);
    uint64_t rsdt = r->rsdt;
    printf("STATE: rsdp.segment = %s\n", found >= 0xf0000 ? "f" : "e");
    printf("STATE: rsdp.revision = %u\n", r->rev);
    printf("STATE: rsdp.oem = %.6s\n", r->oem);
    printf("STATE: rsdp.rsdt_signature = %.4s\n",
           rsdt && rsdt < (4ull << 30) ? (const char *)phys(rsdt) : "none");
    report(!in_ram(found, 20), "the RSDP is not in RAM the memory map offers");
    if (from_boot && from_boot != found)
        report(((const struct rsdp *)phys(from_boot))->rsdt == r->rsdt,
               "the boot protocol's RSDP and the BIOS area's name the same RSDT");
}

int main(void)
{
    char via[16];
    bool via_firmware = cmdline_get("via", via, sizeof(via)) && !strcmp(via, "firmware");

    report_info("booted %s", via_firmware ? "through the firmware" : "directly");
    check_pic();
    check_ivt(via_firmware);
    check_bda();
    check_rsdp();
    report_summary();
}
