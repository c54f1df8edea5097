/*
 * UUIDs (RFC 4122, 4.1.2 layout and 4.4 random version 4); see
 * include/qemu/uuid.h.
 */
#include "qemu/osdep.h"
#include "qemu/uuid.h"

#define UUID_TEXT_LEN   36

static bool uuid_is_dash_position(size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

bool uuid_parse(const char *str, uint8_t out[UUID_LEN])
{
    uint8_t v[UUID_LEN];
    unsigned n = 0;

    if (strlen(str) != UUID_TEXT_LEN) {
        return false;
    }
    for (size_t i = 0; i < UUID_TEXT_LEN; i++) {
        if (uuid_is_dash_position(i)) {
            if (str[i] != '-') {
                return false;
            }
            continue;
        }
        if (!g_ascii_isxdigit(str[i]) || !g_ascii_isxdigit(str[i + 1])) {
            return false;
        }
        v[n++] = g_ascii_xdigit_value(str[i]) << 4 |
                 g_ascii_xdigit_value(str[i + 1]);
        i++;
    }
    memcpy(out, v, UUID_LEN);
    return true;
}

void uuid_unparse(const uint8_t uuid[UUID_LEN], char out[UUID_STR_LEN])
{
    char *p = out;

    for (size_t i = 0; i < UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }
        p += g_snprintf(p, 3, "%02x", uuid[i]);
    }
    *p = 0;
}

void uuid_generate(uint8_t out[UUID_LEN])
{
    for (size_t i = 0; i < UUID_LEN; i += 4) {
        uint32_t r = g_random_int();
        memcpy(out + i, &r, 4);
    }
    out[6] = (out[6] & 0x0f) | 0x40;    /* version 4: random */
    out[8] = (out[8] & 0x3f) | 0x80;    /* variant 10x: RFC 4122 */
}

void uuid_bswap(const uint8_t in[UUID_LEN], uint8_t out[UUID_LEN])
{
    uint8_t t[UUID_LEN];

    memcpy(t, in, UUID_LEN);
    for (size_t i = 0; i < 4; i++) {
        out[i] = t[3 - i];
    }
    out[4] = t[5];
    out[5] = t[4];
    out[6] = t[7];
    out[7] = t[6];
    memcpy(out + 8, t + 8, UUID_LEN - 8);
}
