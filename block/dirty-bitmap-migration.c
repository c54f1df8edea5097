/*
 * Migrating named dirty bitmaps: the `dirty-bitmaps` migration
 * capability and the `block-bitmap-mapping` parameter (QEMU 7.2's
 * interface, qapi/migration.json; its checks and words for the mapping).
 *
 * With the capability on, the source sends its named bitmaps in the
 * device-state phase (the VM is stopped): for each, the node's alias,
 * the bitmap's alias, its granularity, whether it records and whether it
 * is persistent, and its bits (a bit per granule: 2 KiB per GiB at the
 * default 64 KiB, so the stop-and-copy phase is where they belong).  The
 * destination finds the node and bitmap names by the aliases and creates
 * the bitmaps (it needs no capability, as in QEMU).
 *
 * Names: without a mapping a node's alias is the name of the backend it
 * is the medium of, else its node name, and a bitmap's alias its name;
 * a node with only an automatic name ("#blockN") cannot be named that
 * way and refuses the migration, as QEMU does.  With a mapping only the
 * nodes and bitmaps it lists travel, under its aliases, and a bitmap's
 * `transform.persistent` sets whether it is persistent on arrival.
 *
 * Persistent bitmaps travel through their image instead, as kvmpc's
 * qcow2 stores them when the source lets go of the image and the
 * destination loads them when it takes it over (shared storage): only
 * transient bitmaps go in the stream (QEMU sends both and keeps the
 * source from storing what it sent).  libvirt's migration with copied
 * storage turns the bitmaps it moves into transient copies with
 * `transform.persistent` on, which this covers.
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "block/block-backend.h"
#include "block/dirty-bitmap-migration.h"
#include "migration/migration.h"
#include "qemu/byte-reader.h"
#include "qapi/qapi-commands.h"

#define ALIAS_MAX 255

/* The mapping as set (our own copy: the QAPI list belongs to the
 * command). */
typedef struct BitmapMap {
    char *name, *alias;
    bool has_persistent, persistent;
} BitmapMap;

typedef struct NodeMap {
    char *node_name, *alias;
    GPtrArray *bitmaps;             /* BitmapMap * */
} NodeMap;

static GPtrArray *mapping;          /* NodeMap *; NULL: none set */

/* ---- the mapping ---------------------------------------------------- */

static void bitmap_map_free(gpointer p)
{
    BitmapMap *b = p;

    g_free(b->name);
    g_free(b->alias);
    g_free(b);
}

static void node_map_free(gpointer p)
{
    NodeMap *n = p;

    g_free(n->node_name);
    g_free(n->alias);
    g_ptr_array_unref(n->bitmaps);
    g_free(n);
}

/* QEMU's id rule: a letter, then letters, digits, '-', '.', '_'. */
static bool alias_wellformed(const char *s)
{
    return g_ascii_isalpha(s[0]) &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789-._") == strlen(s);
}

static bool check_node_entry(BitmapMigrationNodeAlias *n, GHashTable *names,
                             GHashTable *aliases, GError **errp)
{
    g_autoptr(GHashTable) bnames = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) baliases = g_hash_table_new(g_str_hash,
                                                      g_str_equal);

    if (!alias_wellformed(n->alias)) {
        error_setg(errp, "The node alias '%s' is not well-formed", n->alias);
        return false;
    }
    if (strlen(n->alias) > ALIAS_MAX) {
        error_setg(errp, "The node alias '%s' is longer than %d bytes",
                   n->alias, ALIAS_MAX);
        return false;
    }
    if (!g_hash_table_add(names, n->node_name)) {
        error_setg(errp, "The node name '%s' is mapped twice", n->node_name);
        return false;
    }
    if (!g_hash_table_add(aliases, n->alias)) {
        error_setg(errp, "The node alias '%s' is used twice", n->alias);
        return false;
    }
    for (BitmapMigrationBitmapAliasList *l = n->bitmaps; l; l = l->next) {
        BitmapMigrationBitmapAlias *b = l->value;

        if (strlen(b->alias) > ALIAS_MAX) {
            error_setg(errp, "The bitmap alias '%s'/'%s' is longer than %d "
                       "bytes", n->alias, b->alias, ALIAS_MAX);
            return false;
        }
        if (!g_hash_table_add(bnames, b->name)) {
            error_setg(errp, "The bitmap '%s'/'%s' is mapped twice",
                       n->node_name, b->name);
            return false;
        }
        if (!g_hash_table_add(baliases, b->alias)) {
            error_setg(errp, "The bitmap alias '%s'/'%s' is used twice",
                       n->alias, b->alias);
            return false;
        }
    }
    return true;
}

