/* Ethernet helpers shared by the NIC models (include/net/eth.h). */
#include "net/eth.h"

uint32_t eth_crc32(const uint8_t *p, size_t len)
{
    static uint32_t table[256];
    uint32_t crc = 0xffffffff;

    if (!table[1]) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (unsigned k = 0; k < 8; k++) {
                c = (c >> 1) ^ (c & 1 ? 0xedb88320 : 0);
            }
            table[i] = c;
        }
    }
    for (size_t i = 0; i < len; i++) {
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}
