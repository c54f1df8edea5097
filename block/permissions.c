/*
 * Permissions of the node graph, and image locking through them.
 *
 * Every node's users say what they do with it (read, write, resize: the
 * BLK_PERM_* bits of include/block/block.h, QEMU's) and what they let
 * others do (the shared set).  The users are the backends (the devices
 * behind them, block/block-backend.c), a tool that opened the node
 * (kvmpc-img: bdrv_set_user_perm), and parent nodes, which pass needs
 * down to their children as QEMU's default child permissions do:
 *
 *  - a pass-through driver (raw, blkdebug) gives its file child exactly
 *    what its own users need;
 *  - a format with metadata (qcow2) reads its file, writes and resizes it
 *    when the node is writable (metadata changes even when the guest only
 *    reads), and never lets anyone else write or resize it;
 *  - a backing child is only read, and nobody may write or resize it;
 *  - force-share=on lets others do everything.
 *
 * The file driver turns a node's permissions into OFD locks on bytes
 * 100 + bit (held) and 200 + bit (not shared), as QEMU's file-posix
 * does, so that kvmpc, QEMU and qemu-img refuse each other's conflicting
 * opens ("Failed to get "write" lock").  The graph is small, so every
 * change recomputes all of it: parents before children (by height),
 * then every locking node checks (taking the union of old and new), and
 * only when all succeed does each settle; otherwise each goes back.
 *
 * Migration on shared storage: an incoming VM holds no locks until its
 * stream is loaded (bdrv_activate_all); the source drops them after its
 * last flush (bdrv_inactivate_all) and takes them again if it runs on.
 */
#include "qemu/osdep.h"
#include "block/block-int.h"
#include "block/block-backend.h"

static const char *const perm_names[BLK_PERM_COUNT] = {
    "consistent read", "write", "write unchanged", "resize",
};

static int hold_depth;
static bool inactive;
static GPtrArray *graph_users;      /* BdrvRootUser, outside the backends */

const char *bdrv_perm_name(unsigned bit_index)
{
    return bit_index < BLK_PERM_COUNT ? perm_names[bit_index] : "?";
}

/* Longest path down to a leaf: parents are always higher than their
 * children, so sorting by height puts every parent first. */
static unsigned node_height(BlockDriverState *bs)
{
    unsigned h = 0;

    if (bs->file) {
        h = MAX(h, node_height(bs->file) + 1);
    }
    if (bs->backing) {
        h = MAX(h, node_height(bs->backing) + 1);
    }
    return h;
}

static gint higher_first(gconstpointer a, gconstpointer b)
{
    BlockDriverState *x = *(BlockDriverState *const *)a;
    BlockDriverState *y = *(BlockDriverState *const *)b;
    unsigned hx = node_height(x), hy = node_height(y);

    return hx == hy ? 0 : hx > hy ? -1 : 1;
}

static void add_need(BlockDriverState *bs, unsigned perm, unsigned shared)
{
    bs->new_perm |= perm;
    bs->new_shared &= shared;
}

/* What @parent, with its users' needs already summed up, asks of its
 * children. */
static void pass_needs_down(BlockDriverState *parent)
{
    bool force_share = parent->flags & BDRV_O_FORCE_SHARE;
    unsigned not_others = BLK_PERM_WRITE | BLK_PERM_RESIZE;

    if (parent->file) {
        unsigned perm = parent->new_perm, shared = parent->new_shared;

        if (!parent->drv->perm_passthrough) {
            perm |= BLK_PERM_CONSISTENT_READ;
            if (parent->flags & BDRV_O_RDWR) {
                perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
            }
            shared &= ~not_others;
        }
        add_need(parent->file, perm, force_share ? BLK_PERM_ALL : shared);
    }
    if (parent->backing) {
        add_need(parent->backing, BLK_PERM_CONSISTENT_READ,
                 force_share ? BLK_PERM_ALL : BLK_PERM_ALL & ~not_others);
    }
}

