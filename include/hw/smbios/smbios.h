/*
 * SMBIOS tables (hw/smbios/smbios.c), handed to the firmware through the
 * fw_cfg files etc/smbios/smbios-tables and etc/smbios/smbios-anchor, as
 * QEMU does: SeaBIOS copies the structures, points the entry point at them
 * and fixes its checksums (and adds a type 0 of its own when there is none).
 */
#ifndef HW_SMBIOS_SMBIOS_H
#define HW_SMBIOS_SMBIOS_H
#include "qemu/osdep.h"

#define SMBIOS_TABLES_FILE  "etc/smbios/smbios-tables"
#define SMBIOS_ANCHOR_FILE  "etc/smbios/smbios-anchor"

#define SMBIOS_MAX_MEM_RANGES   2
#define SMBIOS_MAX_OEM_STRINGS  32

/* -smbios type=N,... settings; NULL/0 = the default. */
typedef struct SmbiosOptions {
    struct {
        char *vendor, *version, *date;
        bool have_release;
        uint8_t release_major, release_minor;
        bool uefi;
        bool given;             /* any type 0 field: emit a type 0 */
    } t0;
    struct {
        char *manufacturer, *product, *version, *serial, *sku, *family;
        bool have_uuid;
        uint8_t uuid[16];       /* RFC 4122 (string) byte order */
    } t1;
    struct {
        char *manufacturer, *product, *version, *serial, *asset, *location;
        bool given;
    } t2;
    struct {
        char *manufacturer, *version, *serial, *asset, *sku;
    } t3;
    struct {
        char *sock_pfx, *manufacturer, *version, *serial, *asset, *part;
        uint16_t max_speed, current_speed;      /* MHz, 0 = default */
    } t4;
    struct {
        char *values[SMBIOS_MAX_OEM_STRINGS];
        unsigned count;
    } t11;
    struct {
        char *loc_pfx, *bank, *manufacturer, *serial, *asset, *part;
        uint16_t speed;
    } t17;
} SmbiosOptions;

/* What the machine contributes. */
typedef struct SmbiosMachineInfo {
    const char *manufacturer;   /* "QEMU" */
    const char *product;        /* machine description */
    const char *version;        /* machine type name */
    const uint8_t *uuid;        /* system UUID (string order) or NULL */
    unsigned sockets;
    unsigned cores_per_socket;
    unsigned threads_per_socket;
    uint32_t cpuid_version;     /* CPUID.1:EAX */
    uint32_t cpuid_features;    /* CPUID.1:EDX */
    uint64_t ram_size;
    uint64_t mem_start[SMBIOS_MAX_MEM_RANGES];  /* RAM ranges (type 19) */
    uint64_t mem_size[SMBIOS_MAX_MEM_RANGES];
    unsigned nr_mem_ranges;
    bool ep64;                  /* SMBIOS 3.0 ("_SM3_") entry point */
} SmbiosMachineInfo;

void smbios_options_init(SmbiosOptions *o);
void smbios_options_cleanup(SmbiosOptions *o);
/*
 * Parse one -smbios argument into @o.  Errors name the problem
 * ("Invalid parameter 'foo'", "Don't know how to build fields for SMBIOS
 * type 5", ...); the caller prefixes the option.
 */
bool smbios_parse_option(SmbiosOptions *o, const char *arg, GError **errp);

/* Build the structure table and the entry point (with checksums). */
void smbios_build(const SmbiosOptions *o, const SmbiosMachineInfo *m,
                  GByteArray *tables, GByteArray *anchor);

/* SMBIOS 2.6+ UUID byte order: the first three fields little-endian. */
void smbios_encode_uuid(uint8_t out[16], const uint8_t uuid[16]);

#endif
