/*
 * A small AML (ACPI Machine Language) builder, and the ACPI table helpers
 * the table builders share.
 *
 * Spec: ACPI 6.4, chapter 20 "ACPI Machine Language (AML) Specification"
 * (20.2 grammar: name strings, package length, data objects, named and
 * type 1/2 opcodes) and 6.4 "Resource Data Types for ACPI" (the
 * ResourceTemplate descriptors), 5.2.6 "System Description Table Header".
 *
 * Terms are built bottom-up and appended into their parents; a parent that
 * is a block (Scope, Device, Method, If, Package, Buffer, ...) gets its
 * opcode and PkgLength when it is itself appended.  All nodes come from a
 * pool: build between aml_pool_begin() and aml_pool_end(), which frees
 * every node created since.
 */
#ifndef HW_ACPI_AML_BUILD_H
#define HW_ACPI_AML_BUILD_H
#include "qemu/osdep.h"

typedef struct Aml Aml;

void aml_pool_begin(void);
void aml_pool_end(void);

/* A plain byte string (the body of a table). */
Aml *aml_block_new(void);
/* The encoded bytes of a plain block. */
const GByteArray *aml_bytes(const Aml *aml);

/* Append @child, encoded with its opcode/PkgLength, to @parent. */
void aml_append(Aml *parent, const Aml *child);

