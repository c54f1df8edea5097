/*
 * UUIDs (RFC 4122) as QEMU handles them: 16 bytes in the text's order
 * (big-endian fields), parsed from and printed as the 36-character
 * "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" form, random ones of version 4.
 * Microsoft's GUID byte order (the first three fields little-endian, as
 * the VM Generation ID spec and SMBIOS 2.6+ store them) is uuid_bswap().
 */
#ifndef QEMU_UUID_H
#define QEMU_UUID_H
#include "qemu/osdep.h"

#define UUID_LEN        16
#define UUID_STR_LEN    37      /* 36 characters and the NUL */

/* The strict text form only (dashes at 8, 13, 18, 23, hex elsewhere). */
bool uuid_parse(const char *str, uint8_t out[UUID_LEN]);
/* Lower-case text form into @out (UUID_STR_LEN bytes). */
void uuid_unparse(const uint8_t uuid[UUID_LEN], char out[UUID_STR_LEN]);
/* A random UUID, version 4, RFC 4122 variant. */
void uuid_generate(uint8_t out[UUID_LEN]);
/* Swap the first three fields (4, 2, 2 bytes) to the other byte order. */
void uuid_bswap(const uint8_t in[UUID_LEN], uint8_t out[UUID_LEN]);

#endif
