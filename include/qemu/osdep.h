/*
 * Common includes and small helpers used by every kvmpc source file.
 * Include this first.
 */
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <errno.h>
#include <unistd.h>
#include <glib.h>
#include <pthread.h>
#include <glib-unix.h>

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(n, a) (((n) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(n, a) ((n) & ~((uint64_t)(a) - 1))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/*
 * Errors are GErrors in this domain.  The code selects the QMP error class
 * a monitor reports (see monitor/qmp.c); everything else uses GENERIC.
 */
#define KVMPC_ERROR kvmpc_error_quark()
GQuark kvmpc_error_quark(void);
typedef enum {
    KVMPC_ERROR_GENERIC,            /* QMP "GenericError" */
    KVMPC_ERROR_COMMAND_NOT_FOUND,  /* QMP "CommandNotFound" */
    KVMPC_ERROR_DEVICE_NOT_FOUND,   /* QMP "DeviceNotFound" */
    KVMPC_ERROR_DEVICE_NOT_ACTIVE,  /* QMP "DeviceNotActive" */
    KVMPC_ERROR_KVM_MISSING_CAP,    /* QMP "KVMMissingCap" */
} KvmpcErrorCode;

#define error_setg(errp, ...) \
    g_set_error((errp), KVMPC_ERROR, KVMPC_ERROR_GENERIC, __VA_ARGS__)

/* Print "kvmpc: <message>" on stderr (after a timestamp and the guest's
 * name when -msg timestamp=on / guest-name=on asked for them). */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void error_vreport(const char *fmt, va_list ap) G_GNUC_PRINTF(1, 0);
extern bool message_with_timestamp;
/* -name debug-threads=on: name the calling thread (no-op otherwise). */
extern bool thread_naming_enabled;
void qemu_thread_name_self(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
extern const char *message_guest_name;
/* Report and free an error. */
void error_report_err(GError *err);
/* Report an error and exit(1): for command-line and start-up failures. */
G_NORETURN void fatal_error(GError *err);

/* Parse "512M", "4G", "1024" (default unit: @default_unit bytes). */
bool parse_size(const char *str, uint64_t default_unit, uint64_t *out,
                GError **errp);
/* Parse an unsigned integer with C prefixes (0x, 0). */
bool parse_uint(const char *str, uint64_t *out, GError **errp);
bool parse_bool(const char *str, bool *out, GError **errp);

/* Little-endian load/store on byte buffers (guest structures). */
static inline uint16_t lduw_le_p(const void *p)
{ const uint8_t *b = p; return b[0] | (b[1] << 8); }
static inline uint32_t ldl_le_p(const void *p)
{ const uint8_t *b = p; return b[0] | (b[1] << 8) | (b[2] << 16) | ((uint32_t)b[3] << 24); }
static inline uint64_t ldq_le_p(const void *p)
{ return ldl_le_p(p) | ((uint64_t)ldl_le_p((const uint8_t *)p + 4) << 32); }
static inline void stw_le_p(void *p, uint16_t v)
{ uint8_t *b = p; b[0] = v; b[1] = v >> 8; }
static inline void stl_le_p(void *p, uint32_t v)
{ uint8_t *b = p; b[0] = v; b[1] = v >> 8; b[2] = v >> 16; b[3] = v >> 24; }
static inline void stq_le_p(void *p, uint64_t v)
{ stl_le_p(p, v); stl_le_p((uint8_t *)p + 4, v >> 32); }

#endif
