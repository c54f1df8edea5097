/*
 * vmgenid: the Virtual Machine Generation ID device.
 *
 * Spec: Microsoft, "Virtual Machine Generation ID" (2012): an ACPI device
 * with _CID "VM_Gen_Counter" and _DDN "VM_Gen_Counter" whose ADDR method
 * returns a Package of two integers, the low and high 32 bits of the
 * guest-physical address of a 128-bit generation ID; the platform changes
 * the ID when the VM is restored or copied, then does Notify (VGEN, 0x80).
 * The layout is QEMU 7.2's (QEMU docs/specs/vmgenid.txt), which Windows,
 * Linux's vmgenid driver and the firmware know:
 *   - etc/vmgenid_guid: a 4 KiB fw_cfg blob the firmware places (linker
 *     ALLOCATE, high zone, page aligned) with the GUID at offset 40 in
 *     Microsoft's byte order (first three fields little-endian); the 40
 *     bytes before it keep OVMF from taking the blob for an ACPI table.
 *   - etc/vmgenid_addr: 8 bytes the firmware writes (linker WRITE_POINTER,
 *     fw_cfg DMA write) with the address of the GUID in guest memory.
 *   - An SSDT (OEM table id "VMGENID"): VGIA, a DWord the linker patches
 *     with the blob's address; \_SB.VGEN (_HID "QEMUVGID", _CID, _DDN,
 *     _STA, ADDR = VGIA + 40); \_GPE._E05 notifying VGEN with 0x80.
 * When the GUID changes under a running guest -- a migration or snapshot
 * restored on a machine started with another guid= -- kvmpc writes the
 * new GUID at the address firmware wrote and raises GPE0 bit 5.  The
 * address is the device's state (it migrates; post_load writes the
 * destination's GUID), cleared at reset until the firmware writes it
 * again (its write also stores the current GUID, since the blob the
 * firmware copied is the one built at reset).
 * As in QEMU 7.2 the guid property cannot change once realized (qom-set
 * is refused); "auto" gives a random GUID at creation.
 *
 * Guest input: the address the guest wrote is used only for a 16-byte
 * write that lies wholly in guest RAM; anything else (MMIO, a hole, a
 * wrap around 2^64) is not written.
 */
#include "qemu/osdep.h"
#include "hw/acpi/vmgenid.h"
#include "hw/acpi/aml-build.h"
#include "hw/acpi/gpe-event.h"
#include "hw/nvram/fw_cfg.h"
#include "hw/qdev.h"
#include "system/memory.h"
#include "qapi/qapi-commands.h"

#define VMGENID_ADDR_SIZE   8
#define VMGENID_ACPI_NOTIFY 0x80    /* the spec's notification value */
#define VMGENID_SSDT_REV    1
#define ACPI_STA_ALL        0x0f

typedef struct VmGenIdState {
    DeviceState parent;
    char *guid_str;                             /* property "guid" */
    uint8_t guid[UUID_LEN];                     /* text byte order */
    uint8_t vmgenid_addr_le[VMGENID_ADDR_SIZE]; /* written by firmware */
    bool fw_cfg_file_added;
} VmGenIdState;

static VmGenIdState *vmgenid_instance;

bool vmgenid_current_guid(uint8_t guid[UUID_LEN])
{
    if (!vmgenid_instance) {
        return false;
    }
    memcpy(guid, vmgenid_instance->guid, UUID_LEN);
    return true;
}

/* ---- the guest side ------------------------------------------------------ */

static uint64_t vmgenid_guest_addr(const VmGenIdState *s)
{
    return ldq_le_p(s->vmgenid_addr_le);
}

/*
 * Store the GUID where the firmware said and tell the guest (QEMU's
 * vmgenid_update_guest).  Nothing before the firmware wrote an address.
 */
static void vmgenid_update_guest(VmGenIdState *s)
{
    uint64_t addr = vmgenid_guest_addr(s);
    uint8_t guid_le[UUID_LEN];

    if (!addr || !address_space_is_ram(&address_space_memory, addr, UUID_LEN,
                                       true)) {
        return;
    }
    uuid_bswap(s->guid, guid_le);
    if (dma_write(addr, guid_le, UUID_LEN) != MEMTX_OK) {
        return;
    }
    acpi_send_gpe_event(ACPI_VMGENID_CHANGE_STATUS);
}