bool dirty_bitmap_mig_set_mapping(BitmapMigrationNodeAliasList *list,
                                  GError **errp)
{
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) aliases = g_hash_table_new(g_str_hash,
                                                     g_str_equal);
    GPtrArray *m;

    for (BitmapMigrationNodeAliasList *l = list; l; l = l->next) {
        if (!check_node_entry(l->value, names, aliases, errp)) {
            g_prefix_error(errp, "Invalid mapping given for "
                           "block-bitmap-mapping: ");
            return false;
        }
    }
    m = g_ptr_array_new_with_free_func(node_map_free);
    for (BitmapMigrationNodeAliasList *l = list; l; l = l->next) {
        NodeMap *n = g_new0(NodeMap, 1);

        n->node_name = g_strdup(l->value->node_name);
        n->alias = g_strdup(l->value->alias);
        n->bitmaps = g_ptr_array_new_with_free_func(bitmap_map_free);
        for (BitmapMigrationBitmapAliasList *b = l->value->bitmaps; b;
             b = b->next) {
            BitmapMap *bm = g_new0(BitmapMap, 1);

            bm->name = g_strdup(b->value->name);
            bm->alias = g_strdup(b->value->alias);
            if (b->value->transform &&
                b->value->transform->has_persistent) {
                bm->has_persistent = true;
                bm->persistent = b->value->transform->persistent;
            }
            g_ptr_array_add(n->bitmaps, bm);
        }
        g_ptr_array_add(m, n);
    }
    if (mapping) {
        g_ptr_array_unref(mapping);
    }
    mapping = m;
    return true;
}

BitmapMigrationNodeAliasList *dirty_bitmap_mig_get_mapping(void)
{
    BitmapMigrationNodeAliasList *list = NULL, **tail = &list;

    for (unsigned i = 0; mapping && i < mapping->len; i++) {
        NodeMap *n = g_ptr_array_index(mapping, i);
        BitmapMigrationNodeAlias *v = g_new0(BitmapMigrationNodeAlias, 1);
        BitmapMigrationBitmapAliasList **bt = &v->bitmaps;

        v->node_name = g_strdup(n->node_name);
        v->alias = g_strdup(n->alias);
        for (unsigned j = 0; j < n->bitmaps->len; j++) {
            BitmapMap *b = g_ptr_array_index(n->bitmaps, j);
            BitmapMigrationBitmapAlias *bv =
                g_new0(BitmapMigrationBitmapAlias, 1);

            bv->name = g_strdup(b->name);
            bv->alias = g_strdup(b->alias);
            if (b->has_persistent) {
                bv->transform = g_new0(BitmapMigrationBitmapAliasTransform,
                                       1);
                bv->transform->has_persistent = true;
                bv->transform->persistent = b->persistent;
            }
            *bt = g_new0(BitmapMigrationBitmapAliasList, 1);
            (*bt)->value = bv;
            bt = &(*bt)->next;
        }
        *tail = g_new0(BitmapMigrationNodeAliasList, 1);
        (*tail)->value = v;
        tail = &(*tail)->next;
    }
    return list;
}

/* ---- names and aliases ---------------------------------------------- */

/* The name a node goes by without a mapping: its backend's, else its
 * node name (NULL: only an automatic one). */
static const char *default_node_alias(BlockDriverState *bs)
{
    GPtrArray *blks = blk_list();

    for (unsigned i = 0; i < blks->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blks, i);

        if (blk_bs(blk) == bs && *blk_name(blk)) {
            return blk_name(blk);
        }
    }
    return bdrv_node_name(bs)[0] == '#' ? NULL : bdrv_node_name(bs);
}

