/*
 * ACPI memory hotplug: QEMU's register block at 0x0a00 (24 bytes) and the
 * hotplug handler of pc-dimm, as QEMU 7.2 has them (its
 * docs/specs/acpi_mem_hotplug.rst; register list in
 * include/hw/acpi/memory_hotplug.h), and the DSDT objects that drive it.
 *
 * Spec: ACPI 6.4, 9.13 (memory devices, PNP0C80), 6.3.3 (_EJx), 6.3.5
 * (_OST), 5.6.6 (Notify: 1 device check, 3 eject request), 5.6.4 (GPE).
 *
 * Flow: device_add pc-dimm maps the DIMM and takes its slot (enabled);
 * plug() sets the slot's insert event and raises GPE0 bit 3; the guest's
 * \_GPE._E03 calls \_SB.MHPC.MSCN, which selects each slot, notifies
 * those with an event and clears it.  device_del sets the remove event
 * (the DIMM stays); the guest's _EJ0 writes the eject bit, and only then
 * is the DIMM unmapped, its backend freed and DEVICE_DELETED sent.  As in
 * QEMU, a guest may eject any enabled DIMM, cold-plugged ones included.
 * _OST writes (event, then status) send ACPI_DEVICE_OST.
 */
#include "qemu/osdep.h"
#include "hw/acpi/memory_hotplug.h"
#include "hw/mem/pc-dimm.h"
#include "qapi/qapi-events.h"
#include "hw/acpi/aml-build.h"

static MemHotplugState *current_memhp;

MemHotplugState *acpi_memory_hotplug_current(void)
{
    return current_memhp && current_memhp->ready ? current_memhp : NULL;
}

static PCDIMMDevice *selected_dimm(MemHotplugState *s)
{
    return s->selector < s->dev_count && s->dimm[s->selector] ?
           PC_DIMM(s->dimm[s->selector]) : NULL;
}

static uint64_t memhp_read(void *opaque, uint64_t addr, unsigned size)
{
    MemHotplugState *s = opaque;
    PCDIMMDevice *d;
    uint64_t dimm_size;

    if (s->selector >= s->dev_count) {
        return 0;
    }
    d = selected_dimm(s);
    dimm_size = d ? d->hostmem->size : 0;
    switch (addr) {
    case MHP_ADDR_LO:
        return d ? (uint32_t)d->addr : 0;
    case MHP_ADDR_HI:
        return d ? d->addr >> 32 : 0;
    case MHP_SIZE_LO:
        return (uint32_t)dimm_size;
    case MHP_SIZE_HI:
        return dimm_size >> 32;
    case MHP_PROXIMITY:
        return d ? d->node : 0;
    case MHP_STATUS:
        return (d ? MHP_ENABLED : 0) | s->flags[s->selector];
    default:
        return 0;
    }
}

static void memhp_send_ost(MemHotplugState *s, unsigned slot)
{
    ACPIOSTInfo info = {
        .device = s->dimm[slot] ? s->dimm[slot]->id : NULL,
        .slot = g_strdup_printf("%u", slot),
        .slot_type = ACPI_SLOT_TYPE_DIMM,
        .source = s->ost_event[slot],
        .status = s->ost_status[slot],
    };

    qapi_event_send_acpi_device_ost(&info);
    g_free(info.slot);
}

static void memhp_write(void *opaque, uint64_t addr, uint64_t val,
                        unsigned size)
{
    MemHotplugState *s = opaque;
    unsigned slot = s->selector;

    if (addr == MHP_SELECTOR) {
        s->selector = val;
        return;
    }
    if (slot >= s->dev_count) {
        return;         /* a selector past the last slot: ignored */
    }
    switch (addr) {
    case MHP_OST_EVENT:
        s->ost_event[slot] = val;
        break;
    case MHP_OST_STATUS:
        s->ost_status[slot] = val;
        memhp_send_ost(s, slot);
        break;
    case MHP_STATUS:
        /* One action per write, in QEMU's order. */
        if (val & MHP_INSERT) {
            s->flags[slot] &= ~MHP_INSERT;
        } else if (val & MHP_REMOVE) {
            s->flags[slot] &= ~MHP_REMOVE;
        } else if ((val & MHP_EJECT) && s->dimm[slot]) {
            /* unplug() below empties the slot before DEVICE_DELETED */
            device_unplug_complete(s->dimm[slot]);
        }
        break;
    default:
        break;
    }
}

