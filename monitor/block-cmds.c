/*
 * query-block (QMP) and info block (HMP): every drive (IDE, floppy, none),
 * its medium and, for the IDE CD-ROM, its tray.  Field meanings as QEMU's query-block; output
 * of info block as QEMU 7.2 prints it (without node names, which kvmpc
 * does not have).
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "hw/ide/ide.h"
#include "system/blockdev.h"
#include "qapi/qapi-commands.h"
#include "monitor-internal.h"
#include "hmp.h"

static int backing_depth(BlockDriverState *bs)
{
    int n = 0;

    for (BlockDriverState *b = bdrv_backing(bs); b && n < 64;
         b = bdrv_backing(b)) {
        n++;
    }
    return n;
}

static ImageInfo *image_info(BlockDriverState *bs)
{
    ImageInfo *img = g_new0(ImageInfo, 1);
    BlockImageInfo bi = { 0 };
    int64_t actual = bdrv_allocated_size(bdrv_file(bs) ? bdrv_file(bs) : bs);

    img->filename = g_strdup(bdrv_filename(bs));
    img->format = g_strdup(bdrv_format_name(bs));
    img->virtual_size = bdrv_getlength(bs);
    if (actual >= 0) {
        img->has_actual_size = true;
        img->actual_size = actual;
    }
    if (bdrv_get_info(bs, &bi, NULL)) {
        if (bi.cluster_size) {
            img->has_cluster_size = true;
            img->cluster_size = bi.cluster_size;
        }
        if (bi.has_format_specific) {
            img->has_dirty_flag = true;
            img->dirty_flag = bi.dirty;
        }
        img->backing_filename = g_strdup(bi.backing_file);
        img->backing_filename_format = g_strdup(bi.backing_fmt);
        bdrv_image_info_clear(&bi);
    }
    return img;
}

static BlockDeviceInfo *inserted_info(const DriveInfo *d)
{
    BlockDeviceInfo *info = g_new0(BlockDeviceInfo, 1);
    BlockDriverState *back = bdrv_backing(d->bs);

    info->file = g_strdup(bdrv_filename(d->bs));
    info->ro = d->read_only;
    info->drv = g_strdup(bdrv_format_name(d->bs));
    info->backing_file = back ? g_strdup(bdrv_filename(back)) : NULL;
    info->backing_file_depth = backing_depth(d->bs);
    info->detect_zeroes = BLOCKDEV_DETECT_ZEROES_OPTIONS_OFF;
    info->image = image_info(d->bs);
    info->cache = g_new0(BlockdevCacheInfo, 1);
    info->cache->writeback = !(d->open_flags & BDRV_O_WRITETHROUGH);
    info->cache->direct = d->open_flags & BDRV_O_NOCACHE;
    info->cache->no_flush = d->open_flags & BDRV_O_NO_FLUSH;
    return info;
}

static BlockInfo *block_info(const DriveInfo *d)
{
    BlockInfo *info = g_new0(BlockInfo, 1);
    bool tray_open = false, locked = false;

    ide_drive_tray_state(d->id, &tray_open, &locked);
    info->device = g_strdup(d->id);
    info->qdev = g_strdup(d->qdev_id);
    info->type = g_strdup("unknown");
    info->removable = d->is_cdrom || d->type == IF_FLOPPY;
    info->locked = locked;
    if (d->is_cdrom) {
        info->has_tray_open = true;
        info->tray_open = tray_open;
    }
    /* An open tray holds no medium the guest can see. */
    if (d->bs && !tray_open) {
        info->inserted = inserted_info(d);
    }
    return info;
}

BlockInfoList *qmp_query_block(GError **errp)
{
    BlockInfoList *list = NULL, **tail = &list;
    GPtrArray *drives = drive_list();

    for (unsigned i = 0; i < drives->len; i++) {
        BlockInfoList *e = g_new0(BlockInfoList, 1);
        e->value = block_info(g_ptr_array_index(drives, i));
        *tail = e;
        tail = &e->next;
    }
    return list;
}

static void print_drive(GString *out, const DriveInfo *d)
{
    g_autoptr(BlockInfo) info = block_info(d);

    if (info->inserted) {
        g_string_append_printf(out, "%s: %s (%s%s)\n", d->id,
                               info->inserted->file, info->inserted->drv,
                               info->inserted->ro ? ", read-only" : "");
    } else {
        g_string_append_printf(out, "%s: [not inserted]\n", d->id);
    }
    if (info->qdev) {
        g_string_append_printf(out, "    Attached to:      %s\n", info->qdev);
    }
    if (info->removable) {
        g_string_append_printf(out, "    Removable device: %slocked, tray %s\n",
                               info->locked ? "" : "not ",
                               info->tray_open ? "open" : "closed");
    }
    if (info->inserted) {
        BlockdevCacheInfo *c = info->inserted->cache;
        g_string_append_printf(out, "    Cache mode:       %s%s%s\n",
                               c->writeback ? "writeback" : "writethrough",
                               c->direct ? ", direct" : "",
                               c->no_flush ? ", ignore flushes" : "");
    }
}

void hmp_info_block(Monitor *mon, const char *args)
{
    GPtrArray *drives = drive_list();
    g_autoptr(GString) out = g_string_new(NULL);

    for (unsigned i = 0; i < drives->len; i++) {
        if (i) {
            g_string_append_c(out, '\n');
        }
        print_drive(out, g_ptr_array_index(drives, i));
    }
    monitor_puts(mon, out->str);
}