static NodeMap *map_by_node(const char *node_name)
{
    for (unsigned i = 0; i < mapping->len; i++) {
        NodeMap *n = g_ptr_array_index(mapping, i);

        if (!strcmp(n->node_name, node_name)) {
            return n;
        }
    }
    return NULL;
}

static NodeMap *map_by_alias(const char *alias)
{
    for (unsigned i = 0; i < mapping->len; i++) {
        NodeMap *n = g_ptr_array_index(mapping, i);

        if (!strcmp(n->alias, alias)) {
            return n;
        }
    }
    return NULL;
}

static BitmapMap *bitmap_map(NodeMap *n, const char *key, bool by_alias)
{
    for (unsigned i = 0; i < n->bitmaps->len; i++) {
        BitmapMap *b = g_ptr_array_index(n->bitmaps, i);

        if (!strcmp(by_alias ? b->alias : b->name, key)) {
            return b;
        }
    }
    return NULL;
}

/* ---- the stream ------------------------------------------------------ */

enum { FLAG_ENABLED = 1, FLAG_PERSISTENT = 2 };

static void put_str(GByteArray *out, const char *s)
{
    uint8_t len = strlen(s);

    g_byte_array_append(out, &len, 1);
    g_byte_array_append(out, (const uint8_t *)s, len);
}

static void put_be(GByteArray *out, uint64_t v, unsigned n)
{
    uint8_t b[8];

    for (unsigned i = 0; i < n; i++) {
        b[i] = v >> (8 * (n - 1 - i));
    }
    g_byte_array_append(out, b, n);
}

/* One bitmap into @out. */
static void save_one(GByteArray *out, const char *node_alias,
                     const char *alias, BdrvDirtyBitmap *bm, bool persistent)
{
    uint64_t n = bdrv_dirty_bitmap_serialized_size(bm);
    uint8_t flags = (bdrv_dirty_bitmap_enabled(bm) ? FLAG_ENABLED : 0) |
                    (persistent ? FLAG_PERSISTENT : 0);
    guint at;

    put_str(out, node_alias);
    put_str(out, alias);
    put_be(out, bdrv_dirty_bitmap_granularity(bm), 4);
    g_byte_array_append(out, &flags, 1);
    put_be(out, n, 8);
    at = out->len;
    g_byte_array_set_size(out, at + n);
    bdrv_dirty_bitmap_serialize(bm, 0, n, out->data + at);
}

/* The bitmaps of @bs that travel, with QEMU's refusals. */
static bool save_node(GByteArray *out, BlockDriverState *bs, GError **errp)
{
    NodeMap *nm = mapping ? map_by_node(bdrv_node_name(bs)) : NULL;
    const char *node_alias = mapping ? (nm ? nm->alias : NULL)
                                     : default_node_alias(bs);

    if (mapping && !nm) {
        return true;                    /* not listed: stays */
    }
    for (BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        const char *name = bdrv_dirty_bitmap_name(bm);
        BitmapMap *b = nm ? bitmap_map(nm, name, false) : NULL;
        bool persistent = bdrv_dirty_bitmap_persistent(bm);

        if ((nm && !b) || persistent) {
            continue;       /* not listed, or it goes through the image */
        }
        if (!node_alias) {
            error_setg(errp, "Cannot migrate bitmap '%s' on node with "
                       "default node name", name);
            return false;
        }
        if (!bdrv_dirty_bitmap_check(bm, BDRV_BITMAP_DEFAULT, errp)) {
            return false;
        }
        if (strlen(node_alias) > ALIAS_MAX || strlen(name) > ALIAS_MAX) {
            error_setg(errp, "Cannot migrate bitmap '%s' on node '%s': "
                       "name longer than %d bytes (use block-bitmap-mapping)",
                       name, node_alias, ALIAS_MAX);
            return false;
        }
        save_one(out, node_alias, b ? b->alias : name, bm,
                 b && b->has_persistent ? b->persistent : false);
    }
    return true;
}

static bool dirty_bitmaps_save(void *opaque, GByteArray *out, GError **errp)
{
    GPtrArray *nodes = bdrv_all_nodes();

    /* A migration with the capability: not a snapshot's state. */
    if (!migration_is_active() ||
        !migration_capability_enabled(MIGRATION_CAPABILITY_DIRTY_BITMAPS)) {
        return true;
    }
    for (unsigned i = 0; i < nodes->len; i++) {
        if (!save_node(out, g_ptr_array_index(nodes, i), errp)) {
            return false;
        }
    }
    return true;
}

