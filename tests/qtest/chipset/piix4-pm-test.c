/*
 * PIIX4 function 3 (ACPI power management): PMBA/PMIOSE, the PM timer,
 * PM1 status/enable/control, SCI on IRQ 9, GPE0, the APM port, sleep
 * states.
 */
#include "pci-helpers.h"
#include <glib/gstdio.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PM              DEVFN(1, 3)
#define PMBA            0x40
#define DEVACTB         0x58
#define PMREGMISC       0x80
#define PM_BASE         0x600
#define PM1_STS         (PM_BASE + 0)
#define PM1_EN          (PM_BASE + 2)
#define PM1_CNT         (PM_BASE + 4)
#define PM_TMR          (PM_BASE + 8)
#define GPE0            0xafe0
#define APM_CNT         0xb2
#define APM_STS         0xb3
#define SCI_GSI         9
#define TMR_BIT         0x0001
#define PWRBTN_BIT      0x0100
#define SCI_EN          0x0001
#define SLP_EN          0x2000
#define PM_FREQ         3579545ULL
#define NS              1000000000LL

static QTestState *start_with_pm(void)
{
    QTestState *s = qtest_init("");

    cfg_writel(s, PM, PMBA, PM_BASE | 1);
    cfg_writeb(s, PM, PMREGMISC, 1);
    return s;
}

static void test_config(void)
{
    QTestState *s = qtest_init("");

    g_assert_cmphex(cfg_readl(s, PM, PMBA), ==, 0x00000001);
    /* SMM "already set up" (APMC_EN), so firmware skips SMM init. */
    g_assert_cmphex(cfg_readl(s, PM, DEVACTB), ==, 0x02000000);
    g_assert_cmphex(cfg_readb(s, PM, PMREGMISC), ==, 0);
    g_assert_cmphex(qtest_inw(s, PM1_CNT), ==, 0xffff);

    /* PMBA: bits 15:6 writable, bit 0 reads 1. */
    cfg_writel(s, PM, PMBA, 0xffffffff);
    g_assert_cmphex(cfg_readl(s, PM, PMBA), ==, 0x0000ffc1);
    cfg_writel(s, PM, PMBA, PM_BASE);
    g_assert_cmphex(cfg_readl(s, PM, PMBA), ==, PM_BASE | 1);
    g_assert_cmphex(qtest_inw(s, PM1_CNT), ==, 0xffff);
    cfg_writeb(s, PM, PMREGMISC, 0xff);
    g_assert_cmphex(cfg_readb(s, PM, PMREGMISC), ==, 0x01);
    /* No SMM: ACPI mode (SCI_EN) from reset. */
    g_assert_cmphex(qtest_inw(s, PM1_CNT), ==, SCI_EN);

    /* Moving the block. */
    cfg_writel(s, PM, PMBA, 0xb000);
    g_assert_cmphex(qtest_inw(s, PM1_CNT), ==, 0xffff);
    g_assert_cmphex(qtest_inw(s, 0xb004), ==, SCI_EN);
    /* Holes in the block read all-ones. */
    g_assert_cmphex(qtest_inl(s, 0xb028), ==, 0xffffffff);
    cfg_writeb(s, PM, PMREGMISC, 0);
    g_assert_cmphex(qtest_inw(s, 0xb004), ==, 0xffff);
    qtest_quit(s);
}

static uint32_t tmr(QTestState *s)
{
    return qtest_inl(s, PM_TMR);
}

