/*
 * The DSDT side of ACPI CPU hotplug (the register block is
 * hw/acpi/cpu-hotplug.c), laid out as QEMU 7.2's build_cpus_aml:
 *
 *   \_SB.PCI0.PRES (PNP0A06, _CRS the block): OperationRegion PRST
 *       (SystemIO, 12 bytes) with CPEN/CINS/CRMV/CEJ0 (flag bits of
 *       byte 4), CCMD (byte 5), CSEL (dword 0), CDAT (dword 8), and the
 *       Mutex CPLK
 *   \_SB.CPUS (ACPI0010): CSTA(uid) -> _STA, CEJ0(uid), COST(uid, event,
 *       status, buffer) -> _OST, CTFY(uid, code) -> Notify(Cnnn),
 *       CSCN: "get next CPU with event" until none is left, notifying
 *       each (1 device check for an insert, 3 eject request for a
 *       remove) and clearing its event
 *   \_SB.CPUS.Cnnn (ACPI0007, _UID n) for every possible CPU: _STA, _MAT
 *       (its MADT entry, enabled), _PXM (its node, with -numa), _OST and
 *       _EJ0
 *   \_GPE._E02: \_SB.CPUS.CSCN
 *
 * Spec: ACPI 6.4, 5.2.12 (MADT entries, the _MAT buffer), 6.3.3 (_EJx),
 * 6.3.5 (_OST), 6.3.7 (_STA), 8.4 (processor device ACPI0007,
 * container ACPI0010), 19.6.44 (Field), 19.6.89 (Mutex).
 */
#include "qemu/osdep.h"
#include "hw/i386/acpi-build.h"
#include "hw/acpi/aml-build.h"
#include "hw/acpi/cpu-hotplug.h"

#define CPUHP_LOCK      "\\_SB.PCI0.PRES.CPLK"
#define CPUHP_FIELD(f)  "\\_SB.PCI0.PRES." f

/* ACPI 6.4 table 5.44: processor entries. */
#define MADT_TYPE_LAPIC     0
#define MADT_TYPE_X2APIC    9
#define MADT_XAPIC_MAX_ID   0xfe

void acpi_madt_cpu_entry(GByteArray *t, unsigned uid, uint32_t apic_id,
                         bool enabled)
{
    if (apic_id <= MADT_XAPIC_MAX_ID) {
        build_append_int_noprefix(t, MADT_TYPE_LAPIC, 1);
        build_append_int_noprefix(t, 8, 1);
        build_append_int_noprefix(t, uid, 1);
        build_append_int_noprefix(t, apic_id, 1);
        build_append_int_noprefix(t, enabled, 4);
    } else {
        build_append_int_noprefix(t, MADT_TYPE_X2APIC, 1);
        build_append_int_noprefix(t, 16, 1);
        build_append_int_noprefix(t, 0, 2);
        build_append_int_noprefix(t, apic_id, 4);
        build_append_int_noprefix(t, enabled, 4);
        build_append_int_noprefix(t, uid, 4);
    }
}

/*
 * \_SB.PCI0.PRES (PNP0A06, as QEMU): the block as an I/O resource, the
 * region PRST with its fields, and the lock CPLK.
 */
static void build_cpuhp_registers(Aml *sb, uint16_t base)
{
    Aml *dev = aml_device("\\_SB.PCI0.PRES");
    Aml *crs = aml_resource_template();
    Aml *flags = aml_field("PRST", AML_BYTE_ACC, AML_NOLOCK,
                           AML_WRITE_AS_ZEROS);
    Aml *dwords = aml_field("PRST", AML_DWORD_ACC, AML_NOLOCK,
                            AML_PRESERVE);

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0A06")));
    aml_append(dev, aml_name_decl("_UID",
                                  aml_string("CPU Hotplug resources")));
    aml_append(dev, aml_mutex("CPLK", 0));
    aml_append(crs, aml_io(AML_DEC16, base, base, 1, ACPI_CPUHP_SIZE));
    aml_append(dev, aml_name_decl("_CRS", crs));
    aml_append(dev, aml_operation_region("PRST", AML_SYSTEM_IO,
                                         aml_int(base), ACPI_CPUHP_SIZE));
    aml_append(flags, aml_reserved_field(ACPI_CPUHP_FLAGS * 8));
    aml_append(flags, aml_named_field("CPEN", 1));
    aml_append(flags, aml_named_field("CINS", 1));
    aml_append(flags, aml_named_field("CRMV", 1));
    aml_append(flags, aml_named_field("CEJ0", 1));
    aml_append(flags, aml_reserved_field(4));
    aml_append(flags, aml_named_field("CCMD", 8));
    aml_append(dev, flags);
    aml_append(dwords, aml_named_field("CSEL", 32));
    aml_append(dwords, aml_reserved_field(32));
    aml_append(dwords, aml_named_field("CDAT", 32));
    aml_append(dev, dwords);
    aml_append(sb, dev);
}

