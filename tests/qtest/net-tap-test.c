/*
 * The tap backend behind virtio-net-pci, in a network namespace of its
 * own (unshare(CLONE_NEWNET): needs CAP_NET_ADMIN, else the tests SKIP):
 * frames cross between the guest's driver and an AF_PACKET socket on the
 * tap; vnet_hdr=on offers the offloads; queues=2 with mq=on gives two
 * queue pairs.
 */
#include "libqvirtio.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define HDR 12

static bool in_netns;

static bool enter_netns(void)
{
    if (!in_netns) {
        if (unshare(CLONE_NEWNET) != 0) {
            return false;
        }
        in_netns = true;
    }
    return access("/dev/net/tun", R_OK | W_OK) == 0;
}

/* Bring @ifname up and open a packet socket on it. */
static int packet_socket(const char *ifname)
{
    struct ifreq ifr = { 0 };
    struct sockaddr_ll sll = { .sll_family = AF_PACKET };
    int s = socket(AF_INET, SOCK_DGRAM, 0), p;

    g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
    g_assert_cmpint(ioctl(s, SIOCGIFFLAGS, &ifr), ==, 0);
    ifr.ifr_flags |= IFF_UP;
    g_assert_cmpint(ioctl(s, SIOCSIFFLAGS, &ifr), ==, 0);
    g_assert_cmpint(ioctl(s, SIOCGIFINDEX, &ifr), ==, 0);
    close(s);
    p = socket(AF_PACKET, SOCK_RAW, htons(0x88b5));
    g_assert_cmpint(p, >=, 0);
    sll.sll_protocol = htons(0x88b5);
    sll.sll_ifindex = ifr.ifr_ifindex;
    g_assert_cmpint(bind(p, (struct sockaddr *)&sll, sizeof(sll)), ==, 0);
    return p;
}

static void frame_init(uint8_t *f, size_t len, uint8_t seq)
{
    memset(f, 0xff, 6);                         /* broadcast */
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x09", 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    for (size_t i = 14; i < len; i++) {
        f[i] = i + seq;
    }
}

static void test_tap(void)
{
    QTestState *qts;
    QVirtioDev d;
    QVirtQueue rx, tx;
    uint8_t frame[300], got[400];
    uint64_t addr;
    uint16_t id;
    uint32_t len;
    int p, devfn;
    struct pollfd pfd;

    if (!enter_netns()) {
        g_test_skip("no CAP_NET_ADMIN for a network namespace, or no "
                    "/dev/net/tun");
        return;
    }
    qts = qtest_init("-netdev tap,id=t0,ifname=kvmpct0,script=no,"
                     "downscript=no,vnet_hdr=on "
                     "-device virtio-net-pci,netdev=t0");
    p = packet_socket("kvmpct0");
    devfn = qvirtio_pci_find(qts, 0x1000);
    qvirtio_mem_reset();
    qvirtio_pci_init(&d, qts, devfn, true);
    /* a vnet-header backend: the offloads are offered */
    g_assert(d.features & QVIRTIO_BIT(0));      /* CSUM */
    g_assert(d.features & QVIRTIO_BIT(1));      /* GUEST_CSUM */
    g_assert(d.features & QVIRTIO_BIT(11));     /* HOST_TSO4 */
    qvirtio_msix_enable(&d, 4);
    g_assert(qvirtio_negotiate(&d, QVIRTIO_BIT(QVIRTIO_F_VERSION_1) |
                               QVIRTIO_BIT(5) | QVIRTIO_BIT(15) |
                               QVIRTIO_BIT(0)));
    qvirtqueue_setup(&rx, &d, 0, 0, false);
    qvirtqueue_setup(&tx, &d, 1, 0, false);
    qvirtio_driver_ok(&d);

    /* guest -> tap */
    frame_init(frame, sizeof(frame), 1);
    {
        QVirtBuf b = { qvirtio_alloc(HDR + sizeof(frame), 16),
                       HDR + sizeof(frame), false };
        qtest_memset(qts, b.addr, 0, HDR);
        qtest_memwrite(qts, b.addr + HDR, frame, sizeof(frame));
        qvirtqueue_add(&tx, &b, 1);
        qvirtqueue_kick(&tx);
        g_assert(qvirtqueue_get_used(&tx, &id, &len, 5000));
    }
    pfd = (struct pollfd){ .fd = p, .events = POLLIN };
    g_assert_cmpint(poll(&pfd, 1, 5000), ==, 1);
    g_assert_cmpint(recv(p, got, sizeof(got), 0), ==, sizeof(frame));
    g_assert(!memcmp(got, frame, sizeof(frame)));

    /* tap -> guest, with the (zero) vnet header the tap wrote; the
     * kernel's own frames (IPv6 neighbour discovery) are passed over */
    {
        uint64_t bufs[16];
        for (int i = 0; i < 16; i++) {
            QVirtBuf b = { qvirtio_alloc(2048, 16), 2048, true };
            bufs[i] = b.addr;
            qvirtqueue_add(&rx, &b, 1);
        }
        qvirtqueue_kick(&rx);
        frame_init(frame, sizeof(frame), 2);
        g_assert_cmpint(send(p, frame, sizeof(frame), 0), ==, sizeof(frame));
        for (int i = 0;; i++) {
            g_assert_cmpint(i, <, 16);
            g_assert(qvirtqueue_get_used(&rx, &id, &len, 5000));
            addr = bufs[id];
            qtest_memread(qts, addr, got, MIN(len, sizeof(got)));
            if (got[HDR + 12] == 0x88 && got[HDR + 13] == 0xb5) {
                break;
            }
        }
    }
    g_assert_cmpint(len, ==, HDR + sizeof(frame));
    g_assert_cmpint(got[10] | got[11] << 8, ==, 1);     /* num_buffers */
    g_assert(!memcmp(got + HDR, frame, sizeof(frame)));
    close(p);
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

static void test_tap_mq(void)
{
    QTestState *qts;
    QVirtioDev d;

    if (!enter_netns()) {
        g_test_skip("no CAP_NET_ADMIN for a network namespace, or no "
                    "/dev/net/tun");
        return;
    }
    qts = qtest_init("-netdev tap,id=t1,ifname=kvmpct1,script=no,"
                     "downscript=no,queues=2 "
                     "-device virtio-net-pci,netdev=t1,mq=on");
    qvirtio_mem_reset();
    qvirtio_pci_init(&d, qts, qvirtio_pci_find(qts, 0x1000), true);
    g_assert(d.features & QVIRTIO_BIT(22));                 /* MQ */
    /* max_virtqueue_pairs ends the 10-byte config (QEMU's size with MQ) */
    g_assert_cmpint(qvirtio_config_readb(&d, 8) |
                    qvirtio_config_readb(&d, 9) << 8, ==, 2);
    g_assert_cmphex(qvirtio_config_readl(&d, 8), ==, 0xffffffff);
    g_assert_cmpint(qvirtio_queue_max(&d, 4), ==, 64);      /* controlq */
    g_assert_cmpint(qtest_quit(qts), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net-tap/frames-vnet-hdr", test_tap);
    g_test_add_func("/net-tap/multiqueue", test_tap_mq);
    return g_test_run();
}