/* ---- data objects ---- */
Aml *aml_int(uint64_t value);
Aml *aml_string(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* A reference to a named object ("PRQ0", "\\_SB.PCI0", "^LNKA"). */
Aml *aml_name(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* "PNP0A03" -> compressed EISA id (an integer). */
Aml *aml_eisaid(const char *id);
Aml *aml_buffer(unsigned len, const uint8_t *data);
Aml *aml_package(uint8_t num_elements);
Aml *aml_arg(unsigned n);
Aml *aml_local(unsigned n);

/* ---- named objects and blocks ---- */
Aml *aml_name_decl(const char *name, const Aml *value);
Aml *aml_scope(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
Aml *aml_device(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
Aml *aml_method(const char *name, unsigned nargs, bool serialized);
Aml *aml_processor(uint8_t proc_id, uint32_t pblk_addr, uint8_t pblk_len,
                   const char *fmt, ...) G_GNUC_PRINTF(4, 5);

typedef enum AmlRegionSpace {
    AML_SYSTEM_MEMORY = 0x00,
    AML_SYSTEM_IO = 0x01,
    AML_PCI_CONFIG = 0x02,
} AmlRegionSpace;
Aml *aml_operation_region(const char *name, AmlRegionSpace space,
                          const Aml *offset, uint32_t len);

typedef enum AmlAccessType {
    AML_ANY_ACC = 0, AML_BYTE_ACC = 1, AML_WORD_ACC = 2, AML_DWORD_ACC = 3,
} AmlAccessType;
typedef enum AmlLockRule { AML_NOLOCK = 0, AML_LOCK = 1 } AmlLockRule;
typedef enum AmlUpdateRule {
    AML_PRESERVE = 0, AML_WRITE_AS_ONES = 1, AML_WRITE_AS_ZEROS = 2,
} AmlUpdateRule;
Aml *aml_field(const char *region, AmlAccessType access, AmlLockRule lock,
               AmlUpdateRule update);
Aml *aml_named_field(const char *name, unsigned bits);
Aml *aml_reserved_field(unsigned bits);
Aml *aml_create_dword_field(const Aml *srcbuf, const Aml *index,
                            const char *name);

/* ---- statements and expressions (target NULL = none) ---- */
Aml *aml_if(const Aml *predicate);
Aml *aml_else(void);
Aml *aml_while(const Aml *predicate);
Aml *aml_return(const Aml *value);
Aml *aml_store(const Aml *value, const Aml *target);
Aml *aml_or(const Aml *a, const Aml *b, const Aml *target);
Aml *aml_and(const Aml *a, const Aml *b, const Aml *target);
Aml *aml_add(const Aml *a, const Aml *b, const Aml *target);
Aml *aml_subtract(const Aml *a, const Aml *b, const Aml *target);
/* 19.6.139 ToInteger (operand), no target. */
Aml *aml_to_integer(const Aml *arg);
Aml *aml_shiftleft(const Aml *a, const Aml *count, const Aml *target);
Aml *aml_shiftright(const Aml *a, const Aml *count, const Aml *target);
Aml *aml_increment(const Aml *target);
Aml *aml_equal(const Aml *a, const Aml *b);
Aml *aml_lless(const Aml *a, const Aml *b);
Aml *aml_lgreater(const Aml *a, const Aml *b);
Aml *aml_lnot(const Aml *a);
Aml *aml_land(const Aml *a, const Aml *b);
Aml *aml_lor(const Aml *a, const Aml *b);
Aml *aml_notify(const Aml *object, const Aml *value);
/* Index (object, index) with no target (a reference: store through it,
 * or DerefOf it), 19.6.63; DerefOf (reference), 19.6.31. */
Aml *aml_index(const Aml *object, const Aml *index);
Aml *aml_derefof(const Aml *ref);
/* MethodInvocation: "METH (arg)". */
Aml *aml_call1(const char *method, const Aml *arg);
Aml *aml_call0(const char *method);
Aml *aml_call2(const char *method, const Aml *arg1, const Aml *arg2);
Aml *aml_call4(const char *method, const Aml *arg1, const Aml *arg2,
               const Aml *arg3, const Aml *arg4);
Aml *aml_call5(const char *method, const Aml *arg1, const Aml *arg2,
               const Aml *arg3, const Aml *arg4, const Aml *arg5);
/* 19.6.87 Mutex (name, SyncLevel), 19.6.2 Acquire (mutex, timeout ms:
 * 0xffff waits forever), 19.6.115 Release. */
Aml *aml_mutex(const char *name, uint8_t sync_level);
Aml *aml_acquire(const Aml *mutex, uint16_t timeout);
Aml *aml_release(const Aml *mutex);

/* ---- resource templates (ACPI 6.4, 6.4.2 small / 6.4.3 large items) ---- */
Aml *aml_resource_template(void);

typedef enum AmlIODecode { AML_DEC10 = 0, AML_DEC16 = 1 } AmlIODecode;
Aml *aml_io(AmlIODecode dec, uint16_t min, uint16_t max, uint8_t align,
            uint8_t len);
Aml *aml_irq_no_flags(uint8_t irq);
Aml *aml_memory32_fixed(uint32_t base, uint32_t size, bool read_write);

typedef enum AmlCacheable {
    AML_NON_CACHEABLE = 0, AML_CACHEABLE = 1, AML_WRITE_COMBINING = 2,
    AML_PREFETCHABLE = 3,
} AmlCacheable;
Aml *aml_word_bus_number(uint16_t min, uint16_t max);
Aml *aml_word_io(uint16_t min, uint16_t max);
Aml *aml_dword_memory(AmlCacheable cacheable, uint32_t min, uint32_t max);
Aml *aml_qword_memory(AmlCacheable cacheable, uint64_t min, uint64_t max);

typedef enum AmlTrigger { AML_LEVEL = 0, AML_EDGE = 1 } AmlTrigger;
typedef enum AmlPolarity { AML_ACTIVE_HIGH = 0, AML_ACTIVE_LOW = 1 }
    AmlPolarity;
/* Extended Interrupt descriptor, ResourceConsumer. */
Aml *aml_interrupt(AmlTrigger trigger, AmlPolarity polarity, bool shared,
                   const uint32_t *irqs, unsigned count);

/* ---- table helpers (5.2.6 header; bytes are little-endian) ---- */

#define ACPI_TABLE_HEADER_SIZE  36
#define ACPI_OEM_ID             "BOCHS "
#define ACPI_OEM_TABLE_ID       "BXPC    "
#define ACPI_CREATOR_ID         "BXPC"

void build_append_int_noprefix(GByteArray *t, uint64_t value, unsigned size);
/* Reserve a table header at the current end; returns its offset. */
size_t acpi_table_begin(GByteArray *t);
/* Fill the header at @offset (length = to the end of @t, checksum 0). */
void acpi_table_end(GByteArray *t, size_t offset, const char *sig,
                    uint8_t rev);
/* The same with another OEM Table ID (up to 8 characters, NUL-padded). */
void acpi_table_end_oem(GByteArray *t, size_t offset, const char *sig,
                        uint8_t rev, const char *oem_table_id);
/*
 * Name (NAME, 0x00000000) with the integer always a DWordConst, so the
 * firmware's linker can patch it; returns the offset of the 4 value bytes
 * in @t (QEMU's build_append_named_dword).
 */
size_t build_append_named_dword(GByteArray *t, const char *name);
/* Generic Address Structure (5.2.3.2). */
void build_append_gas(GByteArray *t, uint8_t space_id, uint8_t bit_width,
                      uint8_t bit_offset, uint8_t access_size,
                      uint64_t address);
/* Byte sum of [p, p + len): 0 for a valid table. */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

#endif
