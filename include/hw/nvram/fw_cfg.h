/*
 * QEMU firmware configuration device (fw_cfg), I/O port flavour.
 *
 * Spec: QEMU docs/specs/fw_cfg.rst ("QEMU Firmware Configuration (fw_cfg)
 * Device"): the selector/data registers, the file directory, and the DMA
 * interface.  The key numbers and the binary layouts below are the ones
 * SeaBIOS, OVMF and Linux's qemu_fw_cfg driver read.
 */
#ifndef HW_NVRAM_FW_CFG_H
#define HW_NVRAM_FW_CFG_H
#include "qemu/osdep.h"

/* Selector keys ("Selector Register" / "Firmware Configuration Items"). */
#define FW_CFG_SIGNATURE        0x00
#define FW_CFG_ID               0x01
#define FW_CFG_UUID             0x02
#define FW_CFG_RAM_SIZE         0x03
#define FW_CFG_NOGRAPHIC        0x04
#define FW_CFG_NB_CPUS          0x05
#define FW_CFG_MACHINE_ID       0x06
#define FW_CFG_KERNEL_ADDR      0x07
#define FW_CFG_KERNEL_SIZE      0x08
#define FW_CFG_KERNEL_CMDLINE   0x09
#define FW_CFG_INITRD_ADDR      0x0a
#define FW_CFG_INITRD_SIZE      0x0b
#define FW_CFG_BOOT_DEVICE      0x0c
#define FW_CFG_NUMA             0x0d
#define FW_CFG_BOOT_MENU        0x0e
#define FW_CFG_MAX_CPUS         0x0f
#define FW_CFG_KERNEL_ENTRY     0x10
#define FW_CFG_KERNEL_DATA      0x11
#define FW_CFG_INITRD_DATA      0x12
#define FW_CFG_CMDLINE_ADDR     0x13
#define FW_CFG_CMDLINE_SIZE     0x14
#define FW_CFG_CMDLINE_DATA     0x15
#define FW_CFG_SETUP_ADDR       0x16
#define FW_CFG_SETUP_SIZE       0x17
#define FW_CFG_SETUP_DATA       0x18
#define FW_CFG_FILE_DIR         0x19
#define FW_CFG_FILE_FIRST       0x20

#define FW_CFG_WRITE_CHANNEL    0x4000
#define FW_CFG_ARCH_LOCAL       0x8000
#define FW_CFG_ENTRY_MASK       (~(FW_CFG_WRITE_CHANNEL | FW_CFG_ARCH_LOCAL) \
                                 & 0xffff)
#define FW_CFG_INVALID          0xffff

/* x86 arch-local keys (QEMU hw/i386/fw_cfg.h). */
#define FW_CFG_ACPI_TABLES      (FW_CFG_ARCH_LOCAL + 0)
#define FW_CFG_SMBIOS_ENTRIES   (FW_CFG_ARCH_LOCAL + 1)
#define FW_CFG_IRQ0_OVERRIDE    (FW_CFG_ARCH_LOCAL + 2)
#define FW_CFG_E820_TABLE       (FW_CFG_ARCH_LOCAL + 3)
#define FW_CFG_HPET             (FW_CFG_ARCH_LOCAL + 4)

/* FW_CFG_ID feature bits. */
#define FW_CFG_VERSION          0x01    /* traditional interface */
#define FW_CFG_VERSION_DMA      0x02    /* DMA interface */

/* FWCfgDmaAccess.control bits. */
#define FW_CFG_DMA_CTL_ERROR    0x01
#define FW_CFG_DMA_CTL_READ     0x02
#define FW_CFG_DMA_CTL_SKIP     0x04
#define FW_CFG_DMA_CTL_SELECT   0x08
#define FW_CFG_DMA_CTL_WRITE    0x10

/* "QEMU CFG", read back from the DMA address register. */
#define FW_CFG_DMA_SIGNATURE    0x51454d5520434647ULL

/* A file name, NUL included. */
#define FW_CFG_MAX_FILE_PATH    56
/* Files the directory can hold (QEMU's default is 0x20). */
#define FW_CFG_FILE_SLOTS       0x100

/*
 * Wire layouts (all big-endian):
 *   directory:  be32 count, then count * FWCfgFile
 *   FWCfgFile:  be32 size, be16 select, be16 reserved, char name[56]
 *   FWCfgDmaAccess: be32 control, be32 length, be64 address
 */
