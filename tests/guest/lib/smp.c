/*
 * Application processor start-up: INIT-SIPI-SIPI broadcast to all but
 * self.  The real-mode trampoline (start.S) is copied to a free page below
 * 1 MiB; each AP enters long mode, takes the next CPU index, loads the IDT
 * and its own TSS at CPL 0 and runs the test's function at CPL 3.
 */
#include "guest.h"

extern uint8_t ap_trampoline[], ap_trampoline_end[];
extern volatile uint32_t ap_parked;
void ap_user_entry(uint64_t cpu);

static void (*volatile ap_fn)(int cpu);
static volatile int aps_started, aps_done;

static uint64_t cpl0_idle(uint64_t a, uint64_t b)
{
    for (;;)
        asm volatile("sti; hlt" ::: "memory");
    __builtin_unreachable();
}

void ap_user_entry(uint64_t cpu)
{
    __atomic_fetch_add(&aps_started, 1, __ATOMIC_SEQ_CST);
    void (*fn)(int) = ap_fn;
    if (fn)
        fn((int)cpu);
    __atomic_fetch_add(&aps_done, 1, __ATOMIC_SEQ_CST);
    cpl0_call(cpl0_idle, 0, 0);
}

static bool page_is_free_ram(uint64_t page)
{
    if (boot_range_in_use(page, page + 4096))
        return false;
    if (!boot.nr_mem)
        return true;
    for (int i = 0; i < boot.nr_mem; i++)
        if (boot.mem[i].type == E820_RAM && boot.mem[i].base <= page &&
            boot.mem[i].base + boot.mem[i].len >= page + 4096)
            return true;
    return false;
}

int smp_aps_done(void)
{
    return aps_done;
}

/* Copy the trampoline to a free page below 1 MiB; 0 if there is none. */
static uint64_t place_trampoline(void (*fn)(int cpu))
{
    static const uint64_t candidates[] = { 0x8000, 0x9000, 0x7000, 0x6000, 0x5000, 0x4000, 0x3000, 0x2000, 0x1000 };
    uint64_t page = 0;
    for (size_t i = 0; i < ARRAY_SIZE(candidates) && !page; i++)
        if (page_is_free_ram(candidates[i]))
            page = candidates[i];
    if (!page) {
        printf("smp: no free page below 1 MiB for the AP trampoline\n");
        return 0;
    }
    size_t len = (size_t)(ap_trampoline_end - ap_trampoline);
    memcpy((void *)page, ap_trampoline, len);
    ap_fn = fn;
    barrier();
    return page;
}

/* One AP (a hot-added CPU, say) by APIC ID: INIT-SIPI-SIPI to it alone. */
bool smp_start_ap(unsigned apic_id, void (*fn)(int cpu), uint64_t timeout_us)
{
    int before = aps_done;
    uint64_t page = place_trampoline(fn);
    if (!page)
        return false;
    lapic_enable();
    lapic_send_ipi(apic_id, 0x00004500);        /* INIT, assert, physical */
    udelay(10000);
    for (int i = 0; i < 2; i++) {
        lapic_send_ipi(apic_id, 0x00004600 | (uint32_t)(page >> 12));   /* SIPI */
        udelay(200);
    }
    return wait_until(aps_done > before, timeout_us);
}

int smp_start_aps(void (*fn)(int cpu), int expected_aps, uint64_t timeout_us)
{
    uint64_t page = place_trampoline(fn);
    if (!page)
        return 0;

    lapic_enable();
    lapic_write(LAPIC_ICR_HI, 0);
    lapic_write(LAPIC_ICR_LO, 0x000c4500);      /* INIT, assert, all excluding self */
    udelay(10000);
    for (int i = 0; i < 2; i++) {
        lapic_write(LAPIC_ICR_LO, 0x000c4600 | (uint32_t)(page >> 12));    /* SIPI */
        udelay(200);
    }
    wait_until(aps_done >= expected_aps, timeout_us);
    if (ap_parked)
        printf("smp: %u APs beyond MAX_CPUS (%d) were parked\n", ap_parked, MAX_CPUS);
    return aps_done;
}