/* The destination's node and bitmap for the aliases (its mapping, else
 * the names as they are). */
static BlockDriverState *load_target(const char *node_alias,
                                     const char *alias, const char **name,
                                     GError **errp)
{
    BlockDriverState *bs;

    *name = alias;
    if (mapping) {
        NodeMap *nm = map_by_alias(node_alias);
        BitmapMap *b = nm ? bitmap_map(nm, alias, true) : NULL;

        if (!nm || !b) {
            error_setg(errp, "block-bitmap-mapping has no entry for the "
                       "bitmap '%s'/'%s' of the stream", node_alias, alias);
            return NULL;
        }
        *name = b->name;
        bs = bdrv_find_node(nm->node_name);
    } else {
        BlockBackend *blk = blk_by_name(node_alias);

        bs = blk ? blk_bs(blk) : bdrv_find_node(node_alias);
    }
    if (!bs) {
        error_setg(errp, "the stream has bitmaps of node '%s', which does "
                   "not exist here", node_alias);
    }
    return bs;
}

static bool load_one(ByteReader *r, GError **errp)
{
    g_autofree char *node_alias = NULL, *alias = NULL;
    uint8_t nlen, blen, flags;
    uint32_t granularity;
    uint64_t n;
    const char *name;
    BlockDriverState *bs;
    BdrvDirtyBitmap *bm;

    const uint8_t *p;

    nlen = br_u8(r);
    p = br_take(r, nlen);
    node_alias = p ? g_strndup((const char *)p, nlen) : NULL;
    blen = br_u8(r);
    p = br_take(r, blen);
    alias = p ? g_strndup((const char *)p, blen) : NULL;
    granularity = br_be(r, 4);
    flags = br_u8(r);
    n = br_be(r, 8);
    if (r->bad || granularity < BDRV_BITMAP_MIN_GRANULARITY ||
        granularity > BDRV_BITMAP_MAX_GRANULARITY ||
        (granularity & (granularity - 1)) || n > r->len - r->pos) {
        error_setg(errp, "corrupt migration stream: malformed dirty "
                   "bitmap");
        return false;
    }
    bs = load_target(node_alias, alias, &name, errp);
    if (!bs) {
        return false;
    }
    bm = bdrv_create_named_dirty_bitmap(bs, granularity, name, errp);
    if (!bm) {
        return false;
    }
    if (n != bdrv_dirty_bitmap_serialized_size(bm)) {
        error_setg(errp, "dirty bitmap '%s': %" PRIu64 " bytes in the "
                   "stream for %" PRIu64 " here (different disk sizes)",
                   name, n, bdrv_dirty_bitmap_serialized_size(bm));
        bdrv_release_dirty_bitmap(bm);
        return false;
    }
    bdrv_dirty_bitmap_deserialize(bm, 0, n, br_take(r, n));
    bdrv_dirty_bitmap_set_enabled(bm, flags & FLAG_ENABLED);
    if (flags & FLAG_PERSISTENT) {
        if (!bdrv_supports_persistent_bitmaps(bs)) {
            error_setg(errp, "Can't make bitmap '%s' persistent in '%s'",
                       name, bdrv_node_name(bs));
            bdrv_release_dirty_bitmap(bm);
            return false;
        }
        bdrv_dirty_bitmap_set_persistent(bm, true);
    }
    return true;
}

static bool dirty_bitmaps_load(void *opaque, int version, const uint8_t *buf,
                               size_t len, GError **errp)
{
    ByteReader r = byte_reader(buf, len);

    while (r.pos < len) {
        if (!load_one(&r, errp)) {
            return false;
        }
    }
    return true;
}

static const MigrationStateHandler dirty_bitmaps_handler = {
    .name = "dirty-bitmaps", .version = 1,
    .save = dirty_bitmaps_save, .load = dirty_bitmaps_load,
};

const MigrationStateHandler *dirty_bitmap_mig_handler(void)
{
    return &dirty_bitmaps_handler;
}