static const MemoryRegionOps memhp_ops = {
    .read = memhp_read,
    .write = memhp_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- the hotplug handler of pc-dimm ---------------------------------- */

static unsigned dimm_slot(MemHotplugState *s, DeviceState *dev)
{
    for (unsigned i = 0; i < s->dev_count; i++) {
        if (s->dimm[i] == dev) {
            return i;
        }
    }
    return UINT_MAX;
}

static bool memhp_plug(HotplugHandler *h, DeviceState *dev, GError **errp)
{
    MemHotplugState *s = h->opaque;
    unsigned slot = dimm_slot(s, dev);

    if (dev->hotplugged && slot != UINT_MAX) {
        s->flags[slot] |= MHP_INSERT;
        s->send_event(s->opaque, ACPI_MEMORY_HOTPLUG_STATUS);
    }
    return true;
}

static bool memhp_unplug_request(HotplugHandler *h, DeviceState *dev,
                                 GError **errp)
{
    MemHotplugState *s = h->opaque;
    unsigned slot = dimm_slot(s, dev);

    if (slot == UINT_MAX) {
        error_setg(errp, "Device '%s' does not support hotplugging",
                   dev->type->name);
        return false;
    }
    dev->pending_deletion_event = true;
    s->flags[slot] |= MHP_REMOVE;
    s->send_event(s->opaque, ACPI_MEMORY_HOTPLUG_STATUS);
    return true;
}

static void memhp_unplug(HotplugHandler *h, DeviceState *dev)
{
    acpi_memory_slot_detach(h->opaque, dev);
}

void acpi_memory_slot_attach(MemHotplugState *s, unsigned slot,
                             DeviceState *dimm)
{
    if (slot < s->dev_count) {
        s->dimm[slot] = dimm;
        s->flags[slot] = 0;
    }
}

void acpi_memory_slot_detach(MemHotplugState *s, DeviceState *dimm)
{
    unsigned slot = dimm_slot(s, dimm);

    if (slot != UINT_MAX) {
        s->dimm[slot] = NULL;
        s->flags[slot] = 0;
    }
}

void acpi_memory_hotplug_init(MemHotplugState *s, uint32_t slots,
                              void (*send_event)(void *opaque, unsigned mask),
                              void *opaque)
{
    /* QEMU: no slots, no block (and no AML). */
    if (!slots) {
        return;
    }
    s->dev_count = MIN(slots, ACPI_MAX_RAM_SLOTS);
    s->send_event = send_event;
    s->opaque = opaque;
    s->hp = (HotplugHandler){
        .opaque = s,
        .plug = memhp_plug,
        .unplug_request = memhp_unplug_request,
        .unplug = memhp_unplug,
    };
    memory_region_init_io(&s->io, &memhp_ops, s, "acpi-mem-hotplug",
                          ACPI_MEMORY_HOTPLUG_IO_LEN);
    memory_region_add_subregion(get_system_io(), ACPI_MEMORY_HOTPLUG_BASE,
                                &s->io);
    s->ready = true;
    current_memhp = s;
}

void acpi_memory_hotplug_uninit(MemHotplugState *s)
{
    if (!s->ready) {
        return;
    }
    memory_region_destroy(&s->io);
    s->ready = false;
    if (current_memhp == s) {
        current_memhp = NULL;
    }
}

ACPIOSTInfoList *acpi_memory_ospm_status(void)
{
    MemHotplugState *s = acpi_memory_hotplug_current();
    ACPIOSTInfoList *list = NULL, **tail = &list;

    for (unsigned i = 0; s && i < s->dev_count; i++) {
        ACPIOSTInfo *info = g_new0(ACPIOSTInfo, 1);
        ACPIOSTInfoList *e = g_new0(ACPIOSTInfoList, 1);

        if (s->dimm[i] && s->dimm[i]->id) {
            info->device = g_strdup(s->dimm[i]->id);
        }
        info->slot = g_strdup_printf("%u", i);
        info->slot_type = ACPI_SLOT_TYPE_DIMM;
        info->source = s->ost_event[i];
        info->status = s->ost_status[i];
        e->value = info;
        *tail = e;
        tail = &e->next;
    }
    return list;
}

/* The selector and each slot's events and _OST codes; the DIMMs
 * themselves come back with the -device pc-dimm of the destination. */
const VMStateDescription vmstate_memory_hotplug = {
    .name = "memory_hotplug",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(selector, MemHotplugState),
        VMSTATE_UINT8_ARRAY(flags, MemHotplugState, ACPI_MAX_RAM_SLOTS),
        VMSTATE_UINT32_ARRAY(ost_event, MemHotplugState, ACPI_MAX_RAM_SLOTS),
        VMSTATE_UINT32_ARRAY(ost_status, MemHotplugState,
                             ACPI_MAX_RAM_SLOTS),
        VMSTATE_END_OF_LIST()
    },
};

