/* The test schema's commands: mostly "return a copy of the arguments". */
#include "qemu/osdep.h"
#include "test-qapi-commands.h"
#include "test-qapi-visit.h"
#include "test-qapi-impl.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"

int test_void_calls;
int test_no_resp_calls;

/* A deep copy of *@src made by converting it to a QObject and back. */
#define CLONE(T, src) ({                                        \
    QObject *obj_ = qapi_output_##T(src);                      \
    T *copy_ = NULL;                                            \
    bool ok_ = qapi_input_##T(obj_, NULL, &copy_, NULL);        \
    g_assert(ok_);                                              \
    qobject_unref(obj_);                                        \
    copy_;                                                      \
})

QObject *qmp_test_echo(QObject *value, GError **errp)
{
    return qobject_ref(value);
}

TestSized *qmp_test_sized(TestSized *arg, GError **errp)
{
    return CLONE(TestSized, arg);
}

char *qmp_test_args(const char *s, bool has_i, int64_t i, bool has_e,
                    TestEnum e, strList *l, TestBase *o, GError **errp)
{
    GString *out = g_string_new(s);
    strList *it;

    if (has_i) {
        g_string_append_printf(out, " i=%" PRId64, i);
    }
    if (has_e) {
        g_string_append_printf(out, " e=%s", TestEnum_str[e]);
    }
    for (it = l; it; it = it->next) {
        g_string_append_printf(out, " l=%s", it->value);
    }
    if (o) {
        g_string_append_printf(out, " o=%" PRId64, o->base_a);
    }
    return g_string_free(out, false);
}

TestDerived *qmp_test_flat(int64_t base_a, const char *b, bool has_q_default,
                           bool q_default, const char *q_if, GError **errp)
{
    TestDerived *d = g_new0(TestDerived, 1);

    d->base_a = base_a;
    d->b = g_strdup(b);
    d->has_q_default = has_q_default;
    d->q_default = q_default;
    d->q_if = g_strdup(q_if);
    return d;
}

void qmp_test_fail(int64_t code, GError **errp)
{
    if (code < 0 || code > KVMPC_ERROR_KVM_MISSING_CAP) {
        code = KVMPC_ERROR_GENERIC;
    }
    g_set_error(errp, KVMPC_ERROR, (int)code, "failed with code %d",
                (int)code);
}

void qmp_test_void(GError **errp)
{
    test_void_calls++;
}

TestUnion *qmp_test_union(TestUnion *arg, GError **errp)
{
    return CLONE(TestUnion, arg);
}

TestAlt *qmp_test_alt(TestAlt *alt, TestAltEnum *alt2, GError **errp)
{
    return CLONE(TestAlt, alt);
}

TestNested *qmp_test_nested(TestNested *n, GError **errp)
{
    return CLONE(TestNested, n);
}

TestEnum qmp_test_enum_ret(TestEnum e, GError **errp)
{
    return e;
}

int64_t qmp_test_int_ret(int64_t x, GError **errp)
{
    return (int64_t)((uint64_t)x + 1);      /* wraps, without UB */
}

TestBaseList *qmp_test_list_ret(GError **errp)
{
    TestBaseList *head = NULL;

    for (int i = 2; i > 0; i--) {
        TestBaseList *node = g_new0(TestBaseList, 1);

        node->value = g_new0(TestBase, 1);
        node->value->base_a = i;
        node->next = head;
        head = node;
    }
    return head;
}

void qmp_test_no_resp(GError **errp)
{
    test_no_resp_calls++;
}

void qmp_test_oob(GError **errp)
{
}

void qmp_test_cond_on(TestCond *c, GError **errp)
{
}

int64_t qmp_test_cond_args(int64_t a, bool has_b, int64_t b, GError **errp)
{
    return has_b ? (int64_t)((uint64_t)a + (uint64_t)b) : a;
}

void qmp_test_features(GError **errp)
{
}

/* 'gen': false: the marshaller itself is written by hand. */
void qmp_marshal_test_gen_false(QDict *args, QObject **ret, GError **errp)
{
    if (qdict_size(args)) {
        error_setg(errp, "test-gen-false takes no arguments");
        return;
    }
    *ret = QOBJECT(qnum_from_int(42));
}
