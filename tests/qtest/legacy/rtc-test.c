/*
 * MC146818 RTC and CMOS: clock registers in BCD/binary and 12/24-hour
 * modes, -rtc base=DATE with the time following the virtual clock (the
 * qtest default clock=vm), SET, UIP, periodic/alarm/update interrupts on
 * IRQ 8, register C, lost ticks given back with -rtc driftfix=slew (and
 * rtc-reset-reinjection), the CMOS bytes the pc machine fills, and the
 * start-up errors for bad -rtc / -boot values.
 */
#include "libqtest.h"
#include "libqvirtio.h"         /* its QMP helpers */
#include <sys/wait.h>
#include "hw/rtc/mc146818rtc.h"

#define NS_PER_SEC      1000000000LL
#define RTC_IRQ         8
/* Under -accel qtest the RTC follows the virtual clock by default. */
#define DATE_ARGS       "-rtc base=2006-06-17T16:01:21"

#define REG_A_UIP       0x80
#define REG_A_DEFAULT   0x26
#define REG_B_SET       0x80
#define REG_B_PIE       0x40
#define REG_B_AIE       0x20
#define REG_B_UIE       0x10
#define REG_B_BINARY    0x04
#define REG_B_24H       0x02
#define REG_C_IRQF      0x80
#define REG_C_PF        0x40
#define REG_C_AF        0x20
#define REG_C_UF        0x10

static uint8_t cmos_read(QTestState *s, uint8_t idx)
{
    qtest_outb(s, 0x70, idx);
    return qtest_inb(s, 0x71);
}

static void cmos_write(QTestState *s, uint8_t idx, uint8_t val)
{
    qtest_outb(s, 0x70, idx);
    qtest_outb(s, 0x71, val);
}

static QTestState *start_dated(void)
{
    QTestState *s = qtest_init(DATE_ARGS);

    qtest_irq_intercept_in(s, "ioapic");
    return s;
}

