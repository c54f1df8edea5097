/*
 * Migrating named dirty bitmaps (block/dirty-bitmap-migration.c): the
 * `dirty-bitmaps` capability's stream section and QMP's
 * `block-bitmap-mapping` parameter.
 */
#ifndef BLOCK_DIRTY_BITMAP_MIGRATION_H
#define BLOCK_DIRTY_BITMAP_MIGRATION_H

#include "qapi/qapi-types.h"

typedef struct MigrationStateHandler MigrationStateHandler;

/* Check (QEMU's rules and words) and keep a copy of @list. */
bool dirty_bitmap_mig_set_mapping(BitmapMigrationNodeAliasList *list,
                                  GError **errp);
/* A copy of the mapping for query-migrate-parameters (NULL: none). */
BitmapMigrationNodeAliasList *dirty_bitmap_mig_get_mapping(void);
/* The "dirty-bitmaps" state handler the migration registers. */
const MigrationStateHandler *dirty_bitmap_mig_handler(void);

#endif
