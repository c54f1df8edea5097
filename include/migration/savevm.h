/*
 * The migration stream: what kvmpc writes and how a destination reads it.
 *
 *   header    "KVMPCMIG" (8 bytes), u32 stream version
 *   CONFIG    u8 0x01, u32 length, the configuration (below); the
 *             destination compares it with its own before anything else
 *   RAM       u8 0x02, u32 block, u32 n (1..MIG_BATCH_PAGES), then n u64
 *             page offsets in the block with the page kind in the low bits
 *             (MIG_PAGE_ZERO, MIG_PAGE_NORMAL, MIG_PAGE_XBZRLE,
 *             MIG_PAGE_SPARSE), then for each page in order: 4096 bytes
 *             (normal), or u16 n and n bytes of XBZRLE delta against the
 *             page the destination has (xbzrle, n = 0: unchanged) or
 *             against a zero page (sparse: mostly zero bytes, version 2),
 *             nothing for a zero page
 *   PASS      u8 0x03, u32 pass: a dirty-log round ended (precopy)
 *   CLOCK     u8 0x04, u64 the virtual clock in ns when the source stopped
 *   DEVICE    u8 0x05, str path, u32 length, the device's state (its
 *             state tables, each with its u32 version: device_save_state)
 *   STATE     u8 0x06, str name, u32 version, u32 length, bytes: a
 *             non-device handler's state (migration_register_state)
 *   MULTIFD, MULTIFD_SYNC  (u8 0x07, 0x08): multifd channels, see
 *             include/migration/multifd.h
 *   PASS_ACK  u8 0x09, u32 pass: the destination answers one byte
 *             (MIG_ANSWER_LOADED) on the connection once everything
 *             before it is loaded; sent at the end of each precopy pass
 *             on tcp: and unix:, so a pass's rate is the rate at which the
 *             destination takes pages, not the rate at which socket
 *             buffers fill
 *   POSTCOPY_ADVISE  u8 0x0a: the source may switch to postcopy (the
 *             destination checks at once that it can take it)
 *   POSTCOPY_LISTEN  u8 0x0b, u32 blocks, each u64 pages and
 *             ceil(pages / 64) u64 bitmap words: the source stopped; the
 *             marked pages changed since it sent them (or were never
 *             sent): the destination drops them and waits for them
 *             through userfaultfd (postcopy.h)
 *   POSTCOPY_RUN     u8 0x0c, u8 1 if the source was running: the device
 *             state came before it; the destination loads it, answers
 *             MIG_RP_LOADED and runs the guest, then takes the marked
 *             pages (RAM sections, normal, sparse or zero) until END;
 *             from here the return path carries postcopy.h's messages
 *   POSTCOPY_RESUME  u8 0x0d: the first section after the header on a
 *             connection that resumes a broken postcopy (migrate
 *             "resume": true to a destination that ran migrate-recover);
 *             the destination answers MIG_RP_MISSING
 *   IGNORE_SHARED    u8 0x0e, u32 n, n u32 block numbers: with the
 *             x-ignore-shared capability, these blocks are share=on
 *             memory-backend-file memory and travel through the file,
 *             not the stream; the destination checks its own blocks are
 *             such memory too
 *   END       u8 0xff, u8 1 if the source was running, 0 if paused,
 *             u8 1 if the source waits for an answer (tcp: and unix:);
 *             after POSTCOPY_RUN the answer is MIG_RP_DONE
 *   answer    (destination to source, on the same socket, when asked
 *             for) one byte: 1 the state is loaded, 0 it was refused; the
 *             source stays stopped only after a 1, otherwise it resumes
 *
 * Configuration: str machine type, u64 RAM size, u32 CPUs, u32 blocks
 * (str id, u64 size each), u32 devices (str path, str type, u8 tables,
 * each str name and u32 version), u32 handlers (str name, u32 version).
 * Strings are a u16 length and bytes; integers are big-endian.
 */
#ifndef MIGRATION_SAVEVM_H
#define MIGRATION_SAVEVM_H
#include "qemu/osdep.h"
#include "migration/mig-file.h"
#include "system/memory.h"

#define MIG_MAGIC           "KVMPCMIG"
#define MIG_STREAM_VERSION  3     /* 2: sparse pages, 3: postcopy */
#define MIG_STREAM_VERSION_MIN 1

enum {
    MIG_SEC_CONFIG = 0x01,
    MIG_SEC_RAM = 0x02,
    MIG_SEC_PASS = 0x03,
    MIG_SEC_CLOCK = 0x04,
    MIG_SEC_DEVICE = 0x05,
    MIG_SEC_STATE = 0x06,
    MIG_SEC_MULTIFD = 0x07,         /* multifd.h */
    MIG_SEC_MULTIFD_SYNC = 0x08,
    MIG_SEC_PASS_ACK = 0x09,
    MIG_SEC_POSTCOPY_ADVISE = 0x0a,
    MIG_SEC_POSTCOPY_LISTEN = 0x0b,
    MIG_SEC_POSTCOPY_RUN = 0x0c,
    MIG_SEC_POSTCOPY_RESUME = 0x0d,
    MIG_SEC_IGNORE_SHARED = 0x0e,
    MIG_SEC_END = 0xff,
};

