/* Unit tests of the QObject value model (qobject/). */
#include "qemu/osdep.h"
#include "qobject/qbool.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnull.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"

static char *dict_keys(const QDict *d)
{
    GString *s = g_string_new(NULL);
    const QDictEntry *e;

    for (e = qdict_first(d); e; e = qdict_next(d, e)) {
        g_string_append(s, qdict_entry_key(e));
    }
    return g_string_free(s, false);
}

static void test_dict_order(void)
{
    QDict *d = qdict_new();
    char *keys;

    qdict_put_int(d, "c", 1);
    qdict_put_str(d, "a", "x");
    qdict_put_bool(d, "b", true);
    qdict_put_null(d, "d");
    keys = dict_keys(d);
    g_assert_cmpstr(keys, ==, "cabd");
    g_free(keys);

    /* Replacing keeps the position. */
    qdict_put_int(d, "a", 7);
    keys = dict_keys(d);
    g_assert_cmpstr(keys, ==, "cabd");
    g_free(keys);
    g_assert_cmpint(qdict_get_int(d, "a"), ==, 7);
    g_assert_cmpuint(qdict_size(d), ==, 4);

    /* Deleting first, middle, last, missing. */
    g_assert_true(qdict_del(d, "c"));
    g_assert_true(qdict_del(d, "b"));
    g_assert_true(qdict_del(d, "d"));
    g_assert_false(qdict_del(d, "zz"));
    keys = dict_keys(d);
    g_assert_cmpstr(keys, ==, "a");
    g_free(keys);
    qdict_put_int(d, "e", 2);
    keys = dict_keys(d);
    g_assert_cmpstr(keys, ==, "ae");
    g_free(keys);
    qobject_unref(d);
}

static void test_dict_getters(void)
{
    QDict *d = qdict_new();
    QDict *inner = qdict_new();

    qdict_put_int(d, "i", -5);
    qdict_put_uint(d, "u", UINT64_MAX);
    qdict_put_double(d, "f", 2.5);
    qdict_put_str(d, "s", "str");
    qdict_put_bool(d, "b", true);
    qdict_put(d, "d", inner);
    qdict_put(d, "l", qlist_new());

    g_assert_cmpint(qdict_get_int(d, "i"), ==, -5);
    g_assert_cmpfloat(qdict_get_double(d, "f"), ==, 2.5);
    g_assert_cmpfloat(qdict_get_double(d, "i"), ==, -5.0);
    g_assert_cmpstr(qdict_get_str(d, "s"), ==, "str");
    g_assert_true(qdict_get_bool(d, "b"));
    g_assert_true(qdict_get_qdict(d, "d") == inner);
    g_assert_nonnull(qdict_get_qlist(d, "l"));
    g_assert_true(qdict_haskey(d, "s"));
    g_assert_false(qdict_haskey(d, "S"));

    g_assert_cmpint(qdict_get_try_int(d, "i", 9), ==, -5);
    g_assert_cmpint(qdict_get_try_int(d, "s", 9), ==, 9);
    g_assert_cmpint(qdict_get_try_int(d, "u", 9), ==, 9);   /* > INT64_MAX */
    g_assert_cmpint(qdict_get_try_int(d, "f", 9), ==, 9);   /* a double */
    g_assert_cmpint(qdict_get_try_int(d, "none", 9), ==, 9);
    g_assert_true(qdict_get_try_bool(d, "b", false));
    g_assert_false(qdict_get_try_bool(d, "s", false));
    g_assert_cmpstr(qdict_get_try_str(d, "s"), ==, "str");
    g_assert_null(qdict_get_try_str(d, "i"));
    g_assert_null(qdict_get(d, "none"));
    qobject_unref(d);
}

static void test_dict_clone_refs(void)
{
    QDict *d = qdict_new();
    QString *s = qstring_from_str("shared");
    QDict *c;

    qdict_put(d, "s", qobject_ref(s));
    g_assert_cmpint(s->base.refcnt, ==, 2);
    c = qdict_clone_shallow(d);
    g_assert_cmpint(s->base.refcnt, ==, 3);
    g_assert_true(qobject_is_equal(QOBJECT(c), QOBJECT(d)));
    qobject_unref(d);
    g_assert_cmpint(s->base.refcnt, ==, 2);
    qdict_del(c, "s");
    g_assert_cmpint(s->base.refcnt, ==, 1);
    qobject_unref(c);
    qobject_unref(s);
}

