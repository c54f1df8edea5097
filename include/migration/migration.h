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
GPtrArray *migration_state_handlers(void);     /* MigrationStateHandler * */

/* Is an outgoing migration running (setup .. device)? */
bool migration_is_active(void);

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

#endif