/* ---- the DSDT (QEMU 7.2's build_memory_hotplug_aml) --------------------- */

#define MHPD_PATH "\\_SB.PCI0.MHPD."   /* the register fields live there */

static Aml *mhp_field(const char *name)
{
    return aml_name(MHPD_PATH "%s", name);
}

/* \_SB.PCI0.MHPD: the I/O block as a resource and its fields. */
static Aml *build_mhpd(uint16_t io_base)
{
    Aml *dev = aml_device("MHPD");
    Aml *crs = aml_resource_template();
    Aml *f;

    aml_append(dev, aml_name_decl("_HID", aml_string("PNP0A06")));
    aml_append(dev, aml_name_decl("_UID",
                                  aml_string("Memory hotplug resources")));
    aml_append(crs, aml_io(AML_DEC16, io_base, io_base, 0,
                           ACPI_MEMORY_HOTPLUG_IO_LEN));
    aml_append(dev, aml_name_decl("_CRS", crs));
    aml_append(dev, aml_operation_region("HPMR", AML_SYSTEM_IO,
                                         aml_int(io_base),
                                         ACPI_MEMORY_HOTPLUG_IO_LEN));
    f = aml_field("HPMR", AML_DWORD_ACC, AML_NOLOCK, AML_PRESERVE);
    aml_append(f, aml_named_field("MRBL", 32));     /* base, low */
    aml_append(f, aml_named_field("MRBH", 32));
    aml_append(f, aml_named_field("MRLL", 32));     /* length, low */
    aml_append(f, aml_named_field("MRLH", 32));
    aml_append(f, aml_named_field("MPX", 32));      /* proximity */
    aml_append(dev, f);
    f = aml_field("HPMR", AML_BYTE_ACC, AML_NOLOCK, AML_WRITE_AS_ZEROS);
    aml_append(f, aml_reserved_field(MHP_STATUS * 8));
    aml_append(f, aml_named_field("MES", 1));       /* enabled */
    aml_append(f, aml_named_field("MINS", 1));      /* insert event */
    aml_append(f, aml_named_field("MRMV", 1));      /* remove event */
    aml_append(f, aml_named_field("MEJ", 1));       /* eject */
    aml_append(dev, f);
    f = aml_field("HPMR", AML_DWORD_ACC, AML_NOLOCK, AML_PRESERVE);
    aml_append(f, aml_named_field("MSEL", 32));     /* slot selector */
    aml_append(f, aml_named_field("MOEV", 32));     /* _OST event */
    aml_append(f, aml_named_field("MOSC", 32));     /* _OST status */
    aml_append(dev, f);
    return dev;
}

/* Acquire MLCK, select slot Arg0. */
static void mhp_lock_select(Aml *m)
{
    aml_append(m, aml_acquire(aml_name("MLCK"), 0xffff));
    aml_append(m, aml_store(aml_to_integer(aml_arg(0)), mhp_field("MSEL")));
}

/* MSCN: notify every slot with an insert (device check) or remove
 * (eject request) event and clear the event. */
static Aml *build_mscn(void)
{
    Aml *m = aml_method("MSCN", 0, false);
    Aml *idx = aml_local(0);
    Aml *w, *ifc, *elsec, *ifr;

    ifc = aml_if(aml_equal(aml_name("MDNR"), aml_int(0)));
    aml_append(ifc, aml_return(aml_int(0)));
    aml_append(m, ifc);
    aml_append(m, aml_store(aml_int(0), idx));
    aml_append(m, aml_acquire(aml_name("MLCK"), 0xffff));
    w = aml_while(aml_lless(idx, aml_name("MDNR")));
    aml_append(w, aml_store(idx, mhp_field("MSEL")));
    ifc = aml_if(aml_equal(mhp_field("MINS"), aml_int(1)));
    aml_append(ifc, aml_call2("MTFY", idx, aml_int(1)));
    aml_append(ifc, aml_store(aml_int(1), mhp_field("MINS")));
    aml_append(w, ifc);
    elsec = aml_else();
    ifr = aml_if(aml_equal(mhp_field("MRMV"), aml_int(1)));
    aml_append(ifr, aml_call2("MTFY", idx, aml_int(3)));
    aml_append(ifr, aml_store(aml_int(1), mhp_field("MRMV")));
    aml_append(elsec, ifr);
    aml_append(w, elsec);
    aml_append(w, aml_add(idx, aml_int(1), idx));
    aml_append(m, w);
    aml_append(m, aml_release(aml_name("MLCK")));
    aml_append(m, aml_return(aml_int(1)));
    return m;
}

