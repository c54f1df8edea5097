/*
 * Live migration, save and restore: the outgoing state machine, the
 * incoming side (-incoming), blockers and non-device state handlers.
 * See docs/migration.md for the stream format and the commands.
 *
 * Everything here is called with the big lock held unless it says so.
 */
#ifndef MIGRATION_MIGRATION_H
#define MIGRATION_MIGRATION_H
#include "qemu/osdep.h"
#include "qapi/qapi-types.h"

/*
 * Blockers: while any is registered, "migrate" fails with its reason.
 * A device that cannot migrate sets DeviceState.migration_blocker instead
 * (checked the same way).  @reason is copied; delete with the same text.
 */
void migrate_add_blocker(const char *reason);
void migrate_del_blocker(const char *reason);
/* False (with the first blocker's reason in @errp) when blocked. */
bool migration_check_blockers(GError **errp);
/* The reasons, for query-migrate's blocked-reasons (NULL-terminated). */
char **migration_blocker_reasons(void);

/*
 * State that is not a device's (vCPUs, the in-kernel irqchip, kvmclock):
 * saved after the devices under @name, loaded in registration order on
 * the destination with the VM stopped.  The names travel in the stream's
 * configuration section, so a destination without the same handlers
 * refuses the stream before anything is loaded.
 */
typedef struct MigrationStateHandler {
    const char *name;
    int version;
    bool (*save)(void *opaque, GByteArray *out, GError **errp);
    bool (*load)(void *opaque, int version, const uint8_t *buf, size_t len,
                 GError **errp);
    void *opaque;
} MigrationStateHandler;
void migration_register_state(const MigrationStateHandler *h);
/* Is migrate-set-capabilities' @c on? */
bool migration_capability_enabled(MigrationCapability c);
GPtrArray *migration_state_handlers(void);     /* MigrationStateHandler * */

/* Is an outgoing migration running (setup .. device)? */
bool migration_is_active(void);

/*
 * Free page hints (virtio-balloon's VIRTIO_BALLOON_F_FREE_PAGE_HINT,
 * docs/migration.md "Free page hints").  A precopy *round* is the time
 * between two dirty syncs; the first one is the bulk stage, where every
 * page is still to be sent.  While a round is open, a range the guest
 * says is free may be taken out of the pages the round has left to send:
 * a page reused after the hint is written, so the dirty log sends it in
 * a later round.  A hint must never outlive its round (a page freed and
 * written before the next sync would be cleared from that sync's
 * bitmap), so rounds close, under the big lock, before every sync.
 *
 * One hinting device at a time registers @fn (NULL to unregister); the
 * migration thread calls it with the big lock held.  Not used with
 * postcopy-ram (as QEMU: a hinted page the destination never receives
 * would leave its faults waiting) nor when the VM is not running.
 */
typedef enum MigrationHintEvent {
    MIGRATION_HINT_ROUND_START,     /* after a sync: ask for hints now */
    MIGRATION_HINT_ROUND_STOP,      /* before the next sync: no more */
    MIGRATION_HINT_DONE,            /* last sync (VM stopped) or the end,
                                       however it ended */
} MigrationHintEvent;
typedef void (*MigrationHintNotify)(void *opaque, MigrationHintEvent ev);
void migration_set_hint_notifier(MigrationHintNotify fn, void *opaque);

/*
 * ram: discard a range from the current round.  [@host, @host + @len) is
 * guest RAM (a host pointer from the guest RAM table) that the guest does
 * not use; the whole 4 KiB pages inside it are not sent in this round
 * unless written again.  Big lock held.  Returns false (nothing done)
 * when no round is open.  The pages are marked in the block's bitmap of
 * hinted pages; the migration thread applies it between two batches.
 */
bool ram_discard_hinted_range(void *host, uint64_t len);

/*
 * -incoming URI (or "defer"): called once the machine is built; the VM
 * stays in the inmigrate run state until the stream is loaded.
 * @autostart: false with -S (the VM then stays paused after loading).
 */
bool migration_incoming_start(const char *uri, bool autostart,
                              GError **errp);
/* "cont" while waiting for an incoming stream: start once it is loaded. */
void migration_incoming_set_autostart(bool autostart);
bool migration_incoming_pending(void);
/* At exit: a postcopy destination lets go of its missing pages, so that
 * no thread stays blocked on one (the guest is lost then anyway). */
void migration_shutdown(void);

/* The migration parameters tls-creds, tls-hostname and tls-authz:
 * copies (g_free them), NULL when unset.  Big lock held. */
char *migrate_tls_creds(void);
char *migrate_tls_hostname(void);
char *migrate_tls_authz(void);

#endif