/* CSTA(uid): 0xf when the CPU is there, else 0. */
static Aml *build_csta(void)
{
    Aml *m = aml_method("CSTA", 1, true);
    Aml *on = aml_if(aml_equal(aml_name(CPUHP_FIELD("CPEN")), aml_int(1)));

    aml_append(m, aml_acquire(aml_name(CPUHP_LOCK), 0xffff));
    aml_append(m, aml_store(aml_arg(0), aml_name(CPUHP_FIELD("CSEL"))));
    aml_append(m, aml_store(aml_int(0), aml_local(0)));
    aml_append(on, aml_store(aml_int(0xf), aml_local(0)));
    aml_append(m, on);
    aml_append(m, aml_release(aml_name(CPUHP_LOCK)));
    aml_append(m, aml_return(aml_local(0)));
    return m;
}

/* CEJ0(uid): the eject bit. */
static Aml *build_cej0(void)
{
    Aml *m = aml_method("CEJ0", 1, true);

    aml_append(m, aml_acquire(aml_name(CPUHP_LOCK), 0xffff));
    aml_append(m, aml_store(aml_arg(0), aml_name(CPUHP_FIELD("CSEL"))));
    aml_append(m, aml_store(aml_int(1), aml_name(CPUHP_FIELD("CEJ0"))));
    aml_append(m, aml_release(aml_name(CPUHP_LOCK)));
    return m;
}

/* COST(uid, event, status, buffer): commands 1 and 2 with their data. */
static Aml *build_cost(void)
{
    Aml *m = aml_method("COST", 4, true);

    aml_append(m, aml_acquire(aml_name(CPUHP_LOCK), 0xffff));
    aml_append(m, aml_store(aml_arg(0), aml_name(CPUHP_FIELD("CSEL"))));
    aml_append(m, aml_store(aml_int(ACPI_CPUHP_CMD_OST_EVENT),
                            aml_name(CPUHP_FIELD("CCMD"))));
    aml_append(m, aml_store(aml_arg(1), aml_name(CPUHP_FIELD("CDAT"))));
    aml_append(m, aml_store(aml_int(ACPI_CPUHP_CMD_OST_STATUS),
                            aml_name(CPUHP_FIELD("CCMD"))));
    aml_append(m, aml_store(aml_arg(2), aml_name(CPUHP_FIELD("CDAT"))));
    aml_append(m, aml_release(aml_name(CPUHP_LOCK)));
    return m;
}

/* CTFY(uid, code): Notify(Cnnn, code) for the CPU of that uid. */
static Aml *build_ctfy(unsigned n)
{
    Aml *m = aml_method("CTFY", 2, false);

    for (unsigned i = 0; i < n; i++) {
        Aml *is = aml_if(aml_equal(aml_arg(0), aml_int(i)));
        aml_append(is, aml_notify(aml_name("C%03X", i), aml_arg(1)));
        aml_append(m, is);
    }
    return m;
}

/*
 * CSCN: while "get next CPU with event" finds one, notify it and clear
 * that event (writing 1 to CINS/CRMV).  Each pass clears an event, so
 * the loop ends.
 */
