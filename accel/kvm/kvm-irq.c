/*
 * KVM interrupt plumbing: the in-kernel irqchip (PIC + IOAPIC + LAPICs),
 * GSI routing, MSI routes, irqfd and ioeventfd.
 * Linux Documentation/virt/kvm/api.rst: KVM_CREATE_IRQCHIP,
 * KVM_SET_GSI_ROUTING, KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_IRQFD,
 * KVM_IOEVENTFD.
 *
 * The default routes are QEMU's (hw/i386/kvm pc routing): GSI 0-15 reach
 * the PIC pins (except GSI 2, the cascade) and IOAPIC pins 0-23 — with
 * GSI 0 on IOAPIC pin 2, which is where the MADT's interrupt source
 * override tells the OS the PIT (ISA IRQ 0, raised by the in-kernel PIT on
 * GSI 0) arrives.
 */
#include "qemu/osdep.h"
#include "accel/kvm.h"
#include "kvm-internal.h"
#include "hw/intc/apic.h"
#include "hw/intc/ioapic.h"

#define IOAPIC_PINS 24

typedef struct IrqRoutes {
    struct kvm_irq_routing_entry *entries;
    unsigned nr, alloc;
    unsigned long *used_gsi;    /* bitmap over kvm_state.gsi_count */
} IrqRoutes;

static IrqRoutes routes;

static void gsi_mark(int gsi, bool used)
{
    unsigned long bit = 1UL << (gsi % (8 * sizeof(long)));

    if (used) {
        routes.used_gsi[gsi / (8 * sizeof(long))] |= bit;
    } else {
        routes.used_gsi[gsi / (8 * sizeof(long))] &= ~bit;
    }
}

static bool gsi_used(int gsi)
{
    return routes.used_gsi[gsi / (8 * sizeof(long))] &
           (1UL << (gsi % (8 * sizeof(long))));
}

static void add_route(const struct kvm_irq_routing_entry *e)
{
    if (routes.nr == routes.alloc) {
        routes.alloc = routes.alloc ? routes.alloc * 2 : 64;
        routes.entries = g_renew(struct kvm_irq_routing_entry,
                                 routes.entries, routes.alloc);
    }
    routes.entries[routes.nr++] = *e;
    gsi_mark(e->gsi, true);
}

static void add_irqchip_route(int gsi, unsigned chip, unsigned pin)
{
    struct kvm_irq_routing_entry e = {
        .gsi = gsi,
        .type = KVM_IRQ_ROUTING_IRQCHIP,
        .u.irqchip = { .irqchip = chip, .pin = pin },
    };

    add_route(&e);
}

static void add_default_routes(void)
{
    for (int i = 0; i < 8; i++) {
        if (i != 2) {
            add_irqchip_route(i, KVM_IRQCHIP_PIC_MASTER, i);
        }
    }
    for (int i = 8; i < 16; i++) {
        add_irqchip_route(i, KVM_IRQCHIP_PIC_SLAVE, i - 8);
    }
    for (int i = 0; i < IOAPIC_PINS; i++) {
        if (i == 0) {
            add_irqchip_route(0, KVM_IRQCHIP_IOAPIC, 2);
        } else if (i != 2) {
            add_irqchip_route(i, KVM_IRQCHIP_IOAPIC, i);
        }
    }
}

bool kvm_irqchip_commit_routes(GError **errp)
{
    size_t size = sizeof(struct kvm_irq_routing) +
                  routes.nr * sizeof(struct kvm_irq_routing_entry);
    g_autofree struct kvm_irq_routing *table = g_malloc0(size);
    int ret;

    table->nr = routes.nr;
    memcpy(table->entries, routes.entries,
           routes.nr * sizeof(struct kvm_irq_routing_entry));
    ret = kvm_vm_ioctl(KVM_SET_GSI_ROUTING, table);
    if (ret < 0) {
        error_setg(errp, "kvm: KVM_SET_GSI_ROUTING failed: %s",
                   strerror(-ret));
        return false;
    }
    return true;
}

static bool need_cap(unsigned cap, const char *name, GError **errp)
{
    if (kvm_check_extension(cap) <= 0) {
        g_set_error(errp, KVMPC_ERROR, KVMPC_ERROR_KVM_MISSING_CAP,
                    "kvm: host KVM lacks the required capability %s", name);
        return false;
    }
    return true;
}