#define MIG_ANSWER_LOADED   1
#define MIG_ANSWER_REFUSED  0

#define MIG_PAGE_SIZE       4096ULL
#define MIG_PAGE_ZERO       1
#define MIG_PAGE_NORMAL     2
#define MIG_PAGE_XBZRLE     3   /* u16 length, XBZRLE delta (xbzrle.h) */
/* u16 length, XBZRLE delta against a zero page: a page whose non-zero
 * bytes encode in at most MIG_SPARSE_MAX bytes */
#define MIG_PAGE_SPARSE     4
#define MIG_SPARSE_MAX      1024
#define MIG_PAGE_KIND_MASK  0xfffULL
#define MIG_BATCH_PAGES     256
#define MIG_MAX_CONFIG      (16 * MiB)
#define MIG_MAX_SECTION     (64 * MiB)
#define MIG_MAX_NAME        1024

/* A RAM or ROM region as the stream names it. */
typedef struct RamBlock {
    MemoryRegion *mr;
    char *idstr;            /* region name, "#N" added for the Nth twin */
    uint64_t pages;         /* MIG_PAGE_SIZE pages (the last may be short) */
    unsigned long *bmap;    /* outgoing: pages still to send */
    bool ignored;           /* outgoing: x-ignore-shared, not sent */
    /* outgoing: free page hints not yet taken out of @bmap (words
     * [hint_lo, hint_hi) may be set; migration.c, under its hint lock) */
    unsigned long *hinted;
    uint64_t hint_lo, hint_hi;
} RamBlock;

/* The machine's blocks in creation order (a fresh array: free it). */
GPtrArray *ram_blocks_new(void);
void ram_blocks_free(GPtrArray *blocks);

/* Outgoing (big lock held: reads device and machine state). */
void mig_save_header(MigFile *f);
GByteArray *mig_config_new(GPtrArray *blocks);
void mig_save_config(MigFile *f, GByteArray *config);
/* The virtual clock, every device's and handler's state. */
bool mig_save_devices(MigFile *f, GError **errp);
void mig_save_end(MigFile *f, bool running, bool want_answer);

/* Counters of pages sent, for query-migrate. */
typedef struct RamStats {
    uint64_t zero_pages;
    uint64_t normal_pages;
} RamStats;
struct XbzrleCache;
/*
 * Queue pages [@first, @first + @n) of @b (all to be sent) as one RAM
 * section; zero pages travel as their offset only.  With @xc (xbzrle
 * capability), a page the cache holds goes as its delta, and every page
 * sent is a copy taken once (so cache and destination agree even when
 * the guest writes it meanwhile).
 */
void mig_save_ram_batch(MigFile *f, unsigned block_idx, RamBlock *b,
                        uint64_t first, unsigned n, RamStats *st,
                        struct XbzrleCache *xc);

/*
 * Incoming.  mig_load_stream reads header, configuration and RAM and
 * keeps device and handler sections until END; mig_load_finish then
 * applies them (big lock held, VM stopped).  @lock_for_config: take the
 * big lock around the configuration check (a loading thread does).
 */
typedef struct MigLoad {
    GPtrArray *blocks;
    GPtrArray *sections;    /* MigPendingSection * */
    bool config_matched;    /* header and configuration accepted */
    bool have_clock;
    int64_t clock_ns;
    bool source_running;
    bool want_answer;       /* the source waits for MIG_ANSWER_* */
    uint32_t passes;
    uint64_t pages_loaded;
    /* multifd: where the channels connect (-1: no listener), and them */
    int listen_fd;
    bool tcp;
    const struct MigrationTLS *tls; /* their TLS (the incoming's), or NULL */
    struct MultifdRecv *mfd;
    /* postcopy: advised, then (after LISTEN) the userfaultfd side; RUN
     * ends mig_load_stream with postcopy_running set */
    bool postcopy_advised;
    struct PostcopyIncoming *pc;
    bool postcopy_running;
} MigLoad;

MigLoad *mig_load_new(void);
void mig_load_free(MigLoad *ld);
bool mig_load_stream(MigFile *f, MigLoad *ld, bool lock_for_config,
                     GError **errp);
bool mig_load_finish(MigLoad *ld, GError **errp);
/*
 * After POSTCOPY_RUN: the pages until END (true), or false on a broken or
 * corrupt stream.  No big lock taken.
 */
bool mig_load_postcopy(MigFile *f, MigLoad *ld, GError **errp);
/* A resumed connection's header and POSTCOPY_RESUME. */
bool mig_load_resume_header(MigFile *f, GError **errp);
/* The configuration check alone (the fuzz target and tests use it). */
bool mig_check_config(const uint8_t *buf, size_t len, GPtrArray *blocks,
                      GError **errp);

#endif
