/*
 * QMP transaction actions (block/external-snapshot.c runs them): each
 * action is prepared in order (checked; an action that changes state at
 * once, as the dirty bitmap ones do, changes it here so later actions
 * see it), then every action is committed, then finished.  When one
 * fails, every prepared action is aborted, newest first, and the state
 * is what it was before the transaction.
 */
#ifndef BLOCK_TRANSACTION_H
#define BLOCK_TRANSACTION_H

#include "block/block.h"

typedef struct BlockTxnActionOps {
    /* Make the action take effect (NULL: prepare did it); may fail. */
    bool (*commit)(void *opaque, GError **errp);
    /* Undo prepare, and commit if it ran. */
    void (*abort)(void *opaque);
    /* Every action committed: what cannot fail or be undone (NULL: none). */
    void (*finish)(void *opaque);
    void (*free)(void *opaque);
} BlockTxnActionOps;

typedef struct BlockTxnAction {
    const BlockTxnActionOps *ops;
    void *opaque;
} BlockTxnAction;

/* Add a prepared action to @prepared (a GPtrArray of BlockTxnAction *). */
void block_txn_add(GPtrArray *prepared, const BlockTxnActionOps *ops,
                   void *opaque);

/* The dirty bitmap actions (block/dirty-bitmap-qmp.c): prepare @act, a
 * block-dirty-bitmap-* action, adding it to @prepared. */
typedef struct TransactionAction TransactionAction;
bool block_dirty_bitmap_txn_prepare(TransactionAction *act,
                                    GPtrArray *prepared, GError **errp);

/* The backup actions (block/backup.c): checked here (drive-backup's
 * target made and opened too), started at commit. */
typedef struct BlockdevBackup BlockdevBackup;
typedef struct DriveBackup DriveBackup;
bool backup_txn_prepare(BlockdevBackup *arg, GPtrArray *prepared,
                        GError **errp);
bool drive_backup_txn_prepare(DriveBackup *arg, GPtrArray *prepared,
                              GError **errp);

#endif
