/*
 * Migration channels, named by QEMU's URIs:
 *   tcp:HOST:PORT   ([IPv6]:PORT too)    unix:PATH
 *   exec:COMMAND    (/bin/sh -c; the source writes to its stdin, the
 *                    destination reads its stdout)
 *   file:PATH       (save to / restore from a file)
 *   fd:NAME         (a descriptor passed with getfd, or a number)
 */
#include "qemu/osdep.h"
#include "migration/channel.h"
#include "monitor/fds.h"
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static bool split_host_port(const char *hp, char **host, char **port,
                            GError **errp)
{
    const char *colon;

    if (hp[0] == '[') {
        const char *end = strchr(hp, ']');
        if (!end || end[1] != ':') {
            error_setg(errp, "invalid address '%s'", hp);
            return false;
        }
        *host = g_strndup(hp + 1, end - hp - 1);
        *port = g_strdup(end + 2);
    } else {
        colon = strrchr(hp, ':');
        if (!colon) {
            error_setg(errp, "address '%s' has no port", hp);
            return false;
        }
        *host = g_strndup(hp, colon - hp);
        *port = g_strdup(colon + 1);
    }
    if (!**port) {
        error_setg(errp, "address '%s' has no port", hp);
        g_clear_pointer(host, g_free);
        g_clear_pointer(port, g_free);
        return false;
    }
    /* QEMU's ",opt=..." suffixes (to=, ipv4=...) are not used here */
    (*port)[strcspn(*port, ",")] = 0;
    return true;
}

static struct addrinfo *resolve(const char *hp, bool passive, GError **errp)
{
    g_autofree char *host = NULL, *port = NULL;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = passive ? AI_PASSIVE : 0 };
    struct addrinfo *res;
    int ret;

    if (!split_host_port(hp, &host, &port, errp)) {
        return NULL;
    }
    ret = getaddrinfo(*host ? host : NULL, port, &hints, &res);
    if (ret) {
        error_setg(errp, "address resolution failed for %s: %s", hp,
                   gai_strerror(ret));
        return NULL;
    }
    return res;
}

static void tune_socket(int fd)
{
    int one = 1, buf = 4 * MiB;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
}

static int tcp_connect(const char *hp, GError **errp)
{
    struct addrinfo *res = resolve(hp, false, errp), *ai;
    int err = 0;

    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(res);
            tune_socket(fd);
            return fd;
        }
        err = errno;
        close(fd);
    }
    if (res) {
        freeaddrinfo(res);
        error_setg(errp, "Failed to connect to '%s': %s", hp,
                   g_strerror(err));
    }
    return -1;
}

static bool unix_addr(const char *path, struct sockaddr_un *sun,
                      GError **errp)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return false;
    }
    strcpy(sun->sun_path, path);
    return true;
}

static int unix_connect(const char *path, GError **errp)
{
    struct sockaddr_un sun;
    int fd;

    if (!unix_addr(path, &sun, errp)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        error_setg(errp, "Failed to connect to '%s': %s", path,
                   g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* /bin/sh -c @cmd with its stdin (@to_child) or stdout on a pipe. */
static int exec_spawn(const char *cmd, bool to_child, GPid *pid,
                      GError **errp)
{
    const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    int fd = -1;
    GError *err = NULL;

    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                  pid, to_child ? &fd : NULL,
                                  to_child ? NULL : &fd, NULL, &err)) {
        error_setg(errp, "exec: %s", err->message);
        g_error_free(err);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

static int fd_lookup(const char *name, GError **errp)
{
    uint64_t n;

    if (parse_uint(name, &n, NULL)) {
        if (n > INT32_MAX || fcntl((int)n, F_GETFD) < 0) {
            error_setg(errp, "fd:%s is not an open file descriptor", name);
            return -1;
        }
        return (int)n;
    }
    return monitor_fd_take(name, errp);
}

int migration_channel_open(const char *uri, bool outgoing, GPid *pid,
                           GError **errp)
{
    *pid = 0;
    if (g_str_has_prefix(uri, "tcp:") && outgoing) {
        return tcp_connect(uri + 4, errp);
    }
    if (g_str_has_prefix(uri, "unix:") && outgoing) {
        return unix_connect(uri + 5, errp);
    }
    if (g_str_has_prefix(uri, "exec:")) {
        return exec_spawn(uri + 5, outgoing, pid, errp);
    }
    if (g_str_has_prefix(uri, "file:")) {
        const char *path = uri + 5;
        int fd = outgoing
            ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
            : open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            error_setg(errp, "Could not open '%s': %s", path,
                       g_strerror(errno));
        }
        return fd;
    }
    if (g_str_has_prefix(uri, "fd:")) {
        return fd_lookup(uri + 3, errp);
    }
    error_setg(errp, "unknown migration protocol: %s", uri);
    return -1;
}

bool migration_channel_is_listener(const char *uri)
{
    return g_str_has_prefix(uri, "tcp:") || g_str_has_prefix(uri, "unix:");
}

int migration_channel_listen(const char *uri, GError **errp)
{
    int fd = -1, one = 1;

    if (g_str_has_prefix(uri, "tcp:")) {
        struct addrinfo *res = resolve(uri + 4, true, errp), *ai;
        int err = 0;

        for (ai = res; ai && fd < 0; ai = ai->ai_next) {
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                err = errno;
                continue;
            }
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
                listen(fd, 256) < 0) {
                err = errno;
                close(fd);
                fd = -1;
            }
        }
        if (res) {
            freeaddrinfo(res);
            if (fd < 0) {
                error_setg(errp, "Failed to listen on '%s': %s", uri + 4,
                           g_strerror(err));
            }
        }
        return fd;
    }
    if (g_str_has_prefix(uri, "unix:")) {
        struct sockaddr_un sun;

        if (!unix_addr(uri + 5, &sun, errp)) {
            return -1;
        }
        unlink(uri + 5);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
            listen(fd, 256) < 0) {
            error_setg(errp, "Failed to listen on '%s': %s", uri + 5,
                       g_strerror(errno));
            if (fd >= 0) {
                close(fd);
            }
            return -1;
        }
        return fd;
    }
    error_setg(errp, "unknown migration protocol: %s", uri);
    return -1;
}

int migration_channel_accept(int listen_fd, bool tcp)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd >= 0 && tcp) {
        tune_socket(fd);
    }
    return fd;
}

bool migration_uri_check(const char *uri, GError **errp)
{
    static const char *const schemes[] = {
        "tcp:", "unix:", "exec:", "file:", "fd:", NULL,
    };

    for (unsigned i = 0; schemes[i]; i++) {
        if (g_str_has_prefix(uri, schemes[i])) {
            if (!uri[strlen(schemes[i])]) {
                error_setg(errp, "migration URI '%s' names nothing", uri);
                return false;
            }
            return true;
        }
    }
    error_setg(errp, "unknown migration protocol: %s", uri);
    return false;
}

void migration_channel_reap(GPid pid)
{
    if (pid > 0) {
        int status;
        /* the child saw EOF on its stdin (or wrote its last byte) */
        waitpid(pid, &status, 0);
        g_spawn_close_pid(pid);
    }
}