static Aml *build_cscn(void)
{
    Aml *m = aml_method("CSCN", 0, true);
    Aml *loop = aml_while(aml_equal(aml_local(0), aml_int(1)));
    Aml *ins = aml_if(aml_equal(aml_name(CPUHP_FIELD("CINS")), aml_int(1)));
    Aml *other = aml_else();
    Aml *rmv = aml_if(aml_equal(aml_name(CPUHP_FIELD("CRMV")), aml_int(1)));

    aml_append(m, aml_acquire(aml_name(CPUHP_LOCK), 0xffff));
    aml_append(m, aml_store(aml_int(1), aml_local(0)));
    aml_append(loop, aml_store(aml_int(0), aml_local(0)));
    aml_append(loop, aml_store(aml_int(ACPI_CPUHP_CMD_GET_NEXT),
                               aml_name(CPUHP_FIELD("CCMD"))));
    aml_append(ins, aml_call2("CTFY", aml_name(CPUHP_FIELD("CDAT")),
                              aml_int(1)));
    aml_append(ins, aml_store(aml_int(1), aml_name(CPUHP_FIELD("CINS"))));
    aml_append(ins, aml_store(aml_int(1), aml_local(0)));
    aml_append(loop, ins);
    aml_append(rmv, aml_call2("CTFY", aml_name(CPUHP_FIELD("CDAT")),
                              aml_int(3)));
    aml_append(rmv, aml_store(aml_int(1), aml_name(CPUHP_FIELD("CRMV"))));
    aml_append(rmv, aml_store(aml_int(1), aml_local(0)));
    aml_append(other, rmv);
    aml_append(loop, other);
    aml_append(m, loop);
    aml_append(m, aml_release(aml_name(CPUHP_LOCK)));
    return m;
}

static Aml *build_cpu_device(unsigned uid, uint32_t apic_id, int node)
{
    Aml *dev = aml_device("C%03X", uid);
    Aml *sta = aml_method("_STA", 0, false);
    Aml *ost = aml_method("_OST", 3, false);
    Aml *ej0 = aml_method("_EJ0", 1, false);
    g_autoptr(GByteArray) mat = g_byte_array_new();

    aml_append(dev, aml_name_decl("_HID", aml_string("ACPI0007")));
    aml_append(dev, aml_name_decl("_UID", aml_int(uid)));
    aml_append(sta, aml_return(aml_call1("CSTA", aml_int(uid))));
    aml_append(dev, sta);
    /* _MAT is always "enabled": the OS reads it once the CPU is there. */
    acpi_madt_cpu_entry(mat, uid, apic_id, true);
    aml_append(dev, aml_name_decl("_MAT", aml_buffer(mat->len, mat->data)));
    aml_append(ost, aml_call4("COST", aml_int(uid), aml_arg(0), aml_arg(1),
                              aml_arg(2)));
    aml_append(dev, ost);
    aml_append(ej0, aml_call1("CEJ0", aml_int(uid)));
    aml_append(dev, ej0);
    if (node >= 0) {
        /* as QEMU (last): Linux ignores the SRAT for CPUs absent at boot */
        aml_append(dev, aml_name_decl("_PXM", aml_int(node)));
    }
    return dev;
}

void acpi_build_cpus_hotplug(Aml *sb, const AcpiPcConfig *cfg)
{
    Aml *cpus = aml_device("CPUS");

    build_cpuhp_registers(sb, cfg->cpuhp_base);
    aml_append(cpus, aml_name_decl("_HID", aml_string("ACPI0010")));
    aml_append(cpus, aml_name_decl("_CID", aml_eisaid("PNP0A05")));
    aml_append(cpus, build_ctfy(cfg->max_cpus));
    aml_append(cpus, build_csta());
    aml_append(cpus, build_cej0());
    aml_append(cpus, build_cscn());
    aml_append(cpus, build_cost());
    for (unsigned i = 0; i < cfg->max_cpus; i++) {
        aml_append(cpus, build_cpu_device(i, cfg->slot_apic_ids[i],
                                          cfg->numa_nodes ?
                                          (int)cfg->numa_cpu_nodes[i] : -1));
    }
    aml_append(sb, cpus);
}

Aml *acpi_build_gpe_e02(void)
{
    Aml *m = aml_method("_E02", 0, false);

    aml_append(m, aml_call0("\\_SB.CPUS.CSCN"));
    return m;
}