static void test_time_bcd(void)
{
    QTestState *s = start_dated();

    g_assert_cmphex(cmos_read(s, RTC_REG_B), ==, REG_B_24H);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x21);
    g_assert_cmphex(cmos_read(s, RTC_MINUTES), ==, 0x01);
    g_assert_cmphex(cmos_read(s, RTC_HOURS), ==, 0x16);
    g_assert_cmphex(cmos_read(s, RTC_DAY_OF_WEEK), ==, 7);  /* Saturday */
    g_assert_cmphex(cmos_read(s, RTC_DAY_OF_MONTH), ==, 0x17);
    g_assert_cmphex(cmos_read(s, RTC_MONTH), ==, 0x06);
    g_assert_cmphex(cmos_read(s, RTC_YEAR), ==, 0x06);
    g_assert_cmphex(cmos_read(s, RTC_CENTURY), ==, 0x20);
    g_assert_cmphex(cmos_read(s, RTC_REG_A), ==, REG_A_DEFAULT);
    g_assert_cmphex(cmos_read(s, RTC_REG_D), ==, 0x80);

    /* The time follows the virtual clock. */
    qtest_clock_step(s, NS_PER_SEC + NS_PER_SEC / 2);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x22);
    qtest_clock_step(s, 60 * NS_PER_SEC);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x22);
    g_assert_cmphex(cmos_read(s, RTC_MINUTES), ==, 0x02);
    /* Over midnight and into the next day/month. */
    qtest_clock_step(s, (int64_t)(7 * 3600 + 57 * 60 + 38) * NS_PER_SEC);
    g_assert_cmphex(cmos_read(s, RTC_HOURS), ==, 0x00);
    g_assert_cmphex(cmos_read(s, RTC_MINUTES), ==, 0x00);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x00);
    g_assert_cmphex(cmos_read(s, RTC_DAY_OF_MONTH), ==, 0x18);
    g_assert_cmphex(cmos_read(s, RTC_DAY_OF_WEEK), ==, 1);  /* Sunday */
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_time_binary_12h(void)
{
    QTestState *s = start_dated();

    cmos_write(s, RTC_REG_B, REG_B_BINARY | REG_B_24H);
    g_assert_cmpuint(cmos_read(s, RTC_SECONDS), ==, 21);
    g_assert_cmpuint(cmos_read(s, RTC_HOURS), ==, 16);
    g_assert_cmpuint(cmos_read(s, RTC_DAY_OF_MONTH), ==, 17);
    g_assert_cmpuint(cmos_read(s, RTC_YEAR), ==, 6);
    g_assert_cmpuint(cmos_read(s, RTC_CENTURY), ==, 20);

    /* 12-hour binary: 16:01 is 4 PM. */
    cmos_write(s, RTC_REG_B, REG_B_BINARY);
    g_assert_cmphex(cmos_read(s, RTC_HOURS), ==, 0x80 | 4);
    /* 12-hour BCD. */
    cmos_write(s, RTC_REG_B, 0);
    g_assert_cmphex(cmos_read(s, RTC_HOURS), ==, 0x84);

    /* Set 12:30:00 AM (00:30) in 12-hour BCD, then read it in 24h. */
    cmos_write(s, RTC_REG_B, REG_B_SET);
    cmos_write(s, RTC_HOURS, 0x12);
    cmos_write(s, RTC_MINUTES, 0x30);
    cmos_write(s, RTC_SECONDS, 0x00);
    cmos_write(s, RTC_REG_B, 0);
    cmos_write(s, RTC_REG_B, REG_B_24H);
    g_assert_cmphex(cmos_read(s, RTC_HOURS), ==, 0x00);
    g_assert_cmphex(cmos_read(s, RTC_MINUTES), ==, 0x30);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_set_freezes(void)
{
    QTestState *s = start_dated();

    cmos_write(s, RTC_REG_B, REG_B_24H | REG_B_SET | REG_B_UIE);
    /* SET clears UIE. */
    g_assert_cmphex(cmos_read(s, RTC_REG_B), ==, REG_B_24H | REG_B_SET);
    cmos_write(s, RTC_HOURS, 0x23);
    cmos_write(s, RTC_MINUTES, 0x59);
    cmos_write(s, RTC_SECONDS, 0x58);
    cmos_write(s, RTC_DAY_OF_MONTH, 0x31);
    cmos_write(s, RTC_MONTH, 0x12);
    cmos_write(s, RTC_YEAR, 0x99);
    cmos_write(s, RTC_CENTURY, 0x19);
    qtest_clock_step(s, 5 * NS_PER_SEC);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x58);
    g_assert_cmphex(cmos_read(s, RTC_REG_A) & REG_A_UIP, ==, 0);

    cmos_write(s, RTC_REG_B, REG_B_24H);
    qtest_clock_step(s, 3 * NS_PER_SEC);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x01);
    g_assert_cmphex(cmos_read(s, RTC_MINUTES), ==, 0x00);
    g_assert_cmphex(cmos_read(s, RTC_HOURS), ==, 0x00);
    g_assert_cmphex(cmos_read(s, RTC_DAY_OF_MONTH), ==, 0x01);
    g_assert_cmphex(cmos_read(s, RTC_MONTH), ==, 0x01);
    g_assert_cmphex(cmos_read(s, RTC_YEAR), ==, 0x00);
    g_assert_cmphex(cmos_read(s, RTC_CENTURY), ==, 0x20);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_uip(void)
{
    QTestState *s = start_dated();

    /* The clock started on a second boundary at virtual time 0. */
    g_assert_cmphex(cmos_read(s, RTC_REG_A) & REG_A_UIP, ==, 0);
    qtest_clock_step(s, NS_PER_SEC - 250000);
    g_assert_cmphex(cmos_read(s, RTC_REG_A) & REG_A_UIP, ==, 0);
    qtest_clock_step(s, 100000);
    g_assert_cmphex(cmos_read(s, RTC_REG_A) & REG_A_UIP, ==, REG_A_UIP);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x21);
    qtest_clock_step(s, 200000);
    g_assert_cmphex(cmos_read(s, RTC_REG_A) & REG_A_UIP, ==, 0);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x22);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Count IRQ 8 interrupts over @duration, stepping @step at a time. */
