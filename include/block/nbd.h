/*
 * The NBD protocol: constants and wire formats, as the NBD protocol
 * document names them (github.com/NetworkBlockDevice/nbd, doc/proto.md:
 * "Fixed newstyle negotiation", "Option types", "Transmission phase",
 * "Structured replies", "Metadata querying", "base:allocation").
 * Everything on the wire is big-endian.
 *
 * Users: the NBD server (nbd/server.c, QMP nbd-server-* and
 * block-export-*) and the "nbd" protocol driver (block/nbd.c).
 */
#ifndef BLOCK_NBD_H
#define BLOCK_NBD_H

#include "qemu/osdep.h"

/* Handshake: "NBDMAGIC", then "IHAVEOPT" (newstyle) */
#define NBD_INIT_MAGIC          0x4e42444d41474943ULL
#define NBD_OPTS_MAGIC          0x49484156454f5054ULL   /* IHAVEOPT */
#define NBD_CLISERV_MAGIC       0x0000420281861253ULL   /* oldstyle */
#define NBD_REP_MAGIC           0x0003e889045565a9ULL   /* option replies */

/* Handshake flags (server, 16 bits) and client flags (32 bits) */
#define NBD_FLAG_FIXED_NEWSTYLE   (1 << 0)
#define NBD_FLAG_NO_ZEROES        (1 << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE NBD_FLAG_FIXED_NEWSTYLE
#define NBD_FLAG_C_NO_ZEROES      NBD_FLAG_NO_ZEROES

/* Transmission flags (16 bits) */
#define NBD_FLAG_HAS_FLAGS          (1 << 0)
#define NBD_FLAG_READ_ONLY          (1 << 1)
#define NBD_FLAG_SEND_FLUSH         (1 << 2)
#define NBD_FLAG_SEND_FUA           (1 << 3)
#define NBD_FLAG_ROTATIONAL         (1 << 4)
#define NBD_FLAG_SEND_TRIM          (1 << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES  (1 << 6)
#define NBD_FLAG_SEND_DF            (1 << 7)
#define NBD_FLAG_CAN_MULTI_CONN     (1 << 8)

/* Options */
#define NBD_OPT_EXPORT_NAME         1
#define NBD_OPT_ABORT               2
#define NBD_OPT_LIST                3
#define NBD_OPT_STARTTLS            5
#define NBD_OPT_INFO                6
#define NBD_OPT_GO                  7
#define NBD_OPT_STRUCTURED_REPLY    8
#define NBD_OPT_LIST_META_CONTEXT   9
#define NBD_OPT_SET_META_CONTEXT    10

/* Option reply types */
#define NBD_REP_ACK                 1
#define NBD_REP_SERVER              2
#define NBD_REP_INFO                3
#define NBD_REP_META_CONTEXT        4
#define NBD_REP_FLAG_ERROR          (1U << 31)
#define NBD_REP_ERR_UNSUP           (NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY          (NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID         (NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM        (NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD        (NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN         (NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN        (NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG         (NBD_REP_FLAG_ERROR | 9)

/* NBD_REP_INFO types */
#define NBD_INFO_EXPORT             0
#define NBD_INFO_NAME               1
#define NBD_INFO_DESCRIPTION        2
#define NBD_INFO_BLOCK_SIZE         3

/* Transmission: request and reply magics */
#define NBD_REQUEST_MAGIC           0x25609513
#define NBD_SIMPLE_REPLY_MAGIC      0x67446698
#define NBD_STRUCTURED_REPLY_MAGIC  0x668e33ef

/* Command flags */
#define NBD_CMD_FLAG_FUA            (1 << 0)
#define NBD_CMD_FLAG_NO_HOLE        (1 << 1)
#define NBD_CMD_FLAG_DF             (1 << 2)
#define NBD_CMD_FLAG_REQ_ONE        (1 << 3)

/* Commands */
#define NBD_CMD_READ                0
#define NBD_CMD_WRITE               1
#define NBD_CMD_DISC                2
#define NBD_CMD_FLUSH               3
#define NBD_CMD_TRIM                4
#define NBD_CMD_CACHE               5
#define NBD_CMD_WRITE_ZEROES        6
#define NBD_CMD_BLOCK_STATUS        7

/* Structured reply chunks */
#define NBD_REPLY_FLAG_DONE         (1 << 0)
#define NBD_REPLY_TYPE_NONE         0
#define NBD_REPLY_TYPE_OFFSET_DATA  1
#define NBD_REPLY_TYPE_OFFSET_HOLE  2
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_ERROR_BIT    (1 << 15)
#define NBD_REPLY_TYPE_ERROR        (NBD_REPLY_TYPE_ERROR_BIT | 1)
#define NBD_REPLY_TYPE_ERROR_OFFSET (NBD_REPLY_TYPE_ERROR_BIT | 2)

