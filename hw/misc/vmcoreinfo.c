/*
 * vmcoreinfo: where the guest kernel keeps its VMCOREINFO note.
 *
 * Spec: QEMU docs/specs/vmcoreinfo.txt (QEMU 7.2 behaviour): an fw_cfg
 * file "etc/vmcoreinfo" of 16 little-endian bytes
 *   u16 host_format   what the host takes: 1 = ELF note (set at reset)
 *   u16 guest_format  what the guest wrote: 0 = none, 1 = ELF note
 *   u32 size          of the note
 *   u64 paddr         its guest-physical address
 * which the guest (Linux's qemu_fw_cfg driver) writes through the fw_cfg
 * DMA interface.  Only a write of the whole file at offset 0 with a
 * guest_format other than NONE makes the note "present"
 * (has_vmcoreinfo); a partial write leaves it absent.  dump-guest-memory
 * then copies the note into the dump's PT_NOTE segment after checking it
 * (monitor/mgmt-cmds.c).  One device per machine; reset clears it; its
 * state (present flag and the four fields) migrates.
 *
 * The fields are whatever the guest wrote: nothing here trusts them, the
 * dump reads through checks of its own.
 */
#include "qemu/osdep.h"
#include "hw/misc/vmcoreinfo.h"
#include "hw/nvram/fw_cfg.h"
#include "hw/qdev.h"

typedef struct VMCoreInfoState {
    DeviceState parent;
    FWCfgVMCoreInfo vmcoreinfo;     /* the fw_cfg file's bytes */
    bool has_vmcoreinfo;
    bool fw_cfg_file_added;
} VMCoreInfoState;

static VMCoreInfoState *vmcoreinfo_instance;

bool vmcoreinfo_get(FWCfgVMCoreInfo *out)
{
    if (!vmcoreinfo_instance || !vmcoreinfo_instance->has_vmcoreinfo) {
        return false;
    }
    *out = vmcoreinfo_instance->vmcoreinfo;
    return true;
}

bool vmcoreinfo_exists(void)
{
    return vmcoreinfo_instance != NULL;
}

/* The guest wrote (part of) etc/vmcoreinfo. */
static void vmcoreinfo_written(void *opaque, uint32_t offset, uint32_t len)
{
    VMCoreInfoState *s = opaque;

    s->has_vmcoreinfo = offset == 0 && len == sizeof(s->vmcoreinfo) &&
        GUINT16_FROM_LE(s->vmcoreinfo.guest_format) !=
            FW_CFG_VMCOREINFO_FORMAT_NONE;
}

static void vmcoreinfo_reset(DeviceState *dev)
{
    VMCoreInfoState *s = (VMCoreInfoState *)dev;

    s->has_vmcoreinfo = false;
    memset(&s->vmcoreinfo, 0, sizeof(s->vmcoreinfo));
    s->vmcoreinfo.host_format = GUINT16_TO_LE(FW_CFG_VMCOREINFO_FORMAT_ELF);
}

static bool vmcoreinfo_realize(DeviceState *dev, GError **errp)
{
    VMCoreInfoState *s = (VMCoreInfoState *)dev;
    FWCfgState *fw_cfg = fw_cfg_find();

    if (vmcoreinfo_instance) {
        error_setg(errp, "at most one %s device is permitted",
                   TYPE_VMCOREINFO);
        return false;
    }
    if (!fw_cfg || !fw_cfg_dma_enabled(fw_cfg)) {
        error_setg(errp, "%s device requires fw_cfg with DMA",
                   TYPE_VMCOREINFO);
        return false;
    }
    vmcoreinfo_reset(dev);
    if (!fw_cfg_add_file_callback(fw_cfg, FW_CFG_VMCOREINFO_FILENAME,
                                  &s->vmcoreinfo, sizeof(s->vmcoreinfo),
                                  vmcoreinfo_written, s, false, errp)) {
        return false;
    }
    s->fw_cfg_file_added = true;
    vmcoreinfo_instance = s;
    return true;
}

static void vmcoreinfo_unrealize(DeviceState *dev)
{
    VMCoreInfoState *s = (VMCoreInfoState *)dev;
    FWCfgState *fw_cfg = fw_cfg_find();

    if (vmcoreinfo_instance != s) {
        return;
    }
    if (s->fw_cfg_file_added && fw_cfg) {
        fw_cfg_remove_file(fw_cfg, FW_CFG_VMCOREINFO_FILENAME);
    }
    vmcoreinfo_instance = NULL;
}

static const VMStateField vmcoreinfo_fields[] = {
    VMSTATE_BOOL(has_vmcoreinfo, VMCoreInfoState),
    VMSTATE_UINT16(vmcoreinfo.host_format, VMCoreInfoState),
    VMSTATE_UINT16(vmcoreinfo.guest_format, VMCoreInfoState),
    VMSTATE_UINT32(vmcoreinfo.size, VMCoreInfoState),
    VMSTATE_UINT64(vmcoreinfo.paddr, VMCoreInfoState),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_vmcoreinfo = {
    .name = "vmcoreinfo",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = vmcoreinfo_fields,
};

static const DeviceType vmcoreinfo_type = {
    .name = TYPE_VMCOREINFO,
    .parent = TYPE_DEVICE,
    .desc = "Enable vmcoreinfo ELF note (for dump-guest-memory)",
    .instance_size = sizeof(VMCoreInfoState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_MISC,
    .realize = vmcoreinfo_realize,
    .unrealize = vmcoreinfo_unrealize,
    .reset = vmcoreinfo_reset,
    .vmsd = &vmstate_vmcoreinfo,
    .not_hotpluggable = true,
};

static void vmcoreinfo_register(void)
{
    device_type_register(&vmcoreinfo_type);
}
type_init(vmcoreinfo_register)
