/*
 * NBD protocol helpers shared by the server (nbd/server.c) and the
 * client driver (block/nbd.c): request and reply headers, error values,
 * and the URI forms QEMU accepts for NBD.  The NBD protocol document
 * (github.com/NetworkBlockDevice/nbd doc/proto.md) names the fields;
 * the URI forms are QEMU's docs/interop/nbd.txt ones.
 */
#include "qemu/osdep.h"
#include "block/nbd.h"
#include "block/block-int.h"

void nbd_request_encode(uint8_t buf[NBD_REQUEST_SIZE], const NBDRequest *r)
{
    stl_be(buf, NBD_REQUEST_MAGIC);
    stw_be(buf + 4, r->flags);
    stw_be(buf + 6, r->type);
    stq_be(buf + 8, r->handle);
    stq_be(buf + 16, r->from);
    stl_be(buf + 24, r->len);
}

void nbd_request_decode(const uint8_t buf[NBD_REQUEST_SIZE], NBDRequest *r)
{
    r->magic = ldl_be(buf);
    r->flags = ldw_be(buf + 4);
    r->type = ldw_be(buf + 6);
    r->handle = ldq_be(buf + 8);
    r->from = ldq_be(buf + 16);
    r->len = ldl_be(buf + 24);
}

bool nbd_reply_decode(const uint8_t *buf, NBDReply *r)
{
    memset(r, 0, sizeof(*r));
    r->magic = ldl_be(buf);
    if (r->magic == NBD_SIMPLE_REPLY_MAGIC) {
        r->error = ldl_be(buf + 4);
        r->handle = ldq_be(buf + 8);
        return true;
    }
    if (r->magic == NBD_STRUCTURED_REPLY_MAGIC) {
        r->structured = true;
        r->flags = ldw_be(buf + 4);
        r->type = ldw_be(buf + 6);
        r->handle = ldq_be(buf + 8);
        r->length = ldl_be(buf + 16);
        return true;
    }
    return false;
}

uint32_t nbd_errno_to_wire(int err)
{
    switch (err) {
    case 0:         return NBD_SUCCESS;
    case EPERM:
    case EROFS:     return NBD_EPERM;
    case ENOMEM:    return NBD_ENOMEM;
    case EINVAL:    return NBD_EINVAL;
    case EFBIG:
    case ENOSPC:    return NBD_ENOSPC;
    case EOVERFLOW: return NBD_EOVERFLOW;
    case ENOTSUP:   return NBD_ENOTSUP;
    case ESHUTDOWN: return NBD_ESHUTDOWN;
    default:        return NBD_EIO;
    }
}

int nbd_wire_to_errno(uint32_t err)
{
    switch (err) {
    case NBD_SUCCESS:   return 0;
    case NBD_EPERM:     return EPERM;
    case NBD_ENOMEM:    return ENOMEM;
    case NBD_EINVAL:    return EINVAL;
    case NBD_ENOSPC:    return ENOSPC;
    case NBD_EOVERFLOW: return EOVERFLOW;
    case NBD_ENOTSUP:   return ENOTSUP;
    case NBD_ESHUTDOWN: return ESHUTDOWN;
    default:            return EIO;     /* NBD_EIO and anything unknown */
    }
}

const char *nbd_cmd_name(uint16_t type)
{
    static const char *const names[] = {
        [NBD_CMD_READ] = "read", [NBD_CMD_WRITE] = "write",
        [NBD_CMD_DISC] = "disconnect", [NBD_CMD_FLUSH] = "flush",
        [NBD_CMD_TRIM] = "trim", [NBD_CMD_CACHE] = "cache",
        [NBD_CMD_WRITE_ZEROES] = "write zeroes",
        [NBD_CMD_BLOCK_STATUS] = "block status",
    };

    return type < ARRAY_SIZE(names) && names[type] ? names[type] : "unknown";
}

int64_t nbd_retry_delay_ms(int64_t prev_ms)
{
    return prev_ms ? MIN(prev_ms * 2, NBD_RETRY_MAX_MS) : NBD_RETRY_FIRST_MS;
}

void nbd_address_clear(NBDAddress *addr)
{
    g_free(addr->host);
    g_free(addr->port);
    g_free(addr->path);
    g_free(addr->export);
    memset(addr, 0, sizeof(*addr));
}