static void test_list(void)
{
    QList *l = qlist_new();
    const QListEntry *e;
    QObject *o;
    int64_t sum = 0;

    g_assert_true(qlist_empty(l));
    g_assert_null(qlist_pop(l));
    g_assert_null(qlist_peek(l));
    for (int i = 1; i <= 4; i++) {
        qlist_append_int(l, i);
    }
    qlist_append_str(l, "five");
    qlist_append_bool(l, false);
    qlist_append_null(l);
    qlist_append_double(l, 0.5);
    qlist_append_uint(l, 9);
    g_assert_cmpuint(qlist_size(l), ==, 9);
    g_assert_cmpstr(qstring_get_str(qobject_to(QString, qlist_get(l, 4))),
                    ==, "five");
    g_assert_null(qlist_get(l, 9));
    QLIST_FOREACH_ENTRY(l, e) {
        QNum *n = qobject_to(QNum, qlist_entry_obj(e));
        int64_t v;

        if (n && qnum_get_try_int(n, &v)) {
            sum += v;
        }
    }
    g_assert_cmpint(sum, ==, 1 + 2 + 3 + 4 + 9);

    o = qlist_pop(l);
    g_assert_cmpint(qnum_get_int(qobject_to(QNum, o)), ==, 1);
    qobject_unref(o);
    g_assert_cmpuint(qlist_size(l), ==, 8);
    while ((o = qlist_pop(l))) {
        qobject_unref(o);
    }
    g_assert_true(qlist_empty(l));
    qlist_append_int(l, 1);                 /* tail reset after emptying */
    g_assert_cmpuint(qlist_size(l), ==, 1);
    qobject_unref(l);
}

static void test_qnum(void)
{
    QNum *i = qnum_from_int(INT64_MIN);
    QNum *u = qnum_from_uint(UINT64_MAX);
    QNum *small_u = qnum_from_uint(5);
    QNum *d = qnum_from_double(1.0);
    QNum *neg = qnum_from_int(-1);
    int64_t iv;
    uint64_t uv;
    char *s;

    g_assert_true(qnum_get_try_int(i, &iv) && iv == INT64_MIN);
    g_assert_false(qnum_get_try_uint(i, &uv));
    g_assert_false(qnum_get_try_uint(neg, &uv));
    g_assert_false(qnum_get_try_int(u, &iv));
    g_assert_true(qnum_get_try_uint(u, &uv) && uv == UINT64_MAX);
    g_assert_true(qnum_get_try_int(small_u, &iv) && iv == 5);
    g_assert_false(qnum_get_try_int(d, &iv));
    g_assert_false(qnum_get_try_uint(d, &uv));
    g_assert_cmpfloat(qnum_get_double(small_u), ==, 5.0);

    s = qnum_to_string(i);
    g_assert_cmpstr(s, ==, "-9223372036854775808");
    g_free(s);
    s = qnum_to_string(u);
    g_assert_cmpstr(s, ==, "18446744073709551615");
    g_free(s);
    s = qnum_to_string(d);
    g_assert_cmpstr(s, ==, "1.0");
    g_free(s);

    g_assert_true(qobject_is_equal(QOBJECT(small_u), QOBJECT(small_u)));
    qobject_unref(neg);
    neg = qnum_from_int(5);
    g_assert_true(qobject_is_equal(QOBJECT(small_u), QOBJECT(neg)));
    g_assert_false(qobject_is_equal(QOBJECT(small_u), QOBJECT(d)));
    g_assert_false(qobject_is_equal(QOBJECT(u), QOBJECT(i)));
    qobject_unref(i);
    qobject_unref(u);
    qobject_unref(small_u);
    qobject_unref(d);
    qobject_unref(neg);
}

static void test_casts_and_equality(void)
{
    QObject *b = QOBJECT(qbool_from_bool(true));
    QObject *n = QOBJECT(qnull());
    QDict *d1 = qdict_new(), *d2 = qdict_new();

    g_assert_nonnull(qobject_to(QBool, b));
    g_assert_null(qobject_to(QDict, b));
    g_assert_null(qobject_to(QDict, NULL));
    g_assert_cmpint(qobject_type(n), ==, QTYPE_QNULL);
    g_assert_cmpint(qobject_type(NULL), ==, QTYPE_NONE);
    g_assert_true(qobject_is_equal(NULL, NULL));
    g_assert_false(qobject_is_equal(n, NULL));

    /* Dicts compare as unordered maps. */
    qdict_put_int(d1, "a", 1);
    qdict_put_str(d1, "b", "x");
    qdict_put_str(d2, "b", "x");
    qdict_put_int(d2, "a", 1);
    g_assert_true(qobject_is_equal(QOBJECT(d1), QOBJECT(d2)));
    qdict_put_str(d2, "b", "y");
    g_assert_false(qobject_is_equal(QOBJECT(d1), QOBJECT(d2)));
    g_assert_cmpstr(qtype_name(QTYPE_QDICT), ==, "dict");

    qobject_unref(b);
    qobject_unref(n);
    qobject_unref(d1);
    qobject_unref(d2);
    qobject_unref((QObject *)NULL);
}

/* Freeing a very deep value must not recurse once per level. */
static void test_deep_free(void)
{
    QList *root = qlist_new();
    QList *cur = root;

    for (int i = 0; i < 1000000; i++) {
        QList *child = qlist_new();

        qlist_append(cur, child);
        cur = child;
    }
    qobject_unref(root);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qobject/dict/order", test_dict_order);
    g_test_add_func("/qobject/dict/getters", test_dict_getters);
    g_test_add_func("/qobject/dict/clone-refs", test_dict_clone_refs);
    g_test_add_func("/qobject/list", test_list);
    g_test_add_func("/qobject/qnum", test_qnum);
    g_test_add_func("/qobject/casts-equality", test_casts_and_equality);
    g_test_add_func("/qobject/deep-free", test_deep_free);
    return g_test_run();
}
