/*
 * The "vmcoreinfo" device (QEMU docs/specs/vmcoreinfo.txt): the guest
 * kernel writes where its VMCOREINFO ELF note is, so a dump of guest
 * memory (dump-guest-memory) can carry it for crash/makedumpfile.
 * See hw/misc/vmcoreinfo.c.
 */
#ifndef HW_MISC_VMCOREINFO_H
#define HW_MISC_VMCOREINFO_H
#include "qemu/osdep.h"

#define TYPE_VMCOREINFO             "vmcoreinfo"
#define FW_CFG_VMCOREINFO_FILENAME  "etc/vmcoreinfo"

/* FWCfgVMCoreInfo.host_format / guest_format. */
#define FW_CFG_VMCOREINFO_FORMAT_NONE   0x0
#define FW_CFG_VMCOREINFO_FORMAT_ELF    0x1

/* The etc/vmcoreinfo file: 16 bytes, little-endian (the natural layout
 * has no padding; x86 hosts are little-endian). */
typedef struct FWCfgVMCoreInfo {
    uint16_t host_format;   /* formats the host can take (written by kvmpc) */
    uint16_t guest_format;  /* format of the note the guest points at */
    uint32_t size;          /* of the note */
    uint64_t paddr;         /* guest-physical address of the note */
} FWCfgVMCoreInfo;
G_STATIC_ASSERT(sizeof(FWCfgVMCoreInfo) == 16);

/*
 * What the guest wrote, when it wrote a whole, non-NONE descriptor since
 * the last reset (QEMU's has_vmcoreinfo); false without the device.
 */
bool vmcoreinfo_get(FWCfgVMCoreInfo *out);
/* The machine has a vmcoreinfo device. */
bool vmcoreinfo_exists(void);

#endif