static GPtrArray *compute_needs(void)
{
    GPtrArray *nodes = g_ptr_array_copy(bdrv_all_nodes(), NULL, NULL);
    GPtrArray *blks = blk_list();

    for (unsigned i = 0; i < nodes->len; i++) {
        BlockDriverState *bs = g_ptr_array_index(nodes, i);
        bs->new_perm = bs->user_perm;
        bs->new_shared = bs->user_shared;
    }
    for (unsigned i = 0; i < blks->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blks, i);
        unsigned perm, shared;

        if (blk_bs(blk)) {
            blk_get_perm(blk, &perm, &shared);
            add_need(blk_bs(blk), perm, shared);
        }
    }
    for (unsigned i = 0; graph_users && i < graph_users->len; i++) {
        BdrvRootUser *u = g_ptr_array_index(graph_users, i);
        add_need(u->bs, u->perm, u->shared);
    }
    g_ptr_array_sort(nodes, higher_first);
    for (unsigned i = 0; i < nodes->len; i++) {
        pass_needs_down(g_ptr_array_index(nodes, i));
    }
    if (inactive) {
        /* an inactive image is somebody else's: hold nothing */
        for (unsigned i = 0; i < nodes->len; i++) {
            BlockDriverState *bs = g_ptr_array_index(nodes, i);
            bs->new_perm = 0;
            bs->new_shared = BLK_PERM_ALL;
        }
    }
    return nodes;
}

/*
 * ---- users of one node among themselves ---------------------------------
 *
 * The backends (devices, -drive, HMP qemu-io) and the graph users
 * (exports) whose root is a node must allow each other what they need:
 * two writers on a disk corrupt it as surely as two processes do, and the
 * file locks cannot see users in one process.  QEMU's words.
 */
typedef struct RootUse {
    BlockDriverState *bs;
    unsigned perm, shared;
    char *desc;                 /* "block device 'x'" / "an unnamed ..." */
} RootUse;

static char *backend_desc(BlockBackend *blk)
{
    const char *id = *blk_name(blk) ? blk_name(blk)
                                    : blk_get_attached_dev_id(blk);

    return *id ? g_strdup_printf("block device '%s'", id)
               : g_strdup("an unnamed block device");
}

static GArray *root_uses(void)
{
    GArray *uses = g_array_new(FALSE, FALSE, sizeof(RootUse));
    GPtrArray *blks = blk_list();

    for (unsigned i = 0; i < blks->len; i++) {
        BlockBackend *blk = g_ptr_array_index(blks, i);
        RootUse u = { .bs = blk_bs(blk) };

        if (u.bs) {
            blk_get_perm(blk, &u.perm, &u.shared);
            u.desc = backend_desc(blk);
            g_array_append_val(uses, u);
        }
    }
    for (unsigned i = 0; graph_users && i < graph_users->len; i++) {
        BdrvRootUser *g = g_ptr_array_index(graph_users, i);
        RootUse u = { g->bs, g->perm, g->shared, g_strdup(g->desc) };

        g_array_append_val(uses, u);
    }
    return uses;
}

static void root_uses_free(GArray *uses)
{
    for (unsigned i = 0; i < uses->len; i++) {
        g_free(g_array_index(uses, RootUse, i).desc);
    }
    g_array_free(uses, TRUE);
}

static char *perm_list(unsigned bits)
{
    GString *s = g_string_new(NULL);

    for (unsigned i = 0; i < BLK_PERM_COUNT; i++) {
        if (bits & (1u << i)) {
            g_string_append_printf(s, "%s%s", s->len ? ", " : "",
                                   bdrv_perm_name(i));
        }
    }
    return g_string_free(s, FALSE);
}

bool bdrv_check_root_users(BlockDriverState *bs, GError **errp)
{
    GArray *uses;
    bool ok = true;

    if (inactive) {
        /* An incoming VM holds nothing yet; like QEMU, activation does
         * not check again (libvirt's migration target exports its disks
         * until it is about to run) */
        return true;
    }
    uses = root_uses();
    /* QEMU's order: the newest user first, as the one that does not
     * share, then the newest that needs what it withholds. */
    for (unsigned a = uses->len; ok && a-- > 0;) {
        RootUse *y = &g_array_index(uses, RootUse, a);

        for (unsigned b = uses->len; ok && b-- > 0;) {
            RootUse *x = &g_array_index(uses, RootUse, b);
            unsigned clash = x->perm & ~y->shared;
            g_autofree char *names = NULL;

            if (a == b || x->bs != bs || y->bs != bs || !clash) {
                continue;
            }
            names = perm_list(clash);
            error_setg(errp, "Permission conflict on node '%s': permissions "
                       "'%s' are both required by %s (uses node '%s' as "
                       "'root' child) and unshared by %s (uses node '%s' "
                       "as 'root' child).", bdrv_node_name(x->bs), names,
                       x->desc, bdrv_node_name(x->bs), y->desc,
                       bdrv_node_name(y->bs));
            ok = false;
        }
    }
    root_uses_free(uses);
    return ok;
}

