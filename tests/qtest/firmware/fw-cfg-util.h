/*
 * Test helpers for the firmware interface: fw_cfg access over libqtest
 * (traditional and DMA interfaces), running kvmpc for start-up errors, and
 * the firmware-side processing of the ACPI linker script (the tests act as
 * the firmware would).
 */
#ifndef TESTS_QTEST_FIRMWARE_FW_CFG_UTIL_H
#define TESTS_QTEST_FIRMWARE_FW_CFG_UTIL_H

#include "libqtest.h"

#define FW_CFG_CTL          0x510
#define FW_CFG_DATA         0x511
#define FW_CFG_DMA          0x514

#define FW_CFG_SIGNATURE    0x00
#define FW_CFG_ID           0x01
#define FW_CFG_UUID         0x02
#define FW_CFG_RAM_SIZE     0x03
#define FW_CFG_NOGRAPHIC    0x04
#define FW_CFG_NB_CPUS      0x05
#define FW_CFG_KERNEL_ADDR  0x07
#define FW_CFG_KERNEL_SIZE  0x08
#define FW_CFG_INITRD_ADDR  0x0a
#define FW_CFG_INITRD_SIZE  0x0b
#define FW_CFG_NUMA         0x0d
#define FW_CFG_BOOT_MENU    0x0e
#define FW_CFG_MAX_CPUS     0x0f
#define FW_CFG_KERNEL_DATA  0x11
#define FW_CFG_INITRD_DATA  0x12
#define FW_CFG_CMDLINE_ADDR 0x13
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_ADDR   0x16
#define FW_CFG_SETUP_SIZE   0x17
#define FW_CFG_SETUP_DATA   0x18
#define FW_CFG_FILE_DIR     0x19
#define FW_CFG_FILE_FIRST   0x20
#define FW_CFG_IRQ0_OVERRIDE 0x8002
#define FW_CFG_HPET         0x8004

#define DMA_CTL_ERROR       0x01
#define DMA_CTL_READ        0x02
#define DMA_CTL_SKIP        0x04
#define DMA_CTL_SELECT      0x08
#define DMA_CTL_WRITE       0x10

/* Little-endian fields of guest structures. */
static inline uint32_t ldl_le(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ldq_le(const uint8_t *p)
{
    return ldl_le(p) | (uint64_t)ldl_le(p + 4) << 32;
}
static inline void stl_le(uint8_t *p, uint32_t v)
{
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

/* Traditional interface. */
void fw_cfg_select(QTestState *s, uint16_t key);
void fw_cfg_read(QTestState *s, void *buf, size_t len);
void fw_cfg_read_entry(QTestState *s, uint16_t key, void *buf, size_t len);
uint16_t fw_cfg_get_u16(QTestState *s, uint16_t key);
uint32_t fw_cfg_get_u32(QTestState *s, uint16_t key);
uint64_t fw_cfg_get_u64(QTestState *s, uint16_t key);

/* A file from the directory: key and size; false when absent. */
bool fw_cfg_find_file(QTestState *s, const char *name, uint16_t *key,
                      uint32_t *size);
/* A whole file (NULL when absent), read through DMA. */
uint8_t *fw_cfg_get_file(QTestState *s, const char *name, size_t *len);

/*
 * One DMA access: descriptor at @desc_addr in guest memory, data to
 * @buf_addr.  Returns the control word the device stored back.
 */
uint32_t fw_cfg_dma(QTestState *s, uint64_t desc_addr, uint32_t control,
                    uint32_t length, uint64_t buf_addr);

/*
 * Run kvmpc -accel qtest with @args (no qtest socket) expecting it to fail
 * at start-up: returns its exit status and stderr (g_free).
 */
int run_kvmpc_expect_fail(const char *args, char **err_out);

/* ---- the firmware's view: linked ACPI tables ---- */

typedef struct LinkedBlob {
    char name[56];
    uint8_t *data;      /* owned */
    size_t len;
    uint64_t addr;      /* where the "firmware" placed it */
    bool in_guest;      /* its bytes were copied to guest RAM at addr (the
                           source of a WRITE_POINTER: a device writes
                           there), as they were when linked */
} LinkedBlob;

typedef struct LinkedTables {
    LinkedBlob blobs[8];
    unsigned nr;
    unsigned checksums;     /* ADD_CHECKSUM commands run */
    unsigned pointers;      /* ADD_POINTER commands run */
    unsigned write_pointers; /* WRITE_POINTER commands run (fw_cfg DMA
                                writes into the device's file) */
} LinkedTables;

/* The 8-bit sum of @len bytes (ACPI and SMBIOS checksums make it 0). */
uint8_t byte_sum(const uint8_t *p, size_t len);

/*
 * Run the etc/table-loader commands the way SeaBIOS does, on blobs read
 * from fw_cfg; every command is validated (g_assert).  Blobs stay in the
 * test's memory, except the source of a WRITE_POINTER, which is copied to
 * guest RAM at its address before the pointer is written (what a device
 * then writes there is read back with qtest_memread).
 */
void acpi_link_tables(QTestState *s, LinkedTables *lt);
void acpi_linked_free(LinkedTables *lt);
/* Pointer to [addr, addr + len) in a placed blob, or NULL. */
const uint8_t *acpi_linked_ptr(const LinkedTables *lt, uint64_t addr,
                               size_t len);

#endif