static void routes_reset(void)
{
    size_t words = (kvm_state.gsi_count + 8 * sizeof(long) - 1) /
                   (8 * sizeof(long));

    g_free(routes.used_gsi);
    g_free(routes.entries);
    memset(&routes, 0, sizeof(routes));
    routes.used_gsi = g_new0(unsigned long, words);
}

bool kvm_irqchip_init(GError **errp)
{
    int ret;

    if (!need_cap(KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", errp)) {
        return false;
    }
    ret = kvm_vm_ioctl(KVM_CREATE_IRQCHIP, NULL);
    if (ret < 0) {
        error_setg(errp, "kvm: KVM_CREATE_IRQCHIP failed: %s",
                   strerror(-ret));
        return false;
    }
    routes_reset();
    add_default_routes();
    /* GSIs of the IOAPIC are never handed out as MSI routes */
    for (int i = 0; i < IOAPIC_PINS; i++) {
        gsi_mark(i, true);
    }
    return kvm_irqchip_commit_routes(errp);
}

static struct kvm_irq_routing_entry *find_route(int gsi);
static void fill_msi(struct kvm_irq_routing_entry *e, int gsi, uint64_t addr,
                     uint32_t data);

/*
 * kernel_irqchip=split (api.rst, KVM_CAP_SPLIT_IRQCHIP): KVM has the
 * LAPICs only and reserves GSIs 0-23 for the userspace IOAPIC's pins.
 * Each is an MSI route holding the message its redirection entry sends
 * (kept by ioapic_route_hook): KVM derives from the level-triggered ones
 * which vectors' EOIs must exit (KVM_EXIT_IOAPIC_EOI).  The IOAPIC itself
 * delivers with KVM_SIGNAL_MSI.
 */
static void split_ioapic_route(unsigned pin, uint64_t addr, uint32_t data)
{
    struct kvm_irq_routing_entry *e = find_route(pin);
    GError *err = NULL;

    if (pin >= IOAPIC_PINS || !e) {
        return;
    }
    fill_msi(e, pin, addr, data);
    if (!kvm_irqchip_commit_routes(&err)) {
        error_report_err(err);
    }
}

bool kvm_irqchip_init_split(GError **errp)
{
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_SPLIT_IRQCHIP,
        .args[0] = IOAPIC_PINS,
    };
    int ret;

    if (!need_cap(KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP", errp)) {
        return false;
    }
    ret = kvm_vm_ioctl(KVM_ENABLE_CAP, &cap);
    if (ret < 0) {
        error_setg(errp, "kvm: enabling KVM_CAP_SPLIT_IRQCHIP failed: %s",
                   strerror(-ret));
        return false;
    }
    routes_reset();
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        struct kvm_irq_routing_entry e;

        fill_msi(&e, pin, APIC_DEFAULT_ADDRESS, 0);
        add_route(&e);
    }
    ioapic_route_hook = split_ioapic_route;
    return kvm_irqchip_commit_routes(errp);
}

/*
 * kernel_irqchip=off: no in-kernel irqchip, no routes, no irqfds.  The
 * x2APIC MSRs, IA32_APIC_BASE and IA32_TSC_DEADLINE belong to kvmpc's
 * LAPIC model: an MSR filter denies IA32_APIC_BASE and TSC_DEADLINE to
 * KVM, and KVM_CAP_X86_USER_SPACE_MSR turns each denied access into an
 * MSR exit (api.rst, KVM_X86_SET_MSR_FILTER).  The x2APIC range cannot be
 * filtered (Linux exempts it: api.rst says x2APIC MSRs are always
 * allowed), so it comes through KVM_MSR_EXIT_REASON_INVAL instead:
 * without an in-kernel LAPIC KVM would fault the access, and asks us
 * first.  Other MSRs KVM faults come too and are refused the same way
 * (the guest gets its #GP).
 */
bool kvm_irqchip_init_off(GError **errp)
{
    static uint8_t deny[0x100 / 8];
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_X86_USER_SPACE_MSR,
        .args[0] = KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_INVAL,
    };
    struct kvm_msr_filter filter = {
        .flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
        .ranges = {
            { .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
              .nmsrs = 0x100, .base = MSR_X2APIC_FIRST, .bitmap = deny },
            { .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
              .nmsrs = 1, .base = MSR_IA32_APICBASE, .bitmap = deny },
            { .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
              .nmsrs = 1, .base = MSR_IA32_TSC_DEADLINE, .bitmap = deny },
        },
    };
    int ret;

    if (!need_cap(KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR",
                  errp) ||
        !need_cap(KVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER", errp)) {
        return false;
    }
    ret = kvm_vm_ioctl(KVM_ENABLE_CAP, &cap);
    if (ret >= 0) {
        ret = kvm_vm_ioctl(KVM_X86_SET_MSR_FILTER, &filter);
    }
    if (ret < 0) {
        error_setg(errp, "kvm: routing the APIC MSRs to kvmpc failed: %s",
                   strerror(-ret));
        return false;
    }
    g_free(routes.used_gsi);
    g_free(routes.entries);
    memset(&routes, 0, sizeof(routes));
    return true;
}

