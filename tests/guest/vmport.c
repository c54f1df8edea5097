/*
 * vmport: the VMware backdoor I/O port QEMU's pc and q35 machines have
 * by default (vmport=auto), which VMware-aware guest software (open-vm-
 * tools' detection, Xorg's vmmouse driver, some installers) probes.
 *
 * Protocol (VMware's "backdoor" interface, as QEMU 7.2 implements it): an
 * IN of 32 bits from port 0x5658 with EAX = 0x564D5868 ("VMXh"), ECX's
 * low 16 bits the command; results in EAX, EBX, ECX, EDX.
 *   GETVERSION (10): EAX the version (6), EBX the magic, ECX the VMX type
 *   GETBIOSUUID (19): the SMBIOS UUID's 16 bytes in EAX, EBX, ECX, EDX
 *   GETRAMSIZE (20): EAX the RAM size in bytes, EBX 0x1177
 *   GETHZ (45): EAX:EBX the TSC frequency in Hz, ECX the APIC bus Hz
 *   GET_VCPU_INFO (68): EAX a bit set of VCPU_INFO_*
 * An IN with another EAX, or an unknown command, leaves the registers
 * alone (EAX all ones).  The vmmouse commands (39-41) belong to the
 * vmmouse device (tests/guest/vmmouse.c); the DATA probe here asks for
 * 0xdeadbeef words, an error that leaves the registers alone.
 *
 * Command line: ram_mb=N (the -m size), uuid=1 (expect the -uuid
 * 12345678-9abc-def0-1122-334455667788), vmport_off=1 (-machine
 * vmport=off: expect no answer).  QEMU 7.2 passes it all.
 */
#include "guest.h"

#define VMPORT_PORT     0x5658
#define VMPORT_MAGIC    0x564d5868u

typedef struct BdRegs {
    uint32_t eax, ebx, ecx, edx;
} BdRegs;

static BdRegs backdoor(uint32_t eax, uint32_t cmd)
{
    BdRegs r = { eax, 0xdeadbeef, cmd, VMPORT_PORT };

    asm volatile("inl %%dx, %%eax"
                 : "+a"(r.eax), "+b"(r.ebx), "+c"(r.ecx), "+d"(r.edx));
    return r;
}

static uint32_t cpuid_ecx(uint32_t leaf)
{
    uint32_t a = leaf, b, c = 0, d;

    asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return c;
}

static void show(const char *what, BdRegs r)
{
    report_info("%s: eax=%08x ebx=%08x ecx=%08x edx=%08x", what, r.eax,
                r.ebx, r.ecx, r.edx);
}

int main(void)
{
    long ram_mb = cmdline_get_int("ram_mb", 128);
    bool off = cmdline_get_int("vmport_off", 0);
    BdRegs r;

    report_prefix("vmport");
    r = backdoor(VMPORT_MAGIC, 10);
    show("GETVERSION", r);
    if (off) {
        report(r.ebx != VMPORT_MAGIC, "vmport=off: no backdoor answers");
        report_summary();
    }
    report(r.ebx == VMPORT_MAGIC, "GETVERSION: EBX is the magic");
    report(r.eax == 6, "GETVERSION: version 6");
    report(r.ecx == 2, "GETVERSION: VMX type 2");
    r = backdoor(VMPORT_MAGIC, 20);
    show("GETRAMSIZE", r);
    report(r.ebx == 0x1177, "GETRAMSIZE: EBX 0x1177");
    report(r.eax == (uint32_t)(ram_mb << 20), "GETRAMSIZE: %ld MiB", ram_mb);
    r = backdoor(VMPORT_MAGIC, 19);
    show("GETBIOSUUID", r);
    if (cmdline_get_int("uuid", 0)) {
        report(r.eax == 0x78563412 && r.ebx == 0xf0debc9a &&
               r.ecx == 0x44332211 && r.edx == 0x88776655,
               "GETBIOSUUID: the -uuid bytes in order");
    }
    r = backdoor(VMPORT_MAGIC, 45);
    show("GETHZ", r);
    report((r.eax || r.ebx) && r.ecx == 1000000000u,
           "GETHZ: a TSC frequency, the APIC bus at 1 GHz");
    r = backdoor(VMPORT_MAGIC, 68);
    show("GET_VCPU_INFO", r);
    report(!(r.eax & 8) == !(cpuid_ecx(1) & (1u << 21)),
           "GET_VCPU_INFO: legacy x2APIC exactly when CPUID has x2APIC");
    r = backdoor(VMPORT_MAGIC, 0x1234);
    show("unknown command", r);
    report(r.eax == 0xffffffffu && r.ebx == 0xdeadbeef && r.ecx == 0x1234,
           "unknown command: EAX all ones, the rest untouched");
    r = backdoor(VMPORT_MAGIC, 39);
    show("vmmouse status", r);
    r = backdoor(0x12345678, 10);
    show("wrong magic", r);
    report(r.ebx != VMPORT_MAGIC, "wrong magic: no answer");
    report_summary();
}