/* The firmware wrote (part of) etc/vmgenid_addr. */
static void vmgenid_addr_written(void *opaque, uint32_t offset,
                                 uint32_t len)
{
    vmgenid_update_guest(opaque);
}

/* ---- ACPI ---------------------------------------------------------------- */

/* _STA: present only once the linker patched VGIA. */
static Aml *vmgenid_build_sta(void)
{
    Aml *m = aml_method("_STA", 0, false);
    Aml *ret = aml_local(0);
    Aml *unlinked = aml_if(aml_equal(aml_name("VGIA"), aml_int(0)));

    aml_append(m, aml_store(aml_int(ACPI_STA_ALL), ret));
    aml_append(unlinked, aml_store(aml_int(0), ret));
    aml_append(m, unlinked);
    aml_append(m, aml_return(ret));
    return m;
}

/* ADDR: Package (2) { VGIA + 40, 0 }: the GUID's address, low and high. */
static Aml *vmgenid_build_addr(void)
{
    Aml *m = aml_method("ADDR", 0, false);
    Aml *pkg = aml_local(0);

    aml_append(m, aml_store(aml_package(2), pkg));
    aml_append(m, aml_store(aml_add(aml_name("VGIA"),
                                    aml_int(VMGENID_GUID_OFFSET), NULL),
                            aml_index(pkg, aml_int(0))));
    aml_append(m, aml_store(aml_int(0), aml_index(pkg, aml_int(1))));
    aml_append(m, aml_return(pkg));
    return m;
}

static Aml *vmgenid_build_device(void)
{
    Aml *scope = aml_scope("\\_SB");
    Aml *dev = aml_device("VGEN");

    aml_append(dev, aml_name_decl("_HID", aml_string("QEMUVGID")));
    aml_append(dev, aml_name_decl("_CID", aml_string("VM_Gen_Counter")));
    aml_append(dev, aml_name_decl("_DDN", aml_string("VM_Gen_Counter")));
    aml_append(dev, vmgenid_build_sta());
    aml_append(dev, vmgenid_build_addr());
    aml_append(scope, dev);
    return scope;
}

static Aml *vmgenid_build_gpe_e05(void)
{
    Aml *m = aml_method("\\_GPE._E05", 0, false);

    aml_append(m, aml_notify(aml_name("\\_SB.VGEN"),
                             aml_int(VMGENID_ACPI_NOTIFY)));
    return m;
}

static void vmgenid_fill_blob(GByteArray *blob, const uint8_t guid[UUID_LEN])
{
    g_byte_array_set_size(blob, VMGENID_FW_CFG_SIZE);
    memset(blob->data, 0, VMGENID_FW_CFG_SIZE);
    uuid_bswap(guid, blob->data + VMGENID_GUID_OFFSET);
}

size_t vmgenid_build_acpi(GByteArray *tables, const char *table_file,
                          GByteArray *guid_blob, BIOSLinker *linker,
                          const uint8_t guid[UUID_LEN])
{
    size_t off = acpi_table_begin(tables);
    size_t vgia = build_append_named_dword(tables, "VGIA");
    Aml *body;

    vmgenid_fill_blob(guid_blob, guid);
    aml_pool_begin();
    body = aml_block_new();
    aml_append(body, vmgenid_build_device());
    aml_append(body, vmgenid_build_gpe_e05());
    g_byte_array_append(tables, aml_bytes(body)->data, aml_bytes(body)->len);
    aml_pool_end();

    bios_linker_loader_alloc(linker, VMGENID_GUID_FW_CFG_FILE, guid_blob,
                             VMGENID_FW_CFG_SIZE, false);
    /* The firmware tells the device where the GUID is (64 bits)... */
    bios_linker_loader_write_pointer(linker, VMGENID_ADDR_FW_CFG_FILE, 0,
                                     VMGENID_ADDR_SIZE,
                                     VMGENID_GUID_FW_CFG_FILE,
                                     VMGENID_GUID_OFFSET);
    /* ...and the AML where the blob is (32 bits, as QEMU). */
    bios_linker_loader_add_pointer(linker, table_file, vgia, 4,
                                   VMGENID_GUID_FW_CFG_FILE, 0);
    acpi_table_end_oem(tables, off, "SSDT", VMGENID_SSDT_REV, "VMGENID");
    return off;
}

/* ---- QMP ----------------------------------------------------------------- */