void kvm_set_irq(int gsi, int level)
{
    struct kvm_irq_level irq = { .irq = gsi, .level = level };
    int ret = kvm_vm_ioctl(KVM_IRQ_LINE, &irq);

    if (ret < 0) {
        error_report("kvm: KVM_IRQ_LINE gsi %d level %d failed: %s",
                     gsi, level, strerror(-ret));
    }
}

static int alloc_gsi(void)
{
    for (int gsi = IOAPIC_PINS; gsi < kvm_state.gsi_count; gsi++) {
        if (!gsi_used(gsi)) {
            return gsi;
        }
    }
    return -1;
}

static struct kvm_irq_routing_entry *find_route(int gsi)
{
    for (unsigned i = 0; i < routes.nr; i++) {
        if ((int)routes.entries[i].gsi == gsi) {
            return &routes.entries[i];
        }
    }
    return NULL;
}

static void fill_msi(struct kvm_irq_routing_entry *e, int gsi, uint64_t addr,
                     uint32_t data)
{
    memset(e, 0, sizeof(*e));
    e->gsi = gsi;
    e->type = KVM_IRQ_ROUTING_MSI;
    e->u.msi.address_lo = (uint32_t)addr;
    e->u.msi.address_hi = addr >> 32;
    e->u.msi.data = data;
}

int kvm_irqchip_add_msi_route(uint64_t addr, uint32_t data, GError **errp)
{
    struct kvm_irq_routing_entry e;
    int gsi;

    if (!routes.used_gsi) {
        error_setg(errp, "kvm: no interrupt routes without the in-kernel "
                   "irqchip (kernel_irqchip=off)");
        return -1;
    }
    gsi = alloc_gsi();

    if (gsi < 0) {
        error_setg(errp, "kvm: all %d interrupt routes are in use",
                   kvm_state.gsi_count);
        return -1;
    }
    fill_msi(&e, gsi, addr, data);
    add_route(&e);
    return gsi;
}

bool kvm_irqchip_update_msi_route(int virq, uint64_t addr, uint32_t data,
                                  GError **errp)
{
    struct kvm_irq_routing_entry *e = find_route(virq);

    if (virq < IOAPIC_PINS || !e || e->type != KVM_IRQ_ROUTING_MSI) {
        error_setg(errp, "kvm: no MSI route with GSI %d", virq);
        return false;
    }
    fill_msi(e, virq, addr, data);
    return true;
}

void kvm_irqchip_release_virq(int virq)
{
    unsigned out = 0;

    if (!routes.used_gsi || virq < IOAPIC_PINS || virq >= kvm_state.gsi_count) {
        return;
    }
    for (unsigned i = 0; i < routes.nr; i++) {
        if ((int)routes.entries[i].gsi != virq) {
            routes.entries[out++] = routes.entries[i];
        }
    }
    routes.nr = out;
    gsi_mark(virq, false);
}

int kvm_irqchip_send_msi(uint64_t addr, uint32_t data)
{
    struct kvm_msi msi = {
        .address_lo = (uint32_t)addr,
        .address_hi = addr >> 32,
        .data = data,
    };

    return kvm_vm_ioctl(KVM_SIGNAL_MSI, &msi);
}

static bool check_ioeventfd_size(unsigned size, bool allow_any,
                                 GError **errp)
{
    if (size == 1 || size == 2 || size == 4 || size == 8 ||
        (allow_any && size == 0)) {
        return true;
    }
    error_setg(errp, "kvm: ioeventfd access size %u is not 1, 2, 4 or 8",
               size);
    return false;
}

