/*
 * Character devices: host-side byte streams (stdio, file, null, ...) that
 * frontends (serial ports, monitors, debugcon) attach to.
 *
 * Output: the frontend calls qemu_chr_write_all().  Input: the backend calls
 * qemu_chr_be_write(), which hands bytes to the frontend only as fast as its
 * can_read() allows; the rest waits until qemu_chr_fe_accept_input().
 * All on the main thread / with the big lock held, except for chardevs
 * moved to another GMainContext (qemu_chr_set_gcontext: a QMP monitor's
 * socket, read in the monitor I/O thread): their sources run in that
 * context's thread, and qemu_chr_write_all / qemu_chr_fe_accept_input
 * may then be called from any thread.
 */
#ifndef CHARDEV_CHAR_H
#define CHARDEV_CHAR_H
#include "qemu/osdep.h"

typedef struct Chardev Chardev;

typedef enum ChrEvent {
    CHR_EVENT_OPENED,   /* backend connected (socket client came, ...) */
    CHR_EVENT_CLOSED,
    CHR_EVENT_BREAK,
    CHR_EVENT_MUX_IN,   /* mux focus moved to this frontend */
    CHR_EVENT_MUX_OUT,
} ChrEvent;

typedef int ChrCanReadHandler(void *opaque);
typedef void ChrReadHandler(void *opaque, const uint8_t *buf, int len);
typedef void ChrEventHandler(void *opaque, ChrEvent event);
/* The backend can take output again (see qemu_chr_fe_wait_writable). */
typedef void ChrWritableHandler(void *opaque);

typedef struct ChardevDriver {
    const char *name;             /* "stdio", "file", ... as in -chardev */
    /* Open with the -chardev options (keys other than id/backend). */
    bool (*open)(Chardev *chr, GHashTable *opts, GError **errp);
    /* Write what can be written now; returns bytes written or -1. */
    int (*write)(Chardev *chr, const uint8_t *buf, int len);
    /*
     * Optional: take at most what fits in the backend's buffer now,
     * without blocking and without queueing more than a bounded amount;
     * returns the bytes taken (0..len, 0 when full).  A backend that
     * returns short calls qemu_chr_be_writable() once it has room again.
     * Bytes for a connection that is gone count as taken (dropped).
     * NULL: the backend never refuses (write() is used).
     */
    int (*write_nb)(Chardev *chr, const uint8_t *buf, int len);
    /* Frontend can read again: resume watching input. */
    void (*accept_input)(Chardev *chr);
    void (*close)(Chardev *chr);
    size_t state_size;            /* driver state allocated after Chardev */
    /*
     * The -chardev keys this backend takes (NULL-terminated), besides the
     * common id/backend/mux/logfile/logappend; others are rejected as
     * QEMU does.  NULL: no checking.
     */
    const char *const *opts;
    /*
     * Optional.  A driver that hosts several frontends (the mux) takes
     * over frontend attach/detach; @opaque identifies the frontend.
     */
    bool (*fe_set_handlers)(Chardev *chr, ChrCanReadHandler *can_read,
                            ChrReadHandler *read, ChrEventHandler *event,
                            void *opaque, GError **errp);
    /* Optional: is any frontend attached (query-chardev frontend-open)? */
    bool (*fe_is_open)(Chardev *chr);
    /* Optional: drop the current connection (socket); false if none. */
    bool (*disconnect)(Chardev *chr);
    /*
     * Optional: the frontend's side opened or closed (a virtserialport
     * the guest opened: qemu_chr_fe_set_open), for backends that tell
     * their peer (SPICE's agent and ports).
     */
    void (*fe_open_changed)(Chardev *chr, bool open);
    /*
     * Optional: move every source of the chardev to @ctx and set
     * chr->gcontext (qemu_chr_set_gcontext, write_lock held).  Only drivers that create
     * all their sources with the chr_add_* helpers below and keep their
     * output state under write_lock have it (QEMU's
     * QEMU_CHAR_FEATURE_GCONTEXT).
     */
    void (*set_gcontext)(Chardev *chr, GMainContext *ctx);
} ChardevDriver;

struct Chardev {
    char *id;
    const ChardevDriver *driver;
    char *filename;               /* query-chardev "filename", e.g. "stdio" */
    bool be_open;                 /* backend connected */
    /* frontend */
    ChrCanReadHandler *fe_can_read;
    ChrReadHandler *fe_read;
    ChrEventHandler *fe_event;
    void *fe_opaque;
    bool fe_open;
    bool fe_closed;               /* qemu_chr_fe_set_open(false) */
    int logfd;                    /* logfile=: copy of all output, or -1 */
    void *state;                  /* the driver's own state */
    GByteArray *pending_in;       /* input held back by can_read */
    int msgfds[16];               /* passed with SCM_RIGHTS (latest batch) */
    unsigned nr_msgfds;
    /* qemu_chr_fe_wait_writable: who to call when output has room */
    ChrWritableHandler *fe_writable;
    void *fe_writable_opaque;
    /* Where the chardev's sources run; NULL: the main loop's context. */
    GMainContext *gcontext;
    /*
     * Serialises output (whole qemu_chr_write_all calls, so replies from
     * two threads never interleave) and the driver's connection state
     * that output uses.  Recursive: a writable callback may write.
     */
    GRecMutex write_lock;
    guint accept_input_idle;      /* cross-thread accept_input pending */
};

void chardev_driver_register(const ChardevDriver *drv);
#define chardev_init(fn) \
    static void __attribute__((constructor)) fn##_ctor(void) { fn(); }