static void test_timer(void)
{
    QTestState *s = start_with_pm();
    uint32_t t0, t1;
    int64_t now = qtest_clock_step(s, 0);

    t0 = tmr(s);
    g_assert_cmphex(t0, ==, (uint32_t)(now * PM_FREQ / NS) & 0xffffff);
    qtest_clock_step(s, NS);
    t1 = tmr(s);
    g_assert_cmpuint((t1 - t0) & 0xffffff, >=, PM_FREQ - 1);
    g_assert_cmpuint((t1 - t0) & 0xffffff, <=, PM_FREQ + 1);
    /* 24 bits: it wraps after 2^24 ticks (4.69 s). */
    for (int i = 0; i < 10; i++) {
        qtest_clock_step(s, NS);
        g_assert_cmphex(tmr(s) & 0xff000000, ==, 0);
    }
    /* Writes are ignored. */
    qtest_outl(s, PM_TMR, 0);
    g_assert_cmpuint(tmr(s), !=, 0);
    qtest_quit(s);
}

/* TMR_STS sets when bit 23 toggles; write 1 clears it. */
static void test_timer_status(void)
{
    QTestState *s = start_with_pm();

    g_assert_cmphex(qtest_inw(s, PM1_STS), ==, 0);
    qtest_clock_step(s, NS);
    g_assert_cmphex(qtest_inw(s, PM1_STS), ==, 0);
    qtest_clock_step(s, 2 * NS);     /* past 2^23 ticks = 2.34 s */
    g_assert_cmphex(qtest_inw(s, PM1_STS), ==, TMR_BIT);
    /* A byte write to the other half clears nothing. */
    qtest_outb(s, PM1_STS + 1, 0xff);
    g_assert_cmphex(qtest_inw(s, PM1_STS), ==, TMR_BIT);
    /* Writing 0 clears nothing; writing 1 clears. */
    qtest_outw(s, PM1_STS, 0);
    g_assert_cmphex(qtest_inw(s, PM1_STS), ==, TMR_BIT);
    qtest_outw(s, PM1_STS, TMR_BIT);
    g_assert_cmphex(qtest_inw(s, PM1_STS), ==, 0);
    /* Status bits cannot be set by software. */
    qtest_outw(s, PM1_STS, 0xffff);
    g_assert_cmphex(qtest_inw(s, PM1_STS), ==, 0);
    qtest_quit(s);
}

/* The first clock value at which the timer reads @ticks. */
static int64_t ticks_to_ns(uint64_t ticks)
{
    return (ticks * NS + PM_FREQ - 1) / PM_FREQ;
}

static void test_sci(void)
{
    QTestState *s = start_with_pm();
    int64_t overflow = ticks_to_ns(1 << 23);
    int64_t now;

    qtest_irq_intercept_in(s, "ioapic");
    g_assert_false(qtest_get_irq(s, SCI_GSI));
    qtest_outw(s, PM1_EN, PWRBTN_BIT | TMR_BIT);
    g_assert_cmphex(qtest_inw(s, PM1_EN), ==, PWRBTN_BIT | TMR_BIT);
    g_assert_false(qtest_get_irq(s, SCI_GSI));

    /* The timer overflow raises SCI by itself, at the 2^23 boundary. */
    now = qtest_clock_step(s, 0);
    g_assert_cmpint(now, <, overflow - 1);
    qtest_clock_set(s, overflow - 1);
    g_assert_false(qtest_get_irq(s, SCI_GSI));
    qtest_clock_set(s, overflow);
    g_assert_true(qtest_get_irq(s, SCI_GSI));
    g_assert_cmphex(qtest_inw(s, PM1_STS), ==, TMR_BIT);

    /* Clearing the status (or the enable) drops it; level triggered. */
    qtest_outw(s, PM1_STS, TMR_BIT);
    g_assert_false(qtest_get_irq(s, SCI_GSI));
    qtest_clock_set(s, ticks_to_ns(2 << 23));
    g_assert_true(qtest_get_irq(s, SCI_GSI));
    qtest_outw(s, PM1_EN, PWRBTN_BIT);
    g_assert_false(qtest_get_irq(s, SCI_GSI));
    qtest_outw(s, PM1_EN, PWRBTN_BIT | TMR_BIT);
    g_assert_true(qtest_get_irq(s, SCI_GSI));
    qtest_outb(s, PM1_STS, TMR_BIT);
    g_assert_false(qtest_get_irq(s, SCI_GSI));
    qtest_quit(s);
}

