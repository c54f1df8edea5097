/*
 * KVM's binary statistics (Linux Documentation/virt/kvm/api.rst,
 * "KVM_GET_STATS_FD", Linux 5.14): a file per VM and per vCPU whose
 * header gives the descriptors' and the data's offsets; each descriptor
 * names a statistic with its type (cumulative, instant, peak, linear or
 * log2 histogram), unit (none, bytes, seconds, cycles, boolean), base
 * and exponent, and the u64s of its value.  QMP query-stats and
 * query-stats-schemas (monitor/stats-cmds.c) read them through here.
 *
 * The descriptors never change, so each file's are read once; values are
 * read with pread at each query, which KVM serves without stopping a
 * running vCPU.  A vCPU's file is opened when the vCPU is created
 * (KVM_GET_STATS_FD is a vCPU ioctl, which waits for KVM_RUN to return).
 */
#include "qemu/osdep.h"
#include "accel/kvm.h"
#include "kvm-internal.h"
#include <linux/kvm.h>
#include <sys/ioctl.h>

typedef struct KvmStatsFile {
    struct kvm_stats_header hdr;
    uint8_t *descs;             /* hdr.num_desc of desc_size bytes */
    size_t desc_size;
} KvmStatsFile;

/* The layouts of the VM's file and of every vCPU's (all vCPUs share it) */
static KvmStatsFile vm_layout, vcpu_layout;
static int vm_stats_fd = -1;

static bool read_exact(int fd, void *buf, size_t len, off_t off)
{
    ssize_t n = pread(fd, buf, len, off);

    return n >= 0 && (size_t)n == len;
}

static bool stats_layout_load(KvmStatsFile *f, int fd, GError **errp)
{
    size_t total;

    if (f->descs) {
        return true;
    }
    if (!read_exact(fd, &f->hdr, sizeof(f->hdr), 0) ||
        f->hdr.name_size > 4096 || f->hdr.num_desc > 65536) {
        error_setg(errp, "KVM statistics: unreadable header");
        return false;
    }
    f->desc_size = sizeof(struct kvm_stats_desc) + f->hdr.name_size;
    total = f->desc_size * f->hdr.num_desc;
    f->descs = g_malloc0(total);
    if (!read_exact(fd, f->descs, total, f->hdr.desc_offset)) {
        g_free(f->descs);
        f->descs = NULL;
        error_setg(errp, "KVM statistics: unreadable descriptors");
        return false;
    }
    return true;
}

int kvm_vcpu_open_stats(int vcpu_fd)
{
    int fd;

    if (kvm_check_extension(KVM_CAP_BINARY_STATS_FD) <= 0) {
        return -1;
    }
    fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);
    return fd < 0 ? -1 : fd;
}

/* Every statistic of @f (read from @fd), in the descriptors' order, to
 * @fn; with @values the u64s are read first. */
static bool stats_walk(KvmStatsFile *f, int fd, bool values, KvmStatFn *fn,
                       void *opaque, GError **errp)
{
    g_autofree uint64_t *data = NULL;
    size_t data_words = 0;

    if (!stats_layout_load(f, fd, errp)) {
        return false;
    }
    if (values) {
        for (unsigned i = 0; i < f->hdr.num_desc; i++) {
            const struct kvm_stats_desc *d =
                (const void *)(f->descs + i * f->desc_size);
            data_words = MAX(data_words, d->offset / 8 + d->size);
        }
        data = g_new0(uint64_t, data_words ? data_words : 1);
        if (data_words && !read_exact(fd, data, data_words * 8,
                                      f->hdr.data_offset)) {
            error_setg(errp, "KVM statistics: unreadable values");
            return false;
        }
    }
    for (unsigned i = 0; i < f->hdr.num_desc; i++) {
        const struct kvm_stats_desc *d =
            (const void *)(f->descs + i * f->desc_size);
        g_autofree char *name = g_strndup(d->name, f->hdr.name_size);
        KvmStat st = {
            .name = name,
            .type = d->flags & KVM_STATS_TYPE_MASK,
            .unit = d->flags & KVM_STATS_UNIT_MASK,
            .base = d->flags & KVM_STATS_BASE_MASK,
            .exponent = d->exponent,
            .size = d->size,
            .bucket_size = d->bucket_size,
            .values = data ? data + d->offset / 8 : NULL,
        };
        fn(&st, opaque);
    }
    return true;
}

bool kvm_stats_vm(bool values, KvmStatFn *fn, void *opaque, GError **errp)
{
    if (!kvm_enabled() || kvm_check_extension(KVM_CAP_BINARY_STATS_FD) <= 0) {
        return true;            /* no statistics, as QEMU: an empty list */
    }
    if (vm_stats_fd < 0) {
        int fd = kvm_vm_ioctl(KVM_GET_STATS_FD, NULL);
        if (fd < 0) {
            error_setg(errp, "KVM_GET_STATS_FD: %s", strerror(-fd));
            return false;
        }
        vm_stats_fd = fd;
    }
    return stats_walk(&vm_layout, vm_stats_fd, values, fn, opaque, errp);
}

bool kvm_stats_vcpu_fd(int stats_fd, bool values, KvmStatFn *fn,
                       void *opaque, GError **errp)
{
    if (stats_fd < 0) {
        return true;
    }
    return stats_walk(&vcpu_layout, stats_fd, values, fn, opaque, errp);
}