/* MRST (slot): _STA, 0xF while a DIMM is in the slot. */
static Aml *build_mrst(void)
{
    Aml *m = aml_method("MRST", 1, false);
    Aml *ifc;

    aml_append(m, aml_store(aml_int(0), aml_local(0)));
    mhp_lock_select(m);
    ifc = aml_if(aml_equal(mhp_field("MES"), aml_int(1)));
    aml_append(ifc, aml_store(aml_int(0xf), aml_local(0)));
    aml_append(m, ifc);
    aml_append(m, aml_release(aml_name("MLCK")));
    aml_append(m, aml_return(aml_local(0)));
    return m;
}

/* MCRS (slot): _CRS, a QWord memory range [base, base + size - 1] (a
 * DWord one when it ends below 4 GiB), computed in 32-bit halves. */
static Aml *build_mcrs(void)
{
    Aml *m = aml_method("MCRS", 1, true);
    Aml *tmpl = aml_resource_template();
    Aml *t32, *ifc;
    Aml *minl = aml_name("MINL"), *minh = aml_name("MINH");
    Aml *lenl = aml_name("LENL"), *lenh = aml_name("LENH");
    Aml *maxl = aml_name("MAXL"), *maxh = aml_name("MAXH");
    Aml *one = aml_int(1);

    mhp_lock_select(m);
    aml_append(tmpl, aml_qword_memory(AML_CACHEABLE, 0,
                                      0xfffffffffffffffeULL));
    aml_append(m, aml_name_decl("MR64", tmpl));
    aml_append(m, aml_create_dword_field(aml_name("MR64"), aml_int(14),
                                         "MINL"));
    aml_append(m, aml_create_dword_field(aml_name("MR64"), aml_int(18),
                                         "MINH"));
    aml_append(m, aml_create_dword_field(aml_name("MR64"), aml_int(38),
                                         "LENL"));
    aml_append(m, aml_create_dword_field(aml_name("MR64"), aml_int(42),
                                         "LENH"));
    aml_append(m, aml_create_dword_field(aml_name("MR64"), aml_int(22),
                                         "MAXL"));
    aml_append(m, aml_create_dword_field(aml_name("MR64"), aml_int(26),
                                         "MAXH"));
    aml_append(m, aml_store(mhp_field("MRBH"), minh));
    aml_append(m, aml_store(mhp_field("MRBL"), minl));
    aml_append(m, aml_store(mhp_field("MRLH"), lenh));
    aml_append(m, aml_store(mhp_field("MRLL"), lenl));
    aml_append(m, aml_add(minl, lenl, maxl));
    aml_append(m, aml_add(minh, lenh, maxh));
    ifc = aml_if(aml_lless(maxl, minl));
    aml_append(ifc, aml_add(maxh, one, maxh));
    aml_append(m, ifc);
    ifc = aml_if(aml_lless(maxl, one));
    aml_append(ifc, aml_subtract(maxh, one, maxh));
    aml_append(m, ifc);
    aml_append(m, aml_subtract(maxl, one, maxl));

    ifc = aml_if(aml_equal(maxh, aml_int(0)));
    t32 = aml_resource_template();
    aml_append(t32, aml_dword_memory(AML_CACHEABLE, 0, 0xfffffffe));
    aml_append(ifc, aml_name_decl("MR32", t32));
    aml_append(ifc, aml_create_dword_field(aml_name("MR32"), aml_int(10),
                                           "MIN"));
    aml_append(ifc, aml_create_dword_field(aml_name("MR32"), aml_int(14),
                                           "MAX"));
    aml_append(ifc, aml_create_dword_field(aml_name("MR32"), aml_int(22),
                                           "LEN"));
    aml_append(ifc, aml_store(minl, aml_name("MIN")));
    aml_append(ifc, aml_store(maxl, aml_name("MAX")));
    aml_append(ifc, aml_store(lenl, aml_name("LEN")));
    aml_append(ifc, aml_release(aml_name("MLCK")));
    aml_append(ifc, aml_return(aml_name("MR32")));
    aml_append(m, ifc);
    aml_append(m, aml_release(aml_name("MLCK")));
    aml_append(m, aml_return(aml_name("MR64")));
    return m;
}

