/*
 * multifd: RAM pages over N extra connections (the `multifd` capability,
 * `multifd-channels`, `multifd-compression` none|zlib|zstd with
 * `multifd-zlib-level` / `multifd-zstd-level`), tcp: and unix: only.
 * kvmpc talks to kvmpc, so the wire format is kvmpc's own:
 *
 * Main stream (savevm.h), right after CONFIG:
 *   MULTIFD       u8 0x07, u32 channels, u8 compression (0 none, 1 zlib,
 *                 2 zstd); the destination then accepts that many more
 *                 connections on its listening socket
 *   MULTIFD_SYNC  u8 0x08, u32 seq: every page sent on the channels
 *                 before it is loaded before anything after it; the
 *                 destination answers with one byte (1) on the main
 *                 connection once they are, and the source waits for it
 * Each channel, source to destination:
 *   handshake     "KVMPCMFD", u32 channel index, u32 channels
 *   PAGES         u8 1, u32 block, u32 n (1..256), n u64 (offset | kind:
 *                 zero or normal, as RAM sections), then the normal pages:
 *                 none: 4096 bytes each; zlib/zstd: u32 length and the
 *                 normal pages compressed as one buffer (one zlib stream
 *                 or one zstd frame per packet)
 *   SYNC          u8 2, u32 seq
 *   END           u8 3 (after the last sync, before the device state)
 *
 * Ordering: a page may go out on channel A in one pass and on channel B
 * in the next.  At the end of each pass the source writes SYNC on every
 * channel and MULTIFD_SYNC on the main stream; on the destination a
 * channel that reached SYNC waits until the main stream's MULTIFD_SYNC
 * has seen every channel get there, so no page of the next pass is
 * written before every page of this one.
 */
#ifndef MIGRATION_MULTIFD_H
#define MIGRATION_MULTIFD_H
#include "qemu/osdep.h"
#include "migration/savevm.h"
#include "migration/tls.h"

#define MULTIFD_MAGIC "KVMPCMFD"
enum { MULTIFD_PAGES = 1, MULTIFD_SYNC = 2, MULTIFD_END = 3 };
enum { MULTIFD_COMP_NONE = 0, MULTIFD_COMP_ZLIB = 1, MULTIFD_COMP_ZSTD = 2 };

/* Is this compression built in (zstd is optional)? */
bool multifd_compression_available(unsigned comp);

/* ---- source --------------------------------------------------------- */

typedef struct MultifdSend MultifdSend;

/* Connect @n channels to @uri and start their threads. */
MultifdSend *multifd_send_new(const char *uri, unsigned n, unsigned comp,
                              int level, GPtrArray *blocks,
                              const MigrationTLS *tls, GError **errp);
/* Queue pages [@first, @first + @n) of block @block_idx on the next
 * channel (waits while that channel's queue is full). */
void multifd_send_pages(MultifdSend *m, unsigned block_idx, uint64_t first,
                        unsigned n);
/* SYNC on every channel; returns once all of them wrote it (false and
 * @errp when a channel failed). */
bool multifd_send_sync(MultifdSend *m, uint32_t seq, GError **errp);
/* Bytes written on the channels so far, pages by kind (any thread). */
uint64_t multifd_send_bytes(MultifdSend *m);
void multifd_send_page_counts(MultifdSend *m, uint64_t *zero,
                              uint64_t *normal);
/* Unblock every channel (cancel). */
void multifd_send_shutdown(MultifdSend *m);
/* @ok: END on every channel first.  Joins, closes, frees. */
bool multifd_send_finish(MultifdSend *m, bool ok, GError **errp);

/* ---- destination ---------------------------------------------------- */

typedef struct MultifdRecv MultifdRecv;

/* Accept @n channels on @listen_fd (checking their handshakes) and start
 * loading threads writing into @blocks' memory. */
MultifdRecv *multifd_recv_new(int listen_fd, bool tcp,
                              const MigrationTLS *tls, unsigned n,
                              unsigned comp, GPtrArray *blocks,
                              GError **errp);
bool multifd_recv_sync(MultifdRecv *m, uint32_t seq, GError **errp);
/* Wait for END on every channel. */
bool multifd_recv_finish(MultifdRecv *m, GError **errp);
/* Stop the threads (after an error) and free. */
void multifd_recv_free(MultifdRecv *m);

#endif