/* Error values on the wire (not the host's errno numbers) */
#define NBD_SUCCESS     0
#define NBD_EPERM       1
#define NBD_EIO         5
#define NBD_ENOMEM      12
#define NBD_EINVAL      22
#define NBD_ENOSPC      28
#define NBD_EOVERFLOW   75
#define NBD_ENOTSUP     95
#define NBD_ESHUTDOWN   108

/* "base:allocation" extent flags */
#define NBD_META_BASE_ALLOCATION    "base:allocation"
#define NBD_STATE_HOLE              (1 << 0)
#define NBD_STATE_ZERO              (1 << 1)
/* "qemu:dirty-bitmap:NAME" extent flags */
#define NBD_STATE_DIRTY             (1 << 0)

/* Wire sizes */
#define NBD_REQUEST_SIZE            28  /* magic flags type handle off len */
#define NBD_SIMPLE_REPLY_SIZE       16  /* magic error handle */
#define NBD_STRUCTURED_REPLY_SIZE   20  /* magic flags type handle len */
#define NBD_OPTION_HEADER_SIZE      16  /* IHAVEOPT option length */
#define NBD_OPTION_REPLY_SIZE       20  /* magic option type length */

/* Limits (QEMU's): the largest payload of one request, the longest
 * export name or description, the default port. */
#define NBD_MAX_BUFFER_SIZE         (32 * 1024 * 1024)
#define NBD_MAX_STRING_SIZE         4096
#define NBD_DEFAULT_PORT            10809

/* One transmission request, decoded */
typedef struct NBDRequest {
    uint32_t magic;
    uint16_t flags;
    uint16_t type;
    uint64_t handle;        /* the "cookie" of newer protocol documents */
    uint64_t from;
    uint32_t len;
} NBDRequest;

/* One reply header, simple or structured, decoded */
typedef struct NBDReply {
    uint32_t magic;
    bool structured;
    uint16_t flags;         /* structured only */
    uint16_t type;          /* structured only */
    uint32_t error;         /* simple only (wire value) */
    uint64_t handle;
    uint32_t length;        /* structured only: payload bytes */
} NBDReply;

void nbd_request_encode(uint8_t buf[NBD_REQUEST_SIZE], const NBDRequest *r);
void nbd_request_decode(const uint8_t buf[NBD_REQUEST_SIZE], NBDRequest *r);
/* @buf holds at least NBD_SIMPLE_REPLY_SIZE bytes, and
 * NBD_STRUCTURED_REPLY_SIZE when the magic says structured.  False:
 * neither magic. */
bool nbd_reply_decode(const uint8_t *buf, NBDReply *r);
/* The wire error for a host errno, and back. */
uint32_t nbd_errno_to_wire(int err);
int nbd_wire_to_errno(uint32_t err);
/* Command name for messages ("read", "write", ...). */
const char *nbd_cmd_name(uint16_t type);

/* The client's wait before its next connection attempt, after one that
 * waited @prev_ms (0: the first retry): 0.25 s, doubling up to 16 s. */
#define NBD_RETRY_FIRST_MS  250
#define NBD_RETRY_MAX_MS    16000
int64_t nbd_retry_delay_ms(int64_t prev_ms);

/*
 * NBD URIs and QEMU's legacy syntax, for -drive file= and kvmpc-img:
 *   nbd://HOST[:PORT]/EXPORT        nbd+tcp://... (the same)
 *   nbd+unix:///EXPORT?socket=PATH
 *   nbd:HOST:PORT[:exportname=EXPORT]
 *   nbd:unix:PATH[:exportname=EXPORT]
 * Fills either @host/@port or @path; @export is "" when none is given.
 */
typedef struct NBDAddress {
    char *host, *port;      /* inet */
    char *path;             /* unix */
    char *export;
} NBDAddress;
bool nbd_parse_filename(const char *filename, NBDAddress *addr,
                        GError **errp);
/* Is @filename an NBD URI or legacy spelling (the driver claims it)? */
bool nbd_is_filename(const char *filename);
void nbd_address_clear(NBDAddress *addr);

/* The server (nbd/server.c; started by QMP nbd-server-start): serve a
 * client on the connected socket @fd, taken over, as if it had come
 * through the listener (the fuzz target feeds it this way), in forced
 * TLS mode with server credentials @tls_creds (an object id; NULL: as
 * nbd-server-start configured the server).  Fails when no server runs
 * or the credentials are not there. */
bool nbd_server_add_client(int fd, const char *tls_creds, GError **errp);

#endif
