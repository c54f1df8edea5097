/*
 * Helpers the NIC models share (hw/net/e1000.c, hw/net/rtl8139.c):
 * big-endian (network order) loads and stores on frame bytes, the
 * Internet checksum (RFC 1071) and the Ethernet FCS (IEEE 802.3 CRC-32).
 */
#ifndef NET_ETH_H
#define NET_ETH_H
#include "qemu/osdep.h"

#define ETH_HLEN        14
#define ETH_ZLEN        60              /* shortest frame without FCS */

static inline uint16_t eth_ldw(const void *p)
{ const uint8_t *b = p; return (b[0] << 8) | b[1]; }
static inline uint32_t eth_ldl(const void *p)
{ const uint8_t *b = p; return ((uint32_t)b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]; }
static inline void eth_stw(void *p, uint16_t v)
{ uint8_t *b = p; b[0] = v >> 8; b[1] = v; }
static inline void eth_stl(void *p, uint32_t v)
{ uint8_t *b = p; b[0] = v >> 24; b[1] = v >> 16; b[2] = v >> 8; b[3] = v; }

static inline bool eth_is_broadcast(const uint8_t *p)
{
    return (p[0] & p[1] & p[2] & p[3] & p[4] & p[5]) == 0xff;
}

/* Add @len bytes at @p (16-bit big-endian words) to a running sum. */
static inline uint32_t eth_csum_add(uint32_t sum, const uint8_t *p,
                                    size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += eth_ldw(p + i);
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    return sum;
}

/* Fold to 16 bits and complement: the value stored in a header. */
static inline uint16_t eth_csum_finish(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum;
}

/* The Ethernet FCS of @len bytes (stored little-endian after them). */
uint32_t eth_crc32(const uint8_t *p, size_t len);

#endif
