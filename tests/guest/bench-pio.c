/*
 * bench-pio: 200,000 `outb` from CPL 3 to port 0x80, the POST diagnostic
 * port that PCs decode as a write-only sink, then exit 0.  Each write is
 * one port-I/O exit to the emulator, so this measures the cost of a PIO
 * exit round trip.  Prints one line with the guest's own measurement.
 * "-append count=N" changes the number of writes.
 */
#include "guest.h"

int main(void)
{
    long writes = cmdline_get_int("count", 200000);
    if (writes < 1)
        writes = 1;
    uint64_t t0 = rdtsc();
    for (long i = 0; i < writes; i++)
        outb(0x80, (uint8_t)i);
    uint64_t t1 = rdtsc();
    uint64_t us = tsc_to_us(t1 - t0);
    printf("bench-pio: %ld outb to port 0x80 in %lu us (%lu ns each)\n", writes, (unsigned long)us,
           (unsigned long)(us * 1000 / (uint64_t)writes));
    return 0;
}
