/*
 * libqtest: the client side of the qtest protocol (docs/qtest.md).
 *
 * A test starts kvmpc with -accel qtest, then reads and writes I/O ports
 * and guest memory, moves the virtual clock and watches interrupt lines,
 * all with no vCPU running.  Every call waits for kvmpc's reply; a reply
 * that is not "OK" (or kvmpc going away) fails the test with a message
 * naming the command, except in qtest_raw(), which hands the reply back.
 *
 * The kvmpc binary is $KVMPC_BINARY, else the one Meson built.
 * $QTEST_LOG=1 copies the protocol conversation to stderr.
 */
#ifndef TESTS_QTEST_LIBQTEST_H
#define TESTS_QTEST_LIBQTEST_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct QTestState QTestState;

/*
 * Start "kvmpc -accel qtest -qtest unix:SOCK -nodefaults -display none
 * -machine pc EXTRA_ARGS".  @extra_args is split like a shell would split
 * it (quotes work, no variables or globs).  When the default firmware is
 * missing and neither -bios nor -kernel is given, a blank 64 KiB firmware
 * image is passed so device tests still run.
 */
QTestState *qtest_init(const char *extra_args);
QTestState *qtest_initf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/*
 * The same session with QEMU 7.2 (@qemu: qemu-system-x86_64's path) as a
 * reference peer, for tests that compare kvmpc's answers with QEMU's:
 * Debian builds it without the qtest accelerator, so it runs under TCG,
 * stopped ("-accel tcg -S" follow @extra_args).  qtest_quit() ends it
 * with SIGTERM, since QEMU stays up when its qtest client leaves; its
 * status is then not kvmpc's.
 */
QTestState *qtest_init_qemu(const char *qemu, const char *extra_args);

/*
 * End the session: close the socket (kvmpc exits when its client goes),
 * wait for the process (killing it if it lingers) and free @s.  Returns
 * the exit status, or 128 + signal number.
 */
int qtest_quit(QTestState *s);
/*
 * Wait for kvmpc to exit by itself (isa-debug-exit, a guest shutdown);
 * returns its exit status, or 128 + signal.  @s stays valid for
 * qtest_quit(), which then only frees it and returns the same status.
 */
int qtest_wait_exit(QTestState *s);
/* The process id, for tests that need to signal it. */
int qtest_pid(QTestState *s);

/* Port I/O. */
void qtest_outb(QTestState *s, uint16_t addr, uint8_t value);
void qtest_outw(QTestState *s, uint16_t addr, uint16_t value);
void qtest_outl(QTestState *s, uint16_t addr, uint32_t value);
uint8_t qtest_inb(QTestState *s, uint16_t addr);
uint16_t qtest_inw(QTestState *s, uint16_t addr);
uint32_t qtest_inl(QTestState *s, uint16_t addr);

/* Guest-physical memory, little-endian. */
void qtest_writeb(QTestState *s, uint64_t addr, uint8_t value);
void qtest_writew(QTestState *s, uint64_t addr, uint16_t value);
void qtest_writel(QTestState *s, uint64_t addr, uint32_t value);
void qtest_writeq(QTestState *s, uint64_t addr, uint64_t value);
uint8_t qtest_readb(QTestState *s, uint64_t addr);
uint16_t qtest_readw(QTestState *s, uint64_t addr);
uint32_t qtest_readl(QTestState *s, uint64_t addr);
uint64_t qtest_readq(QTestState *s, uint64_t addr);
/* Buffers: hex encoded ("read"/"write") and base64 ("b64read"/"b64write"). */
void qtest_memread(QTestState *s, uint64_t addr, void *data, size_t size);
void qtest_memwrite(QTestState *s, uint64_t addr, const void *data,
                    size_t size);
void qtest_bufread(QTestState *s, uint64_t addr, void *data, size_t size);
void qtest_bufwrite(QTestState *s, uint64_t addr, const void *data,
                    size_t size);
void qtest_memset(QTestState *s, uint64_t addr, uint8_t pattern, size_t size);

/* The virtual clock (ns); each returns the clock afterwards. */
int64_t qtest_clock_step(QTestState *s, int64_t ns);
/* To the next armed virtual timer (stays put when none is armed). */
int64_t qtest_clock_step_next(QTestState *s);
int64_t qtest_clock_set(QTestState *s, int64_t ns);

/*
 * Interrupts.  After qtest_irq_intercept_in(s, "ioapic") kvmpc reports
 * every GSI level change; qtest_get_irq() returns the level last reported
 * for GSI @num (after a round trip, so changes already sent are seen).
 */
void qtest_irq_intercept_in(QTestState *s, const char *path);
void qtest_irq_intercept_out(QTestState *s, const char *path);
bool qtest_get_irq(QTestState *s, int num);
void qtest_set_irq_in(QTestState *s, const char *path, const char *name,
                      int num, int level);

/*
 * The CPU side of kvmpc's own LAPICs (kvmpc extensions, docs/qtest.md).
 * CPU @cpu's INTR pin is line QTEST_CPU_INTR(cpu) for qtest_get_irq();
 * qtest_intack() runs its interrupt acknowledge cycle and returns the
 * vector, or -1; qtest_cpu_events() returns the NMI/SMI/INIT/SIPI events
 * (QTEST_EVENT_*) since the last call and the last SIPI vector;
 * qtest_rdmsr/wrmsr return false when the access faults (#GP).
 */
#define QTEST_CPU_INTR(cpu)     (64 + (cpu))
#define QTEST_EVENT_NMI         0x1
#define QTEST_EVENT_SMI         0x2
#define QTEST_EVENT_INIT        0x4
#define QTEST_EVENT_SIPI        0x8
int qtest_intack(QTestState *s, unsigned cpu);
unsigned qtest_cpu_events(QTestState *s, unsigned cpu, uint8_t *sipi_vector);
bool qtest_rdmsr(QTestState *s, unsigned cpu, uint32_t msr, uint64_t *val);
bool qtest_wrmsr(QTestState *s, unsigned cpu, uint32_t msr, uint64_t val);

/*
 * Send one raw line (no newline needed) and return kvmpc's reply line
 * without its newline (g_free it).  IRQ lines are consumed on the way.
 * For tests of the protocol itself: the reply is not checked.
 */
char *qtest_raw(QTestState *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/*
 * The fw_cfg file @name through the legacy ports 0x510/0x511 (the file
 * directory, then the item), NUL-terminated; NULL when there is none.
 */
char *qtest_fw_cfg_file(QTestState *s, const char *name);

/* Bytes [@off, @off + @len) of host file @path (asserts they exist). */
uint8_t *qtest_file_range(const char *path, size_t off, size_t len);

/* The kvmpc binary the tests run ($KVMPC_BINARY or the one Meson built). */
const char *qtest_kvmpc_binary(void);

/*
 * Path of the default firmware kvmpc loads, or NULL when it is missing
 * (tests that depend on its contents skip then).
 */
const char *qtest_default_firmware(void);

#endif