GuidInfo *qmp_query_vm_generation_id(GError **errp)
{
    GuidInfo *info;
    char text[UUID_STR_LEN];

    if (!vmgenid_instance) {
        error_setg(errp, "VM Generation ID device not found");
        return NULL;
    }
    uuid_unparse(vmgenid_instance->guid, text);
    info = g_new0(GuidInfo, 1);
    info->guid = g_strdup(text);
    return info;
}

/* ---- device -------------------------------------------------------------- */

/* A device reset runs before the machine's reset hooks, among them the
 * direct-boot loader that writes the address as the firmware would. */
static void vmgenid_reset(DeviceState *dev)
{
    VmGenIdState *s = (VmGenIdState *)dev;

    /* The firmware writes the address again on its way up. */
    memset(s->vmgenid_addr_le, 0, sizeof(s->vmgenid_addr_le));
}

/* "auto" or a UUID; the property then reads back as the GUID in use. */
static bool vmgenid_parse_guid(VmGenIdState *s, GError **errp)
{
    char text[UUID_STR_LEN];

    if (s->guid_str && !strcmp(s->guid_str, "auto")) {
        uuid_generate(s->guid);
    } else if (!s->guid_str || !uuid_parse(s->guid_str, s->guid)) {
        error_setg(errp, "Property '%s.guid' doesn't take value '%s'",
                   TYPE_VMGENID, s->guid_str ? s->guid_str : "");
        return false;
    }
    uuid_unparse(s->guid, text);
    g_free(s->guid_str);
    s->guid_str = g_strdup(text);
    return true;
}

static bool vmgenid_realize(DeviceState *dev, GError **errp)
{
    VmGenIdState *s = (VmGenIdState *)dev;
    FWCfgState *fw_cfg = fw_cfg_find();

    if (!vmgenid_parse_guid(s, errp)) {
        return false;
    }
    if (!fw_cfg || !fw_cfg_dma_enabled(fw_cfg)) {
        error_setg(errp, "%s requires DMA write support in fw_cfg, which "
                   "this machine type does not provide", TYPE_VMGENID);
        return false;
    }
    if (vmgenid_instance) {
        error_setg(errp, "at most one %s device is permitted", TYPE_VMGENID);
        return false;
    }
    if (!fw_cfg_add_file_callback(fw_cfg, VMGENID_ADDR_FW_CFG_FILE,
                                  s->vmgenid_addr_le,
                                  sizeof(s->vmgenid_addr_le),
                                  vmgenid_addr_written, s, false, errp)) {
        return false;
    }
    s->fw_cfg_file_added = true;
    vmgenid_instance = s;
    return true;
}

static void vmgenid_unrealize(DeviceState *dev)
{
    VmGenIdState *s = (VmGenIdState *)dev;
    FWCfgState *fw_cfg = fw_cfg_find();

    if (vmgenid_instance != s) {
        return;
    }
    if (s->fw_cfg_file_added && fw_cfg) {
        fw_cfg_remove_file(fw_cfg, VMGENID_ADDR_FW_CFG_FILE);
    }
    vmgenid_instance = NULL;
}

/* A restored or migrated guest gets this machine's GUID (and the GPE). */
static int vmgenid_post_load(void *opaque, int version_id)
{
    vmgenid_update_guest(opaque);
    return 0;
}

static const VMStateField vmgenid_fields[] = {
    VMSTATE_UINT8_ARRAY(vmgenid_addr_le, VmGenIdState, VMGENID_ADDR_SIZE),
    VMSTATE_END_OF_LIST(),
};

static const VMStateDescription vmstate_vmgenid = {
    .name = "vmgenid",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = vmgenid_post_load,
    .fields = vmgenid_fields,
};

static const Property vmgenid_props[] = {
    DEFINE_PROP("guid", VmGenIdState, guid_str, PROP_STRING, "auto",
                "UUID (aka GUID) or \"auto\" for random value (default)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const DeviceType vmgenid_type = {
    .name = TYPE_VMGENID,
    .parent = TYPE_DEVICE,
    .desc = "VM Generation ID (Microsoft's interface, QEMU's layout)",
    .instance_size = sizeof(VmGenIdState),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_MISC,
    .props = vmgenid_props,
    .realize = vmgenid_realize,
    .unrealize = vmgenid_unrealize,
    .reset = vmgenid_reset,
    .vmsd = &vmstate_vmgenid,
    .not_hotpluggable = true,
};

static void vmgenid_register(void)
{
    device_type_register(&vmgenid_type);
}
type_init(vmgenid_register)
