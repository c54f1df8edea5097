/*
 * Postcopy live migration.  The destination's half: guest RAM the source
 * still has to send is left unmapped here and registered with
 * userfaultfd (Linux Documentation/admin-guide/mm/userfaultfd.rst), so
 * the guest runs on this side at once and every access to a page that
 * has not arrived yet (a vCPU through KVM, a device, the kernel doing
 * I/O into guest memory) waits in the kernel while the fault thread asks
 * the source for it on the return path.  The loading thread places each
 * page atomically with UFFDIO_COPY (UFFDIO_ZEROPAGE for zero pages),
 * which wakes whoever waits for it.
 *
 * The return path (destination to source, on the migration socket) after
 * POSTCOPY_RUN carries messages of a u8 type and big-endian fields:
 *   MIG_RP_REFUSED / MIG_RP_LOADED   the device state was refused / loaded
 *                                    (the guest runs here from now on)
 *   MIG_RP_REQ_PAGE   u32 block, u64 page offset: a fault wants this page
 *   MIG_RP_MISSING    (a resumed connection's first message) u32 blocks,
 *                     each u64 pages and ceil(pages / 64) u64 bitmap
 *                     words: the pages that never arrived
 *   MIG_RP_DONE       every page is here: the migration is complete
 *
 * Thread use: the loading thread places pages; the fault thread reads the
 * userfaultfd; return-path writes from either (and from the main loop's
 * LOADED) are serialised by a mutex.  Nothing here takes the big lock:
 * the main thread may itself be waiting for a page.
 */
#ifndef MIGRATION_POSTCOPY_H
#define MIGRATION_POSTCOPY_H
#include "qemu/osdep.h"

enum {
    MIG_RP_REFUSED = 0,     /* = MIG_ANSWER_REFUSED */
    MIG_RP_LOADED = 1,      /* = MIG_ANSWER_LOADED */
    MIG_RP_REQ_PAGE = 0x10,
    MIG_RP_MISSING = 0x11,
    MIG_RP_DONE = 0x12,
};

typedef struct PostcopyIncoming PostcopyIncoming;

/* Can this host do the destination's part (userfaultfd for guest RAM)? */
bool postcopy_incoming_supported(GError **errp);

/*
 * Start postcopy: @discard (one bitmap per block of @blocks, RamBlock *)
 * marks the pages whose copy here is stale; they are dropped, all RAM is
 * registered with userfaultfd and the fault thread starts asking for
 * missing pages on @rp_fd.  @discard is kept (it becomes the bitmap of
 * missing pages).
 */
PostcopyIncoming *postcopy_incoming_listen(GPtrArray *blocks,
                                           unsigned long **discard,
                                           int rp_fd, GError **errp);
/* Place a page that arrived (@data NULL: a zero page); the loading thread
 * only.  A page that is already here is left alone. */
bool postcopy_place_page(PostcopyIncoming *pc, unsigned block,
                         uint64_t offset, const void *data, GError **errp);
uint64_t postcopy_missing_pages(PostcopyIncoming *pc);

/*
 * The postcopy-blocktime capability (migration/postcopy-blocktime.c):
 * a context that counts how long vCPUs wait for pages, from the vCPU
 * threads that exist now; it replaces the previous one, which stays
 * readable until then.  _fault from the fault thread (the faulting
 * thread's id, the page's host address), _placed from the loading thread
 * after the page's missing bit is cleared.
 */
typedef struct PostcopyBlocktime PostcopyBlocktime;
PostcopyBlocktime *postcopy_blocktime_start(void);
void postcopy_blocktime_fault(PostcopyBlocktime *bt, int tid,
                              uint64_t page_addr);
void postcopy_blocktime_placed(PostcopyBlocktime *bt, uint64_t page_addr);
/* The latest context's totals in ms: all vCPUs at once, and each vCPU's
 * (@nr of them, g_free the array); false when postcopy never counted. */
bool postcopy_blocktime_report(uint32_t *all_ms, uint32_t **per_vcpu_ms,
                               unsigned *nr);
uint64_t postcopy_requests(PostcopyIncoming *pc);

/* One return-path message (serialised with the fault thread's). */
bool postcopy_rp_send(PostcopyIncoming *pc, const void *msg, size_t len);
/* The connection broke: faults are remembered, not sent. */
void postcopy_rp_detach(PostcopyIncoming *pc);
/* A resumed connection: send MIG_RP_MISSING, then again every page a
 * fault asked for and did not get. */
bool postcopy_rp_attach(PostcopyIncoming *pc, int rp_fd);

/* Unregister guest RAM: whoever waits for a page wakes (at exit). */
void postcopy_incoming_abandon(PostcopyIncoming *pc);
/* Stop the fault thread and let go of the userfaultfd: every thread that
 * still waits for a page is woken (and, should the migration have failed,
 * gets a zero page: the guest is lost then, as with any postcopy). */
void postcopy_incoming_free(PostcopyIncoming *pc);

/* A bitmap of @pages bits per block in the stream's encoding (u64 pages,
 * then the words), for POSTCOPY_LISTEN and MIG_RP_MISSING. */
void postcopy_put_bitmap(GByteArray *out, const unsigned long *bmap,
                         uint64_t pages);

/*
 * The source's half: a thread reads the return path after POSTCOPY_RUN
 * and queues the pages faults ask for (the migration thread sends them
 * ahead of the rest).  The caller shuts the socket down to stop it early.
 */
typedef struct PostcopyReturnPath PostcopyReturnPath;
PostcopyReturnPath *postcopy_rp_start(int fd, GPtrArray *blocks);
/* The next page a fault asked for (false: none queued). */
bool postcopy_rp_next_request(PostcopyReturnPath *rp, unsigned *block,
                              uint64_t *page);
/* Sleep until a request, an answer, DONE or a broken connection, at most
 * @timeout_ms. */
void postcopy_rp_wait(PostcopyReturnPath *rp, int timeout_ms);
/* What the destination said so far, taken together. */
typedef struct PostcopyRpStatus {
    int answer;             /* -1 none yet, MIG_RP_LOADED / MIG_RP_REFUSED */
    bool done;              /* MIG_RP_DONE came */
    bool broken;            /* the connection is gone */
    uint64_t requests;      /* pages asked for on this connection */
} PostcopyRpStatus;
void postcopy_rp_status(PostcopyReturnPath *rp, PostcopyRpStatus *st);
void postcopy_rp_stop(PostcopyReturnPath *rp);    /* joins and frees */
/* A resumed connection: read MIG_RP_MISSING into each block's bmap. */
bool postcopy_read_missing(int fd, GPtrArray *blocks, GError **errp);

#endif