static unsigned count_irqs(QTestState *s, int64_t duration, int64_t step,
                           uint8_t flag)
{
    unsigned n = 0;

    for (int64_t t = 0; t < duration; t += step) {
        qtest_clock_step(s, step);
        if (qtest_get_irq(s, RTC_IRQ)) {
            g_assert_cmphex(cmos_read(s, RTC_REG_C) & (REG_C_IRQF | flag),
                            ==, REG_C_IRQF | flag);
            g_assert_false(qtest_get_irq(s, RTC_IRQ));
            n++;
        }
    }
    return n;
}

static void test_periodic(void)
{
    QTestState *s = start_dated();

    cmos_read(s, RTC_REG_C);
    /* RS = 6: 1024 Hz.  100 ms gives 102 or 103 interrupts. */
    cmos_write(s, RTC_REG_B, REG_B_24H | REG_B_PIE);
    unsigned n = count_irqs(s, 100000000, 250000, REG_C_PF);
    g_assert_cmpuint(n, >=, 102);
    g_assert_cmpuint(n, <=, 103);

    /* RS = 15: 2 Hz.  10 s gives 20. */
    cmos_write(s, RTC_REG_A, 0x20 | 0x0f);
    cmos_read(s, RTC_REG_C);
    n = count_irqs(s, 10 * NS_PER_SEC, 50000000, REG_C_PF);
    g_assert_cmpuint(n, ==, 20);

    /* RS = 0 stops it; PIE off leaves PF to be polled. */
    cmos_write(s, RTC_REG_A, 0x20);
    cmos_read(s, RTC_REG_C);
    qtest_clock_step(s, NS_PER_SEC);
    g_assert_false(qtest_get_irq(s, RTC_IRQ));
    cmos_write(s, RTC_REG_A, REG_A_DEFAULT);
    cmos_write(s, RTC_REG_B, REG_B_24H);
    cmos_read(s, RTC_REG_C);
    qtest_clock_step(s, 2000000);
    g_assert_false(qtest_get_irq(s, RTC_IRQ));
    g_assert_cmphex(cmos_read(s, RTC_REG_C) & REG_C_PF, ==, REG_C_PF);
    /* Enabling PIE with PF pending raises the line at once. */
    qtest_clock_step(s, 2000000);
    cmos_write(s, RTC_REG_B, REG_B_24H | REG_B_PIE);
    g_assert_true(qtest_get_irq(s, RTC_IRQ));
    g_assert_cmphex(cmos_read(s, RTC_REG_C), ==, REG_C_IRQF | REG_C_PF);
    g_assert_false(qtest_get_irq(s, RTC_IRQ));
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_update_irq(void)
{
    QTestState *s = start_dated();

    cmos_read(s, RTC_REG_C);
    cmos_write(s, RTC_REG_B, REG_B_24H | REG_B_UIE);
    qtest_clock_step(s, NS_PER_SEC / 2);
    g_assert_false(qtest_get_irq(s, RTC_IRQ));
    qtest_clock_step(s, NS_PER_SEC / 2);
    g_assert_true(qtest_get_irq(s, RTC_IRQ));
    /* PF is set too: the default rate (RS = 6) runs without PIE. */
    g_assert_cmphex(cmos_read(s, RTC_REG_C), ==,
                    REG_C_IRQF | REG_C_PF | REG_C_UF);
    g_assert_false(qtest_get_irq(s, RTC_IRQ));
    /* Register C reads clear. */
    g_assert_cmphex(cmos_read(s, RTC_REG_C), ==, 0);
    cmos_write(s, RTC_REG_A, 0x20);     /* no periodic flag from here on */
    g_assert_cmpuint(count_irqs(s, 10 * NS_PER_SEC, NS_PER_SEC / 4,
                                REG_C_UF), ==, 10);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_alarm(void)
{
    QTestState *s = start_dated();

    cmos_read(s, RTC_REG_C);
    cmos_write(s, RTC_HOURS_ALARM, 0x16);
    cmos_write(s, RTC_MINUTES_ALARM, 0x01);
    cmos_write(s, RTC_SECONDS_ALARM, 0x25);
    cmos_write(s, RTC_REG_B, REG_B_24H | REG_B_AIE);
    qtest_clock_step(s, 3 * NS_PER_SEC + NS_PER_SEC / 2);
    g_assert_false(qtest_get_irq(s, RTC_IRQ));
    qtest_clock_step(s, NS_PER_SEC);
    g_assert_true(qtest_get_irq(s, RTC_IRQ));
    g_assert_cmphex(cmos_read(s, RTC_REG_C), ==,
                    REG_C_IRQF | REG_C_PF | REG_C_AF | REG_C_UF);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x25);
    g_assert_false(qtest_get_irq(s, RTC_IRQ));

    /* Don't-care hours and minutes: second 0x30 of every minute. */
    cmos_write(s, RTC_HOURS_ALARM, 0xc0);
    cmos_write(s, RTC_MINUTES_ALARM, 0xff);
    cmos_write(s, RTC_SECONDS_ALARM, 0x30);
    g_assert_cmpuint(count_irqs(s, 120 * NS_PER_SEC, NS_PER_SEC / 2,
                                REG_C_AF), ==, 2);
    /* Polled: AF and UF are there without interrupts enabled. */
    cmos_write(s, RTC_REG_B, REG_B_24H);
    cmos_read(s, RTC_REG_C);
    cmos_write(s, RTC_SECONDS_ALARM, 0x40);     /* now 16:03:25 */
    qtest_clock_step(s, 30 * NS_PER_SEC);
    g_assert_false(qtest_get_irq(s, RTC_IRQ));
    g_assert_cmphex(cmos_read(s, RTC_REG_C) & (REG_C_AF | REG_C_UF), ==,
                    REG_C_AF | REG_C_UF);
    /* Seconds before the alarm was set do not count. */
    cmos_write(s, RTC_HOURS_ALARM, 0x03);
    cmos_write(s, RTC_MINUTES_ALARM, 0x00);
    cmos_write(s, RTC_SECONDS_ALARM, 0x00);
    qtest_clock_step(s, 3600 * NS_PER_SEC);
    g_assert_cmphex(cmos_read(s, RTC_REG_C) & REG_C_AF, ==, 0);
    qtest_clock_step(s, 2 * 86400 * NS_PER_SEC);
    g_assert_cmphex(cmos_read(s, RTC_REG_C) & REG_C_AF, ==, REG_C_AF);
    cmos_write(s, RTC_REG_B, REG_B_24H | REG_B_AIE);

    /* All three don't care: every second. */
    cmos_write(s, RTC_HOURS_ALARM, 0xff);
    cmos_write(s, RTC_MINUTES_ALARM, 0xc0);
    cmos_write(s, RTC_SECONDS_ALARM, 0xc0);
    cmos_read(s, RTC_REG_C);
    g_assert_cmpuint(count_irqs(s, 5 * NS_PER_SEC, NS_PER_SEC / 2,
                                REG_C_AF), ==, 5);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_index_nmi_bit(void)
{
    QTestState *s = start_dated();

    /* Bit 7 of the index (NMI disable) does not change the register. */
    qtest_outb(s, 0x70, 0x80 | RTC_REG_D);
    g_assert_cmphex(qtest_inb(s, 0x71), ==, 0x80);
    qtest_outb(s, 0x70, 0x80 | 0x40);
    qtest_outb(s, 0x71, 0x5a);
    g_assert_cmphex(cmos_read(s, 0x40), ==, 0x5a);
    g_assert_cmphex(qtest_inb(s, 0x70), ==, 0xff);
    /* Register C and D are read-only, A's UIP too. */
    cmos_write(s, RTC_REG_D, 0);
    g_assert_cmphex(cmos_read(s, RTC_REG_D), ==, 0x80);
    cmos_write(s, RTC_REG_A, REG_A_UIP | REG_A_DEFAULT);
    g_assert_cmphex(cmos_read(s, RTC_REG_A), ==, REG_A_DEFAULT);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_divider_reset(void)
{
    QTestState *s = start_dated();

    qtest_clock_step(s, NS_PER_SEC / 4);
    cmos_write(s, RTC_REG_A, 0x70 | 0x06);   /* divider held in reset */
    qtest_clock_step(s, 10 * NS_PER_SEC);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x21);
    cmos_write(s, RTC_REG_A, REG_A_DEFAULT);
    /* The first update comes half a second after the reset ends. */
    qtest_clock_step(s, NS_PER_SEC / 2 - 1000);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x21);
    qtest_clock_step(s, 1000);
    g_assert_cmphex(cmos_read(s, RTC_SECONDS), ==, 0x22);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_host_time(void)
{
    QTestState *s = qtest_init("-rtc base=utc");
    GDateTime *now = g_date_time_new_now_utc();
    unsigned year = g_date_time_get_year(now) % 100;

    g_assert_cmphex(cmos_read(s, RTC_YEAR), ==,
                    ((year / 10) << 4) | (year % 10));
    g_assert_cmphex(cmos_read(s, RTC_CENTURY), ==, 0x20);
    g_date_time_unref(now);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Memory sizes, CPUs, boot order and checksum as QEMU's pc fills them. */
static void test_cmos_memory(void)
{
    QTestState *s = qtest_init("-m 3584M -smp 2 -boot order=dc");
    unsigned sum = 0;

    g_assert_cmphex(cmos_read(s, CMOS_BASE_MEM_LO), ==, 0x80);  /* 640 */
    g_assert_cmphex(cmos_read(s, CMOS_BASE_MEM_HI), ==, 0x02);
    g_assert_cmphex(cmos_read(s, CMOS_EXT_MEM_LO), ==, 0xff);
    g_assert_cmphex(cmos_read(s, CMOS_EXT_MEM_HI), ==, 0xff);
    g_assert_cmphex(cmos_read(s, CMOS_EXT_MEM2_LO), ==, 0xff);
    g_assert_cmphex(cmos_read(s, CMOS_EXT_MEM2_HI), ==, 0xff);
    /* 3 GiB below 4G (split at 3G): (3G - 16M) / 64K = 0xbf00. */
    g_assert_cmphex(cmos_read(s, CMOS_MEM_16M_LO), ==, 0x00);
    g_assert_cmphex(cmos_read(s, CMOS_MEM_16M_HI), ==, 0xbf);
    /* 512 MiB above 4G: 0x2000 units. */
    g_assert_cmphex(cmos_read(s, CMOS_MEM_4G_0), ==, 0x00);
    g_assert_cmphex(cmos_read(s, CMOS_MEM_4G_1), ==, 0x20);
    g_assert_cmphex(cmos_read(s, CMOS_MEM_4G_2), ==, 0x00);
    g_assert_cmphex(cmos_read(s, CMOS_CPU_COUNT_M1), ==, 1);
    /* d (CD-ROM 3) first, c (disk 2) second. */
    g_assert_cmphex(cmos_read(s, CMOS_BOOT_ORDER_12), ==, 0x23);
    g_assert_cmphex(cmos_read(s, CMOS_BOOT_ORDER_3), ==, 0x00);
    g_assert_cmphex(cmos_read(s, CMOS_EQUIPMENT), ==, 0x06);
    g_assert_cmphex(cmos_read(s, CMOS_FLOPPY_TYPES), ==, 0x00);
    g_assert_cmphex(cmos_read(s, CMOS_DISK_TYPES), ==, 0x00);
    for (unsigned i = CMOS_CHECKSUM_FIRST; i <= CMOS_CHECKSUM_LAST; i++) {
        sum += cmos_read(s, i);
    }
    g_assert_cmphex(cmos_read(s, CMOS_CHECKSUM_HI), ==, sum >> 8);
    g_assert_cmphex(cmos_read(s, CMOS_CHECKSUM_LO), ==, sum & 0xff);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_cmos_small_memory(void)
{
    QTestState *s = qtest_init("-m 32M");

    /* 31 MiB from 1 MiB: 0x7c00 KiB; 16 MiB above 16 MiB: 0x100. */
    g_assert_cmphex(cmos_read(s, CMOS_EXT_MEM_LO), ==, 0x00);
    g_assert_cmphex(cmos_read(s, CMOS_EXT_MEM_HI), ==, 0x7c);
    g_assert_cmphex(cmos_read(s, CMOS_MEM_16M_LO), ==, 0x00);
    g_assert_cmphex(cmos_read(s, CMOS_MEM_16M_HI), ==, 0x01);
    g_assert_cmphex(cmos_read(s, CMOS_MEM_4G_1), ==, 0x00);
    g_assert_cmphex(cmos_read(s, CMOS_CPU_COUNT_M1), ==, 0);
    /* Default boot order "cad": disk, floppy, CD-ROM. */
    g_assert_cmphex(cmos_read(s, CMOS_BOOT_ORDER_12), ==, 0x12);
    g_assert_cmphex(cmos_read(s, CMOS_BOOT_ORDER_3), ==, 0x30);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_boot_once(void)
{
    QTestState *s = qtest_init("-boot once=d,order=nc");

    g_assert_cmphex(cmos_read(s, CMOS_BOOT_ORDER_12), ==, 0x03);
    g_assert_cmphex(cmos_read(s, CMOS_BOOT_ORDER_3), ==, 0x00);
    qtest_outb(s, 0x92, 0x01);          /* reset the machine */
    g_assert_cmphex(cmos_read(s, CMOS_BOOT_ORDER_12), ==, 0x24);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* kvmpc must refuse a bad option with one line on stderr, exit 1. */
static void expect_startup_error(const char *args, const char *needle)
{
    g_autofree char *cmd = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    int status;

    if (!qtest_default_firmware()) {
        g_test_skip("no default firmware");
        return;
    }
    cmd = g_strdup_printf("timeout 20 %s -accel qtest -display none "
                          "-nodefaults %s", qtest_kvmpc_binary(), args);
    g_assert_true(g_spawn_command_line_sync(cmd, &out, &err, &status,
                                            &error));
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    g_assert_nonnull(strstr(err, needle));
    g_assert_cmpint(strchr(err, '\n') - err + 1, ==, strlen(err));
}

/* 2 Hz periodic interrupts on; then @lost + 1 periods pass with the
 * guest not reading register C: one interrupt shown, @lost missed. */
static void miss_ticks(QTestState *s, unsigned lost)
{
    cmos_write(s, RTC_REG_A, 0x20 | 0x0f);
    cmos_write(s, RTC_REG_B, REG_B_24H | REG_B_PIE);
    cmos_read(s, RTC_REG_C);
    qtest_clock_step(s, NS_PER_SEC / 2);
    g_assert_true(qtest_get_irq(s, RTC_IRQ));
    qtest_clock_step(s, lost * NS_PER_SEC / 2);
}

/* Acknowledge interrupts while IRQ 8 is raised again at once; how many
 * times it was (at most @max reads). */
static unsigned ack_reraises(QTestState *s, unsigned max)
{
    unsigned n = 0;

    while (n < max) {
        g_assert_cmphex(cmos_read(s, RTC_REG_C) & (REG_C_IRQF | REG_C_PF), ==,
                        REG_C_IRQF | REG_C_PF);
        if (!qtest_get_irq(s, RTC_IRQ)) {
            break;
        }
        n++;
    }
    return n;
}

/* driftfix=slew: the 4 ticks missed come back on the acknowledgements,
 * one each (QEMU's reinjection on ack); without it they are gone. */
static void test_slew_on_ack(void)
{
    QTestState *s = qtest_init(DATE_ARGS ",driftfix=slew");

    qtest_irq_intercept_in(s, "ioapic");
    miss_ticks(s, 4);
    g_assert_cmpuint(ack_reraises(s, 10), ==, 4);
    g_assert_cmpint(qtest_quit(s), ==, 0);

    s = start_dated();
    miss_ticks(s, 4);
    g_assert_cmpuint(ack_reraises(s, 10), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* Interrupts over @duration: every time IRQ 8 is high, register C is
 * read (a reinjection may raise it again at once: read again). */
static unsigned count_slewed_irqs(QTestState *s, int64_t duration,
                                  int64_t step)
{
    unsigned n = 0;

    for (int64_t t = 0; t < duration; t += step) {
        qtest_clock_step(s, step);
        while (qtest_get_irq(s, RTC_IRQ)) {
            g_assert_cmphex(cmos_read(s, RTC_REG_C) & REG_C_PF, ==,
                            REG_C_PF);
            n++;
            g_assert_cmpuint(n, <, 1000);
        }
    }
    return n;
}

/* 25 missed: 20 come back on acknowledgements (QEMU's limit between two
 * real edges), the other 5 from the catch-up timer and the next
 * acknowledgements: 3 s then bring the 6 real interrupts and 5 more (one
 * real edge may fall on the last step's boundary). */
static void test_slew_catchup_timer(void)
{
    QTestState *s = qtest_init(DATE_ARGS ",driftfix=slew");
    unsigned n;

    qtest_irq_intercept_in(s, "ioapic");
    miss_ticks(s, 25);
    g_assert_cmpuint(ack_reraises(s, 30), ==, 20);
    n = count_slewed_irqs(s, 3 * NS_PER_SEC, NS_PER_SEC / 100);
    g_assert_cmpuint(n, >=, 10);
    g_assert_cmpuint(n, <=, 11);
    /* nothing owed any more: 2 Hz again */
    n = count_slewed_irqs(s, 3 * NS_PER_SEC, NS_PER_SEC / 100);
    g_assert_cmpuint(n, >=, 5);
    g_assert_cmpuint(n, <=, 6);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* QMP rtc-reset-reinjection forgets the backlog; -global sets the
 * policy as QEMU's property does; bad policies are refused. */
static void test_slew_reset_and_options(void)
{
    g_autofree char *sock = g_strdup_printf("/tmp/rtc-test-%d.sock",
                                            getpid());
    g_autofree char *args = g_strdup_printf(
        DATE_ARGS " -global mc146818rtc.lost_tick_policy=slew "
        "-qmp unix:%s,server=on,wait=off", sock);
    QTestState *s = qtest_init(args);
    QMPConn *c = qmp_connect(sock);

    qtest_irq_intercept_in(s, "ioapic");
    miss_ticks(s, 4);
    qmp_assert_ok(c, "{\"execute\": \"rtc-reset-reinjection\"}");
    g_assert_cmpuint(ack_reraises(s, 10), ==, 0);
    miss_ticks(s, 3);           /* the policy is slew (from -global) */
    g_assert_cmpuint(ack_reraises(s, 10), ==, 3);
    qmp_close(c);
    unlink(sock);
    g_assert_cmpint(qtest_quit(s), ==, 0);
    expect_startup_error("-global mc146818rtc.lost_tick_policy=delay",
                         "Invalid lost tick policy.");
    expect_startup_error("-global mc146818rtc.lost_tick_policy=often",
                         "doesn't take value 'often'");
}

static void test_bad_options(void)
{
    expect_startup_error("-rtc base=2006-13-01", "-rtc base=2006-13-01");
    expect_startup_error("-rtc base=yesterday", "-rtc base=yesterday");
    expect_startup_error("-rtc clock=wall", "-rtc clock=wall");
    expect_startup_error("-rtc base=utc,bogus=1", "bogus");
    expect_startup_error("-boot order=cdx", "Invalid boot device for PC");
    expect_startup_error("-boot order=cdan", "Too many boot devices");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rtc/time/bcd", test_time_bcd);
    g_test_add_func("/rtc/time/binary-12h", test_time_binary_12h);
    g_test_add_func("/rtc/time/set", test_set_freezes);
    g_test_add_func("/rtc/time/uip", test_uip);
    g_test_add_func("/rtc/time/divider-reset", test_divider_reset);
    g_test_add_func("/rtc/time/host", test_host_time);
    g_test_add_func("/rtc/irq/periodic", test_periodic);
    g_test_add_func("/rtc/irq/update", test_update_irq);
    g_test_add_func("/rtc/irq/alarm", test_alarm);
    g_test_add_func("/rtc/irq/slew-on-ack", test_slew_on_ack);
    g_test_add_func("/rtc/irq/slew-catchup-timer", test_slew_catchup_timer);
    g_test_add_func("/rtc/irq/slew-reset-and-options",
                    test_slew_reset_and_options);
    g_test_add_func("/rtc/registers", test_index_nmi_bit);
    g_test_add_func("/rtc/cmos/memory", test_cmos_memory);
    g_test_add_func("/rtc/cmos/small", test_cmos_small_memory);
    g_test_add_func("/rtc/cmos/boot-once", test_boot_once);
    g_test_add_func("/rtc/options", test_bad_options);
    return g_test_run();
}