#define FW_CFG_FILE_ENTRY_SIZE  64
#define FW_CFG_DMA_ACCESS_SIZE  16

#define TYPE_FW_CFG_IO "fw_cfg_io"

typedef struct FWCfgState FWCfgState;

/*
 * Create the machine's fw_cfg device: selector at @iobase (data at
 * @iobase + 1) and, when @dma_iobase is not 0, the DMA address register
 * there.  Adds the signature and ID items.
 */
FWCfgState *fw_cfg_init_io_dma(uint16_t iobase, uint16_t dma_iobase,
                               GError **errp);
/* The machine's fw_cfg device, or NULL. */
FWCfgState *fw_cfg_find(void);

/*
 * Numbered items.  The data is copied; an existing item is replaced.
 * Integers are stored little-endian, as QEMU does.
 */
void fw_cfg_add_bytes(FWCfgState *s, uint16_t key, const void *data,
                      size_t len);
void fw_cfg_add_string(FWCfgState *s, uint16_t key, const char *value);
void fw_cfg_add_i16(FWCfgState *s, uint16_t key, uint16_t value);
void fw_cfg_add_i32(FWCfgState *s, uint16_t key, uint32_t value);
void fw_cfg_add_i64(FWCfgState *s, uint16_t key, uint64_t value);

/*
 * Named files, listed in the directory sorted by name (keys from
 * FW_CFG_FILE_FIRST on are reassigned as files are added).  Errors: name
 * empty or too long, duplicate name, no free slot.
 */
bool fw_cfg_add_file(FWCfgState *s, const char *name, const void *data,
                     size_t len, GError **errp);
/*
 * QEMU's fw_cfg_add_file_callback: a file whose @len bytes at @data stay
 * the caller's (a device's state: what the guest reads is what the device
 * holds, and its state table migrates it).  With @read_only false the
 * guest may write it through the DMA interface, and @write_cb (may be
 * NULL) runs after each accepted write with the range written.  The caller
 * removes it (fw_cfg_remove_file) before freeing @data.
 */
typedef void (*FWCfgWriteCallback)(void *opaque, uint32_t offset,
                                   uint32_t len);
bool fw_cfg_add_file_callback(FWCfgState *s, const char *name,
                              void *data, size_t len,
                              FWCfgWriteCallback write_cb, void *opaque,
                              bool read_only, GError **errp);
/*
 * What a guest's DMA write does, from the host side (kvmpc's direct-boot
 * loader acting as the firmware): false when @name is not a writable file
 * or the range does not fit in it.
 */
bool fw_cfg_write_file(FWCfgState *s, const char *name, uint32_t offset,
                       const void *data, uint32_t len);
/* Drop a file (keys after it move down, as the directory is rebuilt). */
void fw_cfg_remove_file(FWCfgState *s, const char *name);
/* The DMA interface is there (writable files need it). */
bool fw_cfg_dma_enabled(FWCfgState *s);
/* Replace a file's contents, adding the file when it is absent (not for
 * a device's file: that is an error). */
bool fw_cfg_set_file(FWCfgState *s, const char *name, const void *data,
                     size_t len, GError **errp);
bool fw_cfg_has_file(FWCfgState *s, const char *name);
/* A file's current contents (NULL if absent); for callers and tests. */
const uint8_t *fw_cfg_get_file(FWCfgState *s, const char *name,
                               size_t *len);
/* A file's selector key, or FW_CFG_INVALID. */
uint16_t fw_cfg_file_key(FWCfgState *s, const char *name);

/*
 * Boot order ("bootorder" file, rebuilt at every reset): devices that can
 * boot register an OpenFirmware-style path with their bootindex.  Lower
 * indexes boot first; ties keep registration order.
 */
void fw_boot_order_add(int32_t bootindex, const char *of_path);
void fw_boot_order_remove(const char *of_path);
/* "strict=on": terminate the list with HALT so nothing else boots. */
void fw_boot_order_set_strict(bool strict);
/* The bootorder file contents (NUL-terminated; *len counts the NUL; empty
 * list = 0 bytes).  Free with g_free. */
char *fw_boot_order_build(size_t *len);

#endif
