/*
 * e1000e: an 82574L driver run inside a guest at CPL 3, polled, talking
 * to an echo peer (run-e1000-test.py, as the e1000 payload: every frame
 * the guest transmits comes back as a received frame).  Register names
 * from Intel's 82574 datasheet (as hw/net/e1000e.c).
 *
 *   - PCI: the first 8086:10d3 function, BAR0 mapped, memory and bus
 *     master decoding on;
 *   - the NVM through EERD (address from bit 2, DONE bit 1): the MAC
 *     (words 0-2) equals RA[0], the 64 words sum to 0xBABA; STATUS.LU;
 *   - 8 extended receive descriptors (RFCTL.EXTEN) and 8 legacy transmit
 *     descriptors on each of the two transmit queues, used in turn;
 *     ROUNDS broadcast frames of growing length out (each DD written
 *     back) and in (DD, EOP, the length, every byte), the rings wrapping;
 *   - ICR says TXDW and RXT0 and clears on read.
 */
#include "guest.h"

#define BAR0_ADDR       0xfe000000u
#define NDESC           8
#define BUF_LEN         2048
#define ROUNDS          40

#define STATUS          0x0008
#define EERD            0x0014
#define ICR             0x00c0
#define IMC             0x00d8
#define RCTL            0x0100
#define TCTL            0x0400
#define RDBAL           0x2800
#define RDBAH           0x2804
#define RDLEN           0x2808
#define RDH             0x2810
#define RDT             0x2818
#define TDBAL           0x3800
#define TDBAH           0x3804
#define TDLEN           0x3808
#define TDH             0x3810
#define TDT             0x3818
#define RA              0x5400
#define RFCTL           0x5008
#define TDBAL1          0x3900
#define TDBAH1          0x3904
#define TDLEN1          0x3908
#define TDH1            0x3910
#define TDT1            0x3918

struct desc {
    uint64_t addr;
    uint32_t lower;
    uint32_t upper;
};

static struct desc rxd[NDESC] __attribute__((aligned(128)));
static struct desc txd[2][NDESC] __attribute__((aligned(128)));
static uint8_t rxbuf[NDESC][BUF_LEN] __attribute__((aligned(16)));
static uint8_t txbuf[NDESC][BUF_LEN] __attribute__((aligned(16)));
static unsigned devfn, rx_next, tx_next[2];



static uint32_t rd(unsigned r)
{
    return mmio_read32(BAR0_ADDR + r);
}

static void wr(unsigned r, uint32_t v)
{
    mmio_write32(BAR0_ADDR + r, v);
}

static bool find_device(void)
{
    static const uint32_t ids[] = { 0x10d38086 };
    int d = pci_find_id(ids, ARRAY_SIZE(ids));

    devfn = d;
    return d >= 0;
}

static uint16_t eeprom_word(unsigned i)
{
    uint32_t v;

    wr(EERD, (i << 2) | 1);
    for (unsigned t = 0; t < 1000; t++) {
        v = rd(EERD);
        if (v & 0x2) {
            return v >> 16;
        }
    }
    return 0xffff;
}

static bool wait_bit(volatile uint32_t *p, uint32_t bit)
{
    uint64_t deadline = rdtsc() + tsc_hz();

    while (!(*p & bit)) {
        if (rdtsc() >= deadline) {
            return false;
        }
        cpu_relax();
    }
    return true;
}