/* MPXM (slot): _PXM. */
static Aml *build_mpxm(void)
{
    Aml *m = aml_method("MPXM", 1, false);

    mhp_lock_select(m);
    aml_append(m, aml_store(mhp_field("MPX"), aml_local(0)));
    aml_append(m, aml_release(aml_name("MLCK")));
    aml_append(m, aml_return(aml_local(0)));
    return m;
}

/* MOST (slot, event, status, info): _OST, event then status. */
static Aml *build_most(void)
{
    Aml *m = aml_method("MOST", 4, false);

    mhp_lock_select(m);
    aml_append(m, aml_store(aml_arg(1), mhp_field("MOEV")));
    aml_append(m, aml_store(aml_arg(2), mhp_field("MOSC")));
    aml_append(m, aml_release(aml_name("MLCK")));
    return m;
}

/* MEJ0 (slot, arg): _EJ0, the eject bit. */
static Aml *build_mej0(void)
{
    Aml *m = aml_method("MEJ0", 2, false);

    mhp_lock_select(m);
    aml_append(m, aml_store(aml_int(1), mhp_field("MEJ")));
    aml_append(m, aml_release(aml_name("MLCK")));
    return m;
}

/* Device MPxx: PNP0C80, its methods calling the container's with _UID. */
static Aml *build_dimm_dev(unsigned i)
{
    Aml *dev = aml_device("MP%02X", i);
    Aml *m;

    aml_append(dev, aml_name_decl("_UID", aml_string("0x%02X", i)));
    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0C80")));
    m = aml_method("_CRS", 0, false);
    aml_append(m, aml_return(aml_call1("MCRS", aml_name("_UID"))));
    aml_append(dev, m);
    m = aml_method("_STA", 0, false);
    aml_append(m, aml_return(aml_call1("MRST", aml_name("_UID"))));
    aml_append(dev, m);
    m = aml_method("_PXM", 0, false);
    aml_append(m, aml_return(aml_call1("MPXM", aml_name("_UID"))));
    aml_append(dev, m);
    m = aml_method("_OST", 3, false);
    aml_append(m, aml_call4("MOST", aml_name("_UID"), aml_arg(0),
                            aml_arg(1), aml_arg(2)));
    aml_append(dev, m);
    m = aml_method("_EJ0", 1, false);
    aml_append(m, aml_call2("MEJ0", aml_name("_UID"), aml_arg(0)));
    aml_append(dev, m);
    return dev;
}

void build_memory_hotplug_aml(Aml *table, uint32_t nr_mem, uint16_t io_base)
{
    Aml *pci = aml_scope("\\_SB.PCI0");
    Aml *sb = aml_scope("\\_SB");
    Aml *mhpc = aml_device("MHPC");
    Aml *m, *ifc;

    aml_append(pci, build_mhpd(io_base));
    aml_append(table, pci);

    aml_append(mhpc, aml_name_decl("_HID", aml_string("PNP0A06")));
    aml_append(mhpc, aml_name_decl("_UID", aml_string("DIMM devices")));
    aml_append(mhpc, aml_name_decl("MDNR", aml_int(nr_mem)));
    m = aml_method("_STA", 0, false);
    ifc = aml_if(aml_equal(aml_name("MDNR"), aml_int(0)));
    aml_append(ifc, aml_return(aml_int(0)));
    aml_append(m, ifc);
    aml_append(m, aml_return(aml_int(0xb)));
    aml_append(mhpc, m);
    aml_append(mhpc, aml_mutex("MLCK", 0));
    aml_append(mhpc, build_mscn());
    aml_append(mhpc, build_mrst());
    aml_append(mhpc, build_mcrs());
    aml_append(mhpc, build_mpxm());
    aml_append(mhpc, build_most());
    aml_append(mhpc, build_mej0());
    for (unsigned i = 0; i < nr_mem; i++) {
        aml_append(mhpc, build_dimm_dev(i));
    }
    m = aml_method("MTFY", 2, false);
    for (unsigned i = 0; i < nr_mem; i++) {
        ifc = aml_if(aml_equal(aml_arg(0), aml_int(i)));
        aml_append(ifc, aml_notify(aml_name("MP%02X", i), aml_arg(1)));
        aml_append(m, ifc);
    }
    aml_append(mhpc, m);
    aml_append(sb, mhpc);
    aml_append(table, sb);

    m = aml_method("\\_GPE._E03", 0, false);
    aml_append(m, aml_call0("\\_SB.MHPC.MSCN"));
    aml_append(table, m);
}
