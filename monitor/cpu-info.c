/*
 * vCPU facts for the monitor (include/monitor/cpu-info.h), built on what
 * the KVM accelerator exports today.
 */
#include "qemu/osdep.h"
#include "monitor/cpu-info.h"
#include "accel/kvm.h"

/* The hex value after "NAME=" in a register dump. */
static bool dump_field(const char *dump, const char *name, uint64_t *out)
{
    g_autofree char *key = g_strdup_printf("%s=", name);
    const char *p = dump;

    /* Match whole names only ("CR3=" must not hit inside "xCR3="). */
    while ((p = strstr(p, key)) != NULL) {
        if (p == dump || p[-1] == ' ' || p[-1] == '\n') {
            char *end;
            *out = g_ascii_strtoull(p + strlen(key), &end, 16);
            return end != p + strlen(key);
        }
        p += strlen(key);
    }
    return false;
}

bool monitor_cpu_get_paging(unsigned idx, MonitorCpuPaging *out,
                            GError **errp)
{
    g_autofree char *dump = NULL;

    if (!kvm_enabled() || idx >= kvm_vcpu_count()) {
        error_setg(errp, "No CPU available");
        return false;
    }
    dump = kvm_vcpu_dump_registers(idx);
    if (!dump || !dump_field(dump, "CR0", &out->cr0) ||
        !dump_field(dump, "CR3", &out->cr3) ||
        !dump_field(dump, "CR4", &out->cr4) ||
        !dump_field(dump, "EFER", &out->efer)) {
        error_setg(errp, "CPU %u: control registers unavailable", idx);
        return false;
    }
    return true;
}
