/*
 * HMP commands of the network core (QEMU 7.2's texts): info network,
 * set_link, netdev_add, netdev_del, hostfwd_add, hostfwd_remove.
 */
#include "qemu/osdep.h"
#include "net/net.h"
#include "qapi/qapi-commands.h"
#include "monitor-internal.h"
#include "hmp.h"

static void hmp_report_error(Monitor *mon, GError *err)
{
    monitor_printf(mon, "Error: %s\n", err->message);
    g_error_free(err);
}

void hmp_info_network(Monitor *mon, const char *args)
{
    g_autofree char *s = net_info_network();

    monitor_printf(mon, "%s", s);
}

/* set_link NAME on|off */
void hmp_set_link(Monitor *mon, const char *args)
{
    g_auto(GStrv) w = g_strsplit_set(g_strstrip(g_strdup(args ? args : "")),
                                     " \t", -1);
    GError *err = NULL;
    bool up;
    unsigned n = 0;
    char *words[2] = { NULL, NULL };

    for (unsigned i = 0; w[i]; i++) {
        if (*w[i] && n < 2) {
            words[n++] = w[i];
        }
    }
    if (n != 2 || !parse_bool(words[1], &up, NULL)) {
        monitor_printf(mon, "set_link: expects NAME on|off\n");
        return;
    }
    if (!net_set_link(words[0], up, &err)) {
        hmp_report_error(mon, err);
    }
}

/*
 * announce_self [interfaces] [id]: announce-self with the migration
 * parameters' timing (QEMU's HMP), @interfaces comma-separated.
 */
void hmp_announce_self(Monitor *mon, const char *args)
{
    g_auto(GStrv) w = g_strsplit_set(g_strstrip(g_strdup(args ? args : "")),
                                     " \t", -1);
    g_autoptr(MigrationParameters) mp = qmp_query_migrate_parameters(NULL);
    AnnounceParameters p = {
        .initial = mp->announce_initial, .max = mp->announce_max,
        .rounds = mp->announce_rounds, .step = mp->announce_step,
    };
    g_auto(GStrv) names = NULL;
    strList *list = NULL, **tail = &list;
    GError *err = NULL;
    char *words[2] = { NULL, NULL };
    unsigned n = 0;

    for (unsigned i = 0; w[i]; i++) {
        if (*w[i] && n < 2) {
            words[n++] = w[i];
        }
    }
    if (words[0]) {
        names = g_strsplit(words[0], ",", -1);
        for (unsigned i = 0; names[i]; i++) {
            strList *e = g_new0(strList, 1);
            e->value = names[i];
            *tail = e;
            tail = &e->next;
        }
        p.interfaces = list;
    }
    p.id = words[1];
    qmp_announce_self(&p, &err);
    while (list) {
        strList *next = list->next;
        g_free(list);               /* the strings belong to names */
        list = next;
    }
    if (err) {
        hmp_report_error(mon, err);
    }
}

void hmp_netdev_add(Monitor *mon, const char *args)
{
    g_autofree char *a = g_strstrip(g_strdup(args ? args : ""));
    GError *err = NULL;

    if (!net_client_netdev_add(a, &err)) {
        hmp_report_error(mon, err);
    }
}

void hmp_netdev_del(Monitor *mon, const char *args)
{
    g_autofree char *a = g_strstrip(g_strdup(args ? args : ""));
    GError *err = NULL;

    if (!net_client_netdev_del(a, &err)) {
        hmp_report_error(mon, err);
    }
}

/* "[netdev_id] RULE": one word is the rule, two are id and rule. */
static bool split_fwd_args(const char *args, char **id, char **rule)
{
    g_autofree char *a = g_strstrip(g_strdup(args ? args : ""));
    char *sp = strpbrk(a, " \t");

    if (!*a) {
        return false;
    }
    if (!sp) {
        *id = NULL;
        *rule = g_strdup(a);
        return true;
    }
    *sp = 0;
    *id = g_strdup(a);
    *rule = g_strdup(g_strstrip(sp + 1));
    return **rule != 0;
}

void hmp_hostfwd_add(Monitor *mon, const char *args)
{
    g_autofree char *id = NULL, *rule = NULL;
    GError *err = NULL;

    if (!split_fwd_args(args, &id, &rule)) {
        monitor_printf(mon, "hostfwd_add: expects [netdev_id] "
                       "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport\n");
        return;
    }
    if (!net_slirp_hostfwd_add(id, rule, &err)) {
        monitor_printf(mon, "%s\n", err->message);
        g_error_free(err);
    }
}

void hmp_hostfwd_remove(Monitor *mon, const char *args)
{
    g_autofree char *id = NULL, *rule = NULL;
    GError *err = NULL;

    if (!split_fwd_args(args, &id, &rule)) {
        monitor_printf(mon, "hostfwd_remove: expects [netdev_id] "
                       "[tcp|udp]:[hostaddr]:hostport\n");
        return;
    }
    if (!net_slirp_hostfwd_remove(id, rule, &err)) {
        monitor_printf(mon, "%s\n", err->message);
        g_error_free(err);
    } else {
        monitor_printf(mon, "host forwarding rule for %s removed\n", rule);
    }
}