bool nbd_is_filename(const char *filename)
{
    return g_str_has_prefix(filename, "nbd:") ||
           g_str_has_prefix(filename, "nbd+tcp:") ||
           g_str_has_prefix(filename, "nbd+unix:");
}

/* nbd:HOST:PORT[:exportname=NAME] and nbd:unix:PATH[:exportname=NAME] */
static bool parse_legacy(const char *spec, NBDAddress *addr, GError **errp)
{
    g_autofree char *s = g_strdup(spec);
    char *export = strstr(s, ":exportname=");
    char *colon;

    if (export) {
        *export = 0;
        addr->export = g_strdup(export + strlen(":exportname="));
    } else {
        addr->export = g_strdup("");
    }
    if (g_str_has_prefix(s, "unix:")) {
        if (!s[5]) {
            error_setg(errp, "'nbd:%s': no socket path", spec);
            return false;
        }
        addr->path = g_strdup(s + 5);
        return true;
    }
    colon = s[0] == '[' ? strstr(s, "]:") : strrchr(s, ':');
    if (colon && s[0] == '[') {
        *colon = 0;
        addr->host = g_strdup(s + 1);
        addr->port = g_strdup(colon + 2);
    } else if (colon) {
        *colon = 0;
        addr->host = g_strdup(s);
        addr->port = g_strdup(colon + 1);
    }
    if (!addr->host || !*addr->host || !*addr->port) {
        error_setg(errp, "'nbd:%s': expected nbd:HOST:PORT or nbd:unix:PATH",
                   spec);
        return false;
    }
    return true;
}

static bool parse_uri(const char *filename, NBDAddress *addr, GError **errp)
{
    g_autoptr(GUri) uri = g_uri_parse(filename, G_URI_FLAGS_NON_DNS, NULL);
    const char *scheme, *path, *query;
    bool is_unix;

    if (!uri) {
        error_setg(errp, "'%s': not a valid NBD URI", filename);
        return false;
    }
    scheme = g_uri_get_scheme(uri);
    is_unix = !strcmp(scheme, "nbd+unix");
    if (strcmp(scheme, "nbd") && strcmp(scheme, "nbd+tcp") && !is_unix) {
        error_setg(errp, "'%s': unknown NBD URI scheme '%s'", filename,
                   scheme);
        return false;
    }
    path = g_uri_get_path(uri);
    addr->export = g_strdup(path[0] == '/' ? path + 1 : path);
    query = g_uri_get_query(uri);
    if (is_unix) {
        g_autoptr(GHashTable) params = NULL;
        const char *sock;

        if (g_uri_get_host(uri) && *g_uri_get_host(uri)) {
            error_setg(errp, "'%s': nbd+unix URIs take no host", filename);
            return false;
        }
        params = query ? g_uri_parse_params(query, -1, "&",
                                            G_URI_PARAMS_NONE, NULL)
                       : NULL;
        sock = params ? g_hash_table_lookup(params, "socket") : NULL;
        if (!sock || !*sock || g_hash_table_size(params) != 1) {
            error_setg(errp, "'%s': nbd+unix URIs need ?socket=PATH and "
                       "nothing else", filename);
            return false;
        }
        addr->path = g_strdup(sock);
        return true;
    }
    if (query) {
        error_setg(errp, "'%s': NBD URIs over TCP take no query", filename);
        return false;
    }
    if (!g_uri_get_host(uri) || !*g_uri_get_host(uri)) {
        error_setg(errp, "'%s': no host in the NBD URI", filename);
        return false;
    }
    addr->host = g_strdup(g_uri_get_host(uri));
    addr->port = g_uri_get_port(uri) > 0
                 ? g_strdup_printf("%d", g_uri_get_port(uri))
                 : g_strdup_printf("%d", NBD_DEFAULT_PORT);
    return true;
}

bool nbd_parse_filename(const char *filename, NBDAddress *addr,
                        GError **errp)
{
    bool ok;

    memset(addr, 0, sizeof(*addr));
    if (!nbd_is_filename(filename)) {
        error_setg(errp, "'%s' is not an NBD URI", filename);
        return false;
    }
    ok = strstr(filename, "://") ? parse_uri(filename, addr, errp)
                                 : parse_legacy(filename + 4, addr, errp);
    if (ok && strlen(addr->export) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "'%s': the export name is longer than %d bytes",
                   filename, NBD_MAX_STRING_SIZE);
        ok = false;
    }
    if (!ok) {
        nbd_address_clear(addr);
    }
    return ok;
}