bool bdrv_root_user_add(BdrvRootUser *u, GError **errp)
{
    if (!graph_users) {
        graph_users = g_ptr_array_new();
    }
    g_ptr_array_add(graph_users, u);
    if (!bdrv_check_root_users(u->bs, errp) || !bdrv_refresh_perms(errp)) {
        g_ptr_array_remove(graph_users, u);
        return false;
    }
    return true;
}

void bdrv_root_user_remove(BdrvRootUser *u)
{
    if (graph_users && g_ptr_array_remove(graph_users, u)) {
        bdrv_refresh_perms(NULL);       /* needing less cannot fail */
    }
}

static bool perms_change(BlockDriverState *bs)
{
    return bs->new_perm != bs->perm || bs->new_shared != bs->shared_perm;
}

bool bdrv_refresh_perms(GError **errp)
{
    g_autoptr(GPtrArray) nodes = NULL;
    unsigned checked;

    if (hold_depth > 0) {
        return true;        /* the outermost bdrv_perm_release does it */
    }
    nodes = compute_needs();
    /* A read-only node cannot serve writers (blockdev-reopen asking for
     * read-only under a device or a writable parent; QEMU's words). */
    for (unsigned i = 0; i < nodes->len; i++) {
        BlockDriverState *bs = g_ptr_array_index(nodes, i);

        if (!(bs->flags & BDRV_O_RDWR) && (bs->new_perm & BLK_PERM_WRITE)) {
            error_setg(errp, "Read-only block node '%s' cannot support "
                       "read-write users", bdrv_node_name(bs));
            return false;
        }
    }
    for (checked = 0; checked < nodes->len; checked++) {
        BlockDriverState *bs = g_ptr_array_index(nodes, checked);

        if (bs->drv->check_perm && perms_change(bs) &&
            !bs->drv->check_perm(bs, bs->new_perm, bs->new_shared, errp)) {
            break;
        }
    }
    for (unsigned i = 0; i < nodes->len; i++) {
        BlockDriverState *bs = g_ptr_array_index(nodes, i);

        if (!perms_change(bs)) {
            continue;
        }
        if (checked < nodes->len) {
            if (i < checked && bs->drv->abort_perm) {
                bs->drv->abort_perm(bs);
            }
            continue;
        }
        if (bs->drv->set_perm) {
            bs->drv->set_perm(bs, bs->new_perm, bs->new_shared);
        }
        bs->perm = bs->new_perm;
        bs->shared_perm = bs->new_shared;
    }
    return checked == nodes->len;
}

void bdrv_perm_hold(void)
{
    hold_depth++;
}

bool bdrv_perm_release(GError **errp)
{
    g_assert(hold_depth > 0);
    return --hold_depth > 0 || bdrv_refresh_perms(errp);
}

bool bdrv_set_user_perm(BlockDriverState *bs, unsigned perm,
                        unsigned shared, GError **errp)
{
    unsigned old_perm = bs->user_perm, old_shared = bs->user_shared;

    bs->user_perm = perm;
    bs->user_shared = shared;
    if (!bdrv_refresh_perms(errp)) {
        bs->user_perm = old_perm;
        bs->user_shared = old_shared;
        return false;
    }
    return true;
}

void bdrv_inactivate_all(void)
{
    if (!inactive) {
        bdrv_store_bitmaps_all(true);
    }
    inactive = true;
    /* releasing locks cannot conflict with anyone */
    bdrv_refresh_perms(NULL);
}

bool bdrv_activate_all(GError **errp)
{
    if (!inactive) {
        return true;
    }
    inactive = false;
    if (!bdrv_refresh_perms(errp)) {
        inactive = true;
        return false;
    }
    bdrv_store_bitmaps_all(false);
    return true;
}

bool bdrv_is_inactive(void)
{
    return inactive;
}