static void test_gpe(void)
{
    QTestState *s = qtest_init("");

    g_assert_cmphex(qtest_inl(s, GPE0), ==, 0);
    qtest_outw(s, GPE0 + 2, 0x1234);
    g_assert_cmphex(qtest_inl(s, GPE0), ==, 0x12340000);
    qtest_outb(s, GPE0 + 3, 0xff);
    g_assert_cmphex(qtest_inw(s, GPE0 + 2), ==, 0xff34);
    /* Status is write-1-to-clear: software cannot set it. */
    qtest_outw(s, GPE0, 0xffff);
    g_assert_cmphex(qtest_inw(s, GPE0), ==, 0);
    qtest_quit(s);
}

static void test_apm(void)
{
    QTestState *s = start_with_pm();

    qtest_outb(s, APM_CNT, 0xf0);       /* ACPI_DISABLE */
    g_assert_cmphex(qtest_inw(s, PM1_CNT), ==, 0);
    g_assert_cmphex(qtest_inb(s, APM_CNT), ==, 0xf0);
    qtest_outb(s, APM_CNT, 0xf1);       /* ACPI_ENABLE */
    g_assert_cmphex(qtest_inw(s, PM1_CNT), ==, SCI_EN);
    qtest_outb(s, APM_CNT, 0x42);       /* other commands: no SMM here */
    g_assert_cmphex(qtest_inw(s, PM1_CNT), ==, SCI_EN);
    qtest_outb(s, APM_STS, 0x5a);
    g_assert_cmphex(qtest_inb(s, APM_STS), ==, 0x5a);
    qtest_quit(s);
}

static void test_sleep_s5(void)
{
    QTestState *s = start_with_pm();

    qtest_outw(s, PM1_CNT, SCI_EN | (0 << 10) | SLP_EN);
    g_assert_cmpint(qtest_wait_exit(s), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

static void test_sleep_s4(void)
{
    QTestState *s = start_with_pm();

    /* SLP_TYP in the high byte, written alone. */
    qtest_outb(s, PM1_CNT + 1, (2 << 2) | (SLP_EN >> 8));
    g_assert_cmpint(qtest_wait_exit(s), ==, 0);
    g_assert_cmpint(qtest_quit(s), ==, 0);
}

/* S3 is not supported: ignored, SLP_EN reads back 0, the VM goes on. */
static void test_sleep_s3_ignored(void)
{
    QTestState *s = start_with_pm();

    qtest_outw(s, PM1_CNT, SCI_EN | (1 << 10) | SLP_EN);
    g_assert_cmphex(qtest_inw(s, PM1_CNT), ==, SCI_EN | (1 << 10));
    g_assert_cmphex(cfg_readl(s, PM, 0x00), ==, 0x71138086);
    qtest_quit(s);
}

/* ---- the power button, pressed through the human monitor ------------- */

static int monitor_connect(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpuint(strlen(path), <, sizeof(addr.sun_path));
    strcpy(addr.sun_path, path);
    for (int tries = 0; tries < 500; tries++) {
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
            return fd;
        }
        g_usleep(10000);
    }
    g_error("cannot connect to the monitor at %s: %s", path, strerror(errno));
}

/* Read until the monitor prompt has appeared @prompts more times. */
static void monitor_wait_prompts(int fd, int prompts)
{
    GString *buf = g_string_new(NULL);
    int seen = 0;

    while (seen < prompts) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        char chunk[256];
        ssize_t n;

        g_assert_cmpint(poll(&pfd, 1, 10000), ==, 1);
        n = read(fd, chunk, sizeof(chunk));
        g_assert_cmpint(n, >, 0);
        g_string_append_len(buf, chunk, n);
        seen = 0;
        for (const char *p = buf->str; (p = strstr(p, "(qemu) ")); p++) {
            seen++;
        }
    }
    g_string_free(buf, TRUE);
}