static bool round_trip(unsigned n)
{
    unsigned len = 60 + (n * 37) % 1400;
    unsigned q = n & 1, t = tx_next[q], r = rx_next;
    uint8_t *f = txbuf[t];
    uint32_t rlen;

    memset(f, 0xff, 6);                         /* broadcast */
    f[6] = 0x52; f[7] = 0x54; f[8] = 0; f[9] = 0x12; f[10] = 0x34;
    f[11] = 0x56;
    f[12] = 0x88;
    f[13] = 0xb5;
    for (unsigned i = 14; i < len; i++) {
        f[i] = (uint8_t)(i * 13 + n);
    }
    txd[q][t] = (struct desc){ (uintptr_t)f, len | (1u << 24) | (1u << 25) |
                               (1u << 27), 0 };
    barrier();
    tx_next[q] = (t + 1) % NDESC;
    wr(q ? TDT1 : TDT, tx_next[q]);
    if (!wait_bit(&txd[q][t].upper, 1)) {
        report_info("round %u: queue %u descriptor %u not done", n, q, t);
        return false;
    }
    /* extended write-back: status/errors in dword 2, length in dword 3 */
    if (!wait_bit(&rxd[r].lower, 1)) {
        report_info("round %u: nothing received in descriptor %u", n, r);
        return false;
    }
    barrier();
    rlen = rxd[r].upper & 0xffff;
    if (rlen != len || !(rxd[r].lower & 2) || memcmp(rxbuf[r], f, len)) {
        report_info("round %u: received %u bytes (status %x), sent %u", n,
                    rlen, rxd[r].lower, len);
        return false;
    }
    /* hand the buffer back (the read format: address, zero) */
    rxd[r] = (struct desc){ (uintptr_t)rxbuf[r], 0, 0 };
    barrier();
    wr(RDT, r);
    rx_next = (r + 1) % NDESC;
    return true;
}

int main(void)
{
    uint16_t sum = 0, w[3];
    uint32_t ral, rah, icr;
    bool ok = true;

    report_prefix("e1000e");
    if (!find_device()) {
        report(false, "no 8086:10d3 function");
        report_summary();
    }
    pci_cfg_write32(devfn, 0x10, BAR0_ADDR);
    pci_cfg_write32(devfn, 0x04, 0x06);                    /* memory, bus master */
    for (unsigned i = 0; i < 64; i++) {
        uint16_t v = eeprom_word(i);
        if (i < 3) {
            w[i] = v;
        }
        sum += v;
    }
    report(sum == 0xbaba, "NVM checksum 0xBABA (%x)", sum);
    ral = rd(RA);
    rah = rd(RA + 4);
    report(ral == (w[0] | (uint32_t)w[1] << 16) && (rah & 0xffff) == w[2] &&
           (rah & 0x80000000u), "NVM MAC = RA[0], valid");
    report(rd(STATUS) & 2, "link up");
    wr(IMC, 0xffffffff);                        /* polled */
    rd(ICR);
    for (unsigned i = 0; i < NDESC; i++) {
        rxd[i] = (struct desc){ (uintptr_t)rxbuf[i], 0, 0 };
    }
    wr(RDBAL, (uintptr_t)rxd);
    wr(RDBAH, 0);
    wr(RDLEN, sizeof(rxd));
    wr(RDH, 0);
    wr(RDT, NDESC - 1);
    wr(RFCTL, 1u << 15);                        /* extended descriptors */
    wr(RCTL, (1u << 1) | (1u << 15) | (1u << 26));     /* EN BAM SECRC */
    wr(TDBAL, (uintptr_t)txd[0]);
    wr(TDBAH, 0);
    wr(TDLEN, sizeof(txd[0]));
    wr(TDH, 0);
    wr(TDT, 0);
    wr(TDBAL1, (uintptr_t)txd[1]);
    wr(TDBAH1, 0);
    wr(TDLEN1, sizeof(txd[1]));
    wr(TDH1, 0);
    wr(TDT1, 0);
    wr(TCTL, 1u << 1);
    for (unsigned n = 0; n < ROUNDS && ok; n++) {
        ok = round_trip(n);
    }
    report(ok, "%u frames sent and echoed back byte for byte", ROUNDS);
    report(rd(TDH) == tx_next[0] && rd(TDH1) == tx_next[1] &&
           rd(RDH) == rx_next, "the heads followed (TDH %u/%u, RDH %u)",
           rd(TDH), rd(TDH1), rd(RDH));
    icr = rd(ICR);
    report((icr & 0x81) == 0x81, "ICR: TXDW and RXT0 (%x)", icr);
    report(rd(ICR) == 0, "ICR clears on read");
    report_summary();
}