/* "-chardev BACKEND,id=ID,opts..." */
Chardev *qemu_chr_new_from_opts(const char *opts, GError **errp);
/*
 * A -serial/-monitor/-qmp style spec ("stdio", "file:PATH", "null",
 * "unix:PATH,server=on", "tcp:HOST:PORT", "pty", "chardev:ID", "mon:stdio",
 * "none") under id @id.  "none" returns NULL without error.
 */
Chardev *qemu_chr_new_from_spec(const char *id, const char *spec,
                                GError **errp);
Chardev *qemu_chr_find(const char *id);
/* All chardevs in creation order. */
GPtrArray *qemu_chr_list(void);
void qemu_chr_delete(Chardev *chr);
void qemu_chr_delete_all(void);

/* Frontend side. */
/*
 * Attach a frontend (@read or @event non-NULL) or detach it (all NULL).
 * A plain chardev has one frontend and a new attach replaces the old one;
 * a mux adds one frontend per distinct @opaque (so detach from a mux with
 * the same @opaque you attached with).  The frontend gets
 * CHR_EVENT_OPENED at once if the backend is already connected.
 */
void qemu_chr_fe_set_handlers(Chardev *chr, ChrCanReadHandler *can_read,
                              ChrReadHandler *read, ChrEventHandler *event,
                              void *opaque);
/*
 * As qemu_chr_fe_set_handlers for attaching, but fails instead of
 * replacing when @chr already has a frontend that is not @opaque (QEMU's
 * "Device 'x' is in use"), or when a mux has no room left.
 */
bool qemu_chr_fe_attach(Chardev *chr, ChrCanReadHandler *can_read,
                        ChrReadHandler *read, ChrEventHandler *event,
                        void *opaque, GError **errp);
/* Is a frontend attached (for a mux: any), and open (query-chardev's
 * frontend-open)? */
bool qemu_chr_fe_is_open(Chardev *chr);
/*
 * An attached frontend says whether its side is open (a virtserialport:
 * whether the guest opened the port), as QEMU's qemu_chr_fe_set_open;
 * attaching opens it.
 */
void qemu_chr_fe_set_open(Chardev *chr, bool open);
/*
 * Close the current connection, e.g. when a monitor gives up on a client.
 * Input stops at once; output already written is flushed first, and
 * CHR_EVENT_CLOSED follows from the chardev's context (the main loop, or
 * the monitor I/O thread for a QMP socket).  Returns false when the
 * backend has no connections to close (stdio, file, ...).
 */
bool qemu_chr_fe_disconnect(Chardev *chr);
int qemu_chr_write_all(Chardev *chr, const uint8_t *buf, int len);
void qemu_chr_fe_accept_input(Chardev *chr);
/*
 * A descriptor the peer of a UNIX socket passed with SCM_RIGHTS along
 * with its input (QMP getfd); the caller owns it.  -1 when none.
 */
int qemu_chr_fe_get_msgfd(Chardev *chr);
/*
 * Output with flow control, for frontends that must neither lose bytes
 * nor block the main loop (virtio-serial ports): write what the backend
 * takes now and return that count (0..len).  After a short count, ask
 * qemu_chr_fe_wait_writable() to be called back, and write the rest then.
 * Backends without a bounded buffer take everything, as
 * qemu_chr_write_all; bytes for a connection that is gone are dropped
 * (counted as taken), as QEMU does.
 */
int qemu_chr_fe_write_nb(Chardev *chr, const uint8_t *buf, int len);
/*
 * Call @fn(@opaque) once, from the main loop, when @chr can take output
 * again or its connection closed (one waiter per chardev; a new call
 * replaces it, @fn NULL cancels it).
 */
void qemu_chr_fe_wait_writable(Chardev *chr, ChrWritableHandler *fn,
                               void *opaque);
static inline void qemu_chr_printf_str(Chardev *chr, const char *s)
{ if (chr) qemu_chr_write_all(chr, (const uint8_t *)s, strlen(s)); }

/* Is @chr the mux side of a "mon:" / mux=on chardev? */
bool qemu_chr_is_mux(const Chardev *chr);

/* Backend side. */
void qemu_chr_be_write(Chardev *chr, const uint8_t *buf, int len);
void qemu_chr_be_event(Chardev *chr, ChrEvent event);
/* Output has room again: run the frontend's qemu_chr_fe_wait_writable. */
void qemu_chr_be_writable(Chardev *chr);

/*
 * Run @chr's sources in @ctx from now on (its thread owns them).  False,
 * changing nothing, when the driver cannot (stdio, file, mux, ...).  Call
 * from the main thread with the frontend already attached.
 */
bool qemu_chr_set_gcontext(Chardev *chr, GMainContext *ctx);
/* Sources in the chardev's context (ids for chr_remove_source). */
guint chr_add_fd_watch(Chardev *chr, int fd, GIOCondition cond,
                       GUnixFDSourceFunc fn, gpointer data,
                       GDestroyNotify destroy);
guint chr_add_idle(Chardev *chr, GSourceFunc fn, gpointer data);
guint chr_add_timeout_seconds(Chardev *chr, guint secs, GSourceFunc fn,
                              gpointer data);
/* Remove a source added by the helpers above (0 is ignored). */
void chr_remove_source(Chardev *chr, guint id);

/* Put every stdio terminal back the way it was (exit paths, signals). */
void qemu_chr_restore_terminals(void);

#endif