static bool set_ioeventfd(int fd, uint64_t addr, unsigned size, bool pio,
                          bool datamatch, uint64_t data, bool assign,
                          GError **errp)
{
    struct kvm_ioeventfd ev = {
        .datamatch = datamatch ? data : 0,
        .addr = addr,
        .len = size,
        .fd = fd,
        .flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
                 (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    int ret;

    if (!check_ioeventfd_size(size, !pio && !datamatch, errp)) {
        return false;
    }
    ret = kvm_vm_ioctl(KVM_IOEVENTFD, &ev);
    if (ret < 0) {
        error_setg(errp, "kvm: %s ioeventfd at %s 0x%" PRIx64 " failed: %s",
                   assign ? "adding" : "removing", pio ? "port" : "address",
                   addr, strerror(-ret));
        return false;
    }
    return true;
}

bool kvm_set_ioeventfd_pio(int fd, uint16_t port, unsigned size,
                           bool datamatch, uint64_t data, bool assign,
                           GError **errp)
{
    return set_ioeventfd(fd, port, size, true, datamatch, data, assign, errp);
}

bool kvm_set_ioeventfd_mmio(int fd, uint64_t addr, unsigned size,
                            bool datamatch, uint64_t data, bool assign,
                            GError **errp)
{
    return set_ioeventfd(fd, addr, size, false, datamatch, data, assign,
                         errp);
}

bool kvm_irqfd_assign(int fd, int gsi, int resamplefd, GError **errp)
{
    struct kvm_irqfd irqfd = {
        .fd = fd,
        .gsi = gsi,
        .flags = resamplefd >= 0 ? KVM_IRQFD_FLAG_RESAMPLE : 0,
        .resamplefd = resamplefd >= 0 ? resamplefd : 0,
    };
    int ret = kvm_vm_ioctl(KVM_IRQFD, &irqfd);

    if (ret < 0) {
        error_setg(errp, "kvm: KVM_IRQFD for GSI %d failed: %s", gsi,
                   strerror(-ret));
        return false;
    }
    return true;
}

bool kvm_irqfd_deassign(int fd, int gsi, GError **errp)
{
    struct kvm_irqfd irqfd = {
        .fd = fd,
        .gsi = gsi,
        .flags = KVM_IRQFD_FLAG_DEASSIGN,
    };
    int ret = kvm_vm_ioctl(KVM_IRQFD, &irqfd);

    if (ret < 0) {
        error_setg(errp, "kvm: removing the irqfd of GSI %d failed: %s", gsi,
                   strerror(-ret));
        return false;
    }
    return true;
}

/*
 * One in-kernel 8259A as a completed ICW1-ICW4 sequence leaves it (Intel
 * 8259A datasheet, "Initialization Command Words"): edge mode, cascade,
 * ICW4 present (8086 mode, normal EOI), vector base @irq_base (ICW2),
 * then OCW1 = @imr; nothing requested or in service, IRR selected for
 * reads (OCW3 default).  elcr_mask, which the kernel fills in for the
 * chip's fixed lines, is kept.
 */
static void pic_state_initialized(struct kvm_pic_state *p, uint8_t irq_base,
                                  uint8_t imr, uint8_t elcr)
{
    uint8_t elcr_mask = p->elcr_mask;

    memset(p, 0, sizeof(*p));
    p->irq_base = irq_base;
    p->imr = imr;
    p->init4 = 1;
    p->elcr_mask = elcr_mask;
    p->elcr = elcr & elcr_mask;
}

static bool pic_chip_set(unsigned chip_id, uint8_t irq_base, uint8_t imr,
                         uint8_t elcr, GError **errp)
{
    struct kvm_irqchip chip = { .chip_id = chip_id };
    int ret = kvm_vm_ioctl(KVM_GET_IRQCHIP, &chip);

    if (ret >= 0) {
        pic_state_initialized(&chip.chip.pic, irq_base, imr, elcr);
        ret = kvm_vm_ioctl(KVM_SET_IRQCHIP, &chip);
    }
    if (ret < 0) {
        error_setg(errp, "kvm: setting the %s 8259 failed: %s",
                   chip_id == KVM_IRQCHIP_PIC_MASTER ? "master" : "slave",
                   strerror(-ret));
        return false;
    }
    return true;
}

bool kvm_pic_set_initialized(uint8_t master_base, uint8_t slave_base,
                             uint16_t imr, uint16_t elcr, GError **errp)
{
    return pic_chip_set(KVM_IRQCHIP_PIC_MASTER, master_base, imr & 0xff,
                        elcr & 0xff, errp) &&
           pic_chip_set(KVM_IRQCHIP_PIC_SLAVE, slave_base, imr >> 8,
                        elcr >> 8, errp);
}