static void monitor_command(const char *path, const char *cmd)
{
    int fd = monitor_connect(path);
    g_autofree char *line = g_strdup_printf("%s\n", cmd);

    monitor_wait_prompts(fd, 1);
    g_assert_cmpint(write(fd, line, strlen(line)), ==, (ssize_t)strlen(line));
    monitor_wait_prompts(fd, 1);
    close(fd);
}

/* The powerdown request is carried out by the main loop: poll for it. */
static uint16_t wait_pm1_sts(QTestState *s, uint16_t want)
{
    uint16_t sts = 0;

    for (int tries = 0; tries < 200 && sts != want; tries++) {
        sts = qtest_inw(s, PM1_STS);
        if (sts != want) {
            g_usleep(5000);
        }
    }
    return sts;
}

static void test_power_button(void)
{
    g_autofree char *dir = g_dir_make_tmp("kvmpc-pm-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "mon.sock", NULL);
    QTestState *s = qtest_initf("-monitor unix:%s,server=on,wait=off", path);

    cfg_writel(s, PM, PMBA, PM_BASE | 1);
    cfg_writeb(s, PM, PMREGMISC, 1);
    qtest_irq_intercept_in(s, "ioapic");

    /* Not enabled by the OS yet: the press is lost (as QEMU). */
    monitor_command(path, "system_powerdown");
    g_assert_cmphex(wait_pm1_sts(s, PWRBTN_BIT), ==, 0);
    g_assert_false(qtest_get_irq(s, SCI_GSI));

    qtest_outw(s, PM1_EN, PWRBTN_BIT);
    monitor_command(path, "system_powerdown");
    g_assert_cmphex(wait_pm1_sts(s, PWRBTN_BIT), ==, PWRBTN_BIT);
    g_assert_true(qtest_get_irq(s, SCI_GSI));
    qtest_outw(s, PM1_STS, PWRBTN_BIT);
    g_assert_cmphex(qtest_inw(s, PM1_STS), ==, 0);
    g_assert_false(qtest_get_irq(s, SCI_GSI));
    qtest_quit(s);
    g_unlink(path);
    g_rmdir(dir);
}

static void test_reset(void)
{
    QTestState *s = start_with_pm();

    qtest_outw(s, PM1_EN, TMR_BIT);
    qtest_outw(s, GPE0 + 2, 0xffff);
    qtest_outb(s, 0xcf9, 0x06);
    g_assert_cmphex(cfg_readl(s, PM, PMBA), ==, 1);
    g_assert_cmphex(cfg_readb(s, PM, PMREGMISC), ==, 0);
    g_assert_cmphex(qtest_inw(s, PM1_EN), ==, 0xffff);   /* unmapped */
    g_assert_cmphex(qtest_inl(s, GPE0), ==, 0);
    cfg_writel(s, PM, PMBA, PM_BASE | 1);
    cfg_writeb(s, PM, PMREGMISC, 1);
    g_assert_cmphex(qtest_inw(s, PM1_EN), ==, 0);
    qtest_quit(s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/piix4-pm/config", test_config);
    g_test_add_func("/piix4-pm/timer", test_timer);
    g_test_add_func("/piix4-pm/timer-status", test_timer_status);
    g_test_add_func("/piix4-pm/sci", test_sci);
    g_test_add_func("/piix4-pm/gpe", test_gpe);
    g_test_add_func("/piix4-pm/apm", test_apm);
    g_test_add_func("/piix4-pm/sleep-s5", test_sleep_s5);
    g_test_add_func("/piix4-pm/sleep-s4", test_sleep_s4);
    g_test_add_func("/piix4-pm/sleep-s3-ignored", test_sleep_s3_ignored);
    g_test_add_func("/piix4-pm/power-button", test_power_button);
    g_test_add_func("/piix4-pm/reset", test_reset);
    return g_test_run();
}
