/*
 * Unit tests of the QAPI generator's output (for test-schema.json) and of
 * the QMP dispatcher, plus consistency checks of the real schema's
 * introspection data.
 */
#include "qemu/osdep.h"
#include "qobject/qjson.h"
#include "qobject/qnum.h"
#include "qobject/qstring.h"
#include "qapi/qmp-event.h"
#include "qapi/qapi-visit.h"
#include "qapi/qapi-introspect.h"
#include "qapi/qapi-commands.h"
#include "test-qapi-commands.h"
#include "test-qapi-events.h"
#include "test-qapi-introspect.h"
#include "test-qapi-visit.h"
#include "test-qapi-impl.h"

static QmpCommandList test_commands;

/* ---- helpers ---- */

static QObject *json(const char *text)
{
    GError *err = NULL;
    QObject *obj = qobject_from_json(text, &err);

    g_assert_no_error(err);
    return obj;
}

static char *to_json(const QObject *obj)
{
    return g_string_free(qobject_to_json(obj), false);
}

#define INPUT_OK(T, text) ({                                     \
    QObject *src_ = json(text);                                  \
    T *out_ = NULL;                                              \
    GError *err_ = NULL;                                         \
    bool ok_ = qapi_input_##T(src_, NULL, &out_, &err_);         \
    g_assert_no_error(err_);                                     \
    g_assert_true(ok_);                                          \
    qobject_unref(src_);                                         \
    out_;                                                        \
})

/* Converting @text to T fails with exactly @msg, leaking nothing. */
#define INPUT_FAILS(T, text, msg) do {                           \
    QObject *src_ = json(text);                                  \
    T *out_ = NULL;                                              \
    GError *err_ = NULL;                                         \
    bool ok_ = qapi_input_##T(src_, NULL, &out_, &err_);         \
    g_assert_false(ok_);                                         \
    g_assert_null(out_);                                         \
    g_assert_nonnull(err_);                                      \
    g_assert_cmpstr(err_->message, ==, msg);                     \
    g_error_free(err_);                                          \
    qobject_unref(src_);                                         \
} while (0)

/* Converting @text to T and back gives @text again. */
#define ROUND_TRIP(T, text) do {                                 \
    T *val_ = INPUT_OK(T, text);                                 \
    QObject *back_ = qapi_output_##T(val_);                      \
    char *s_ = to_json(back_);                                   \
    g_assert_cmpstr(s_, ==, text);                               \
    g_free(s_);                                                  \
    qobject_unref(back_);                                        \
    qapi_free_##T(val_);                                         \
} while (0)

#define SIZED_OK \
    "{\"i8\": -128, \"i16\": 32767, \"i32\": -2147483648, " \
    "\"i64\": -9223372036854775808, \"u8\": 255, \"u16\": 65535, " \
    "\"u32\": 4294967295, \"u64\": 18446744073709551615, " \
    "\"sz\": 18446744073709551615, \"num\": 0.5, \"b\": true, \"s\": \"str\""

/* sized_ok with @extra members appended, as a JSON object. */
static char *sized(const char *extra)
{
    return g_strdup_printf("%s%s%s}", SIZED_OK, *extra ? ", " : "", extra);
}

static void sized_fails(const char *extra, const char *msg)
{
    char *text = sized(extra);

    INPUT_FAILS(TestSized, text, msg);
    g_free(text);
}

/* Replaces member @name of sized_ok by @value and expects @msg. */
static void sized_replace_fails(const char *name, const char *value,
                                const char *msg)
{
    QDict *d = qobject_to(QDict, json(SIZED_OK "}"));
    QObject *v = json(value);
    char *text;

    qdict_put_obj(d, name, v);
    text = to_json(QOBJECT(d));
    INPUT_FAILS(TestSized, text, msg);
    g_free(text);
    qobject_unref(d);
}

/* ---- visitors ---- */

static void test_visit_sized(void)
{
    char *text = sized("\"opt-int\": 7, \"any\": {\"x\": [null]}, \"n\": null,"
                       " \"e\": \"value3\", \"ints\": [1, -2],"
                       " \"strs\": [\"a\", \"b\"], \"enums\": [\"value-on\"],"
                       " \"inc\": {\"x\": \"y\"}");
    TestSized *v = INPUT_OK(TestSized, text);
    QObject *back;
    char *s;

    g_assert_cmpint(v->i8, ==, -128);
    g_assert_cmpint(v->i16, ==, 32767);
    g_assert_cmpint(v->i32, ==, INT32_MIN);
    g_assert_cmpint(v->i64, ==, INT64_MIN);
    g_assert_cmpuint(v->u8, ==, 255);
    g_assert_cmpuint(v->u64, ==, UINT64_MAX);
    g_assert_cmpuint(v->sz, ==, UINT64_MAX);
    g_assert_cmpfloat(v->num, ==, 0.5);
    g_assert_true(v->b);
    g_assert_cmpstr(v->s, ==, "str");
    g_assert_true(v->has_opt_int);
    g_assert_cmpint(v->opt_int, ==, 7);
    g_assert_null(v->opt_str);
    g_assert_nonnull(v->n);
    g_assert_true(v->has_e);
    g_assert_cmpint(v->e, ==, TEST_ENUM_VALUE3);
    g_assert_cmpint(v->ints->value, ==, 1);
    g_assert_cmpint(v->ints->next->value, ==, -2);
    g_assert_null(v->ints->next->next);
    g_assert_cmpstr(v->strs->next->value, ==, "b");
    g_assert_cmpint(v->enums->value, ==, TEST_ENUM_VALUE_ON);
    g_assert_cmpstr(v->inc->x, ==, "y");

    back = qapi_output_TestSized(v);
    s = to_json(back);
    g_assert_cmpstr(s, ==, text);
    g_free(s);
    qobject_unref(back);
    qapi_free_TestSized(v);
    g_free(text);

    /* Absent optional members stay absent in the output. */
    text = sized("");
    ROUND_TRIP(TestSized, text);
    g_free(text);
    qapi_free_TestSized(NULL);
}

static void test_visit_wrong_types(void)
{
    sized_replace_fails("i8", "\"1\"",
                        "Invalid parameter type for 'i8', expected: integer");
    sized_replace_fails("u64", "1.0",
                        "Invalid parameter type for 'u64', expected: integer");
    sized_replace_fails("num", "\"x\"",
                        "Invalid parameter type for 'num', expected: number");
    sized_replace_fails("b", "1",
                        "Invalid parameter type for 'b', expected: boolean");
    sized_replace_fails("s", "null",
                        "Invalid parameter type for 's', expected: string");
    sized_fails("\"n\": 0",
                "Invalid parameter type for 'n', expected: null");
    sized_fails("\"ints\": {}",
                "Invalid parameter type for 'ints', expected: array");
    sized_fails("\"ints\": [1, \"2\"]",
                "Invalid parameter type for 'ints[1]', expected: integer");
    sized_fails("\"inc\": []",
                "Invalid parameter type for 'inc', expected: object");
    sized_fails("\"inc\": {\"x\": 1}",
                "Invalid parameter type for 'inc.x', expected: string");
    sized_fails("\"e\": 1",
                "Invalid parameter type for 'e', expected: string");
    INPUT_FAILS(TestSized, "[]",
                "Invalid parameter type for '(top level)', expected: object");
}

static void test_visit_int_ranges(void)
{
    sized_replace_fails("i8", "128", "Parameter 'i8' expects int8_t");
    sized_replace_fails("i8", "-129", "Parameter 'i8' expects int8_t");
    sized_replace_fails("i16", "32768", "Parameter 'i16' expects int16_t");
    sized_replace_fails("i32", "2147483648", "Parameter 'i32' expects int32_t");
    sized_replace_fails("i64", "9223372036854775808",
                        "Parameter 'i64' expects int64_t");
    sized_replace_fails("u8", "256", "Parameter 'u8' expects uint8_t");
    sized_replace_fails("u8", "-1", "Parameter 'u8' expects uint8_t");
    sized_replace_fails("u16", "65536", "Parameter 'u16' expects uint16_t");
    sized_replace_fails("u32", "4294967296",
                        "Parameter 'u32' expects uint32_t");
    sized_replace_fails("u64", "-1", "Parameter 'u64' expects uint64_t");
    sized_replace_fails("sz", "-1", "Parameter 'sz' expects uint64_t");
    sized_fails("\"opt-int\": 18446744073709551615",
                "Parameter 'opt-int' expects int64_t");
    sized_fails("\"opt-int\": 1e3",
                "Invalid parameter type for 'opt-int', expected: integer");
}

static void test_visit_members(void)
{
    sized_fails("\"zzz\": 1", "Parameter 'zzz' is unexpected");
    sized_fails("\"inc\": {\"x\": \"1\", \"y\": 2}",
                "Parameter 'inc.y' is unexpected");
    sized_fails("\"inc\": {}", "Parameter 'inc.x' is missing");
    INPUT_FAILS(TestSized, "{\"i8\": 1}", "Parameter 'i16' is missing");
    /* A missing member is reported before an unexpected one. */
    INPUT_FAILS(TestSized, "{\"zz\": 1}", "Parameter 'i8' is missing");
    /* Members are checked in schema order. */
    INPUT_FAILS(TestSized, "{\"u8\": 1, \"i8\": \"x\"}",
                "Invalid parameter type for 'i8', expected: integer");
}

static void test_visit_enums(void)
{
    sized_fails("\"e\": \"bogus\"",
                "Parameter 'e' does not accept value 'bogus'");
    sized_fails("\"e\": \"value-off\"",
                "Parameter 'e' does not accept value 'value-off'");
    sized_fails("\"enums\": [\"value-one\", \"\"]",
                "Parameter 'enums[1]' does not accept value ''");

    /* Tables, names, conditional values, 'prefix'. */
    g_assert_cmpint(TEST_ENUM__MAX, ==, 4);
    g_assert_cmpstr(TestEnum_str[TEST_ENUM_VALUE_ONE], ==, "value-one");
    g_assert_cmpstr(TestEnum_str[TEST_ENUM_VALUE_ON], ==, "value-on");
    g_assert_null(TestEnum_str[TEST_ENUM__MAX]);
    g_assert_cmpint(TestEnum_lookup.size, ==, TEST_ENUM__MAX);
    g_assert_cmpstr(qapi_enum_lookup(&TestEnum_lookup, TEST_ENUM_VALUE3), ==,
                    "value3");
    g_assert_cmpint(qapi_enum_parse(&TestEnum_lookup, "value-two", -1, NULL),
                    ==, TEST_ENUM_VALUE_TWO);
    g_assert_cmpint(qapi_enum_parse(&TestEnum_lookup, "nope", -1, NULL),
                    ==, -1);
    g_assert_cmpint(TK_C, ==, 2);
    g_assert_cmpint(TK__MAX, ==, 3);
}

static void test_visit_struct_base(void)
{
    TestDerived *d = INPUT_OK(TestDerived,
                              "{\"base-a\": 1, \"b\": \"x\", \"default\": true,"
                              " \"if\": \"y\"}");

    g_assert_cmpint(d->base_a, ==, 1);
    g_assert_true(d->has_q_default && d->q_default);
    g_assert_cmpstr(d->q_if, ==, "y");
    g_assert_cmpint(qapi_TestDerived_base(d)->base_a, ==, 1);
    qapi_free_TestDerived(d);
    ROUND_TRIP(TestDerived, "{\"base-a\": 1, \"b\": \"x\"}");
    INPUT_FAILS(TestDerived, "{\"b\": \"x\"}", "Parameter 'base-a' is missing");
}

static void test_visit_union(void)
{
    TestUnion *u = INPUT_OK(TestUnion,
                            "{\"kind\": \"a\", \"common\": 1, \"a-int\": 2}");

    g_assert_cmpint(u->kind, ==, TK_A);
    g_assert_cmpint(u->common, ==, 1);
    g_assert_cmpint(u->u.a.a_int, ==, 2);
    qapi_free_TestUnion(u);

    ROUND_TRIP(TestUnion, "{\"kind\": \"a\", \"common\": 1, \"a-int\": 2}");
    ROUND_TRIP(TestUnion, "{\"kind\": \"b\", \"common\": 1, \"b-str\": \"s\","
               " \"b-opt\": false}");
    ROUND_TRIP(TestUnion, "{\"kind\": \"c\", \"common\": 1}");
    INPUT_FAILS(TestUnion, "{\"kind\": \"a\", \"common\": 1, \"b-str\": \"s\"}",
                "Parameter 'a-int' is missing");
    INPUT_FAILS(TestUnion, "{\"kind\": \"a\", \"common\": 1, \"a-int\": 2,"
                " \"b-str\": \"s\"}", "Parameter 'b-str' is unexpected");
    INPUT_FAILS(TestUnion, "{\"kind\": \"c\", \"common\": 1, \"a-int\": 2}",
                "Parameter 'a-int' is unexpected");
    INPUT_FAILS(TestUnion, "{\"common\": 1}", "Parameter 'kind' is missing");
    INPUT_FAILS(TestUnion, "{\"kind\": \"d\", \"common\": 1, \"a-int\": 1}",
                "Parameter 'kind' does not accept value 'd'");
    INPUT_FAILS(TestUnion, "{\"kind\": \"b\", \"common\": 1, \"b-str\": 5}",
                "Invalid parameter type for 'b-str', expected: string");
}

static void test_visit_alternate(void)
{
    TestAlt *a = INPUT_OK(TestAlt, "7");
    TestAltEnum *e;

    g_assert_cmpint(a->type, ==, QTYPE_QNUM);
    g_assert_cmpint(a->u.i, ==, 7);
    qapi_free_TestAlt(a);
    a = INPUT_OK(TestAlt, "{\"base-a\": 3}");
    g_assert_cmpint(a->type, ==, QTYPE_QDICT);
    g_assert_cmpint(a->u.o->base_a, ==, 3);
    qapi_free_TestAlt(a);

    ROUND_TRIP(TestAlt, "-1");
    ROUND_TRIP(TestAlt, "\"s\"");
    ROUND_TRIP(TestAlt, "{\"base-a\": 3}");
    ROUND_TRIP(TestAlt, "[1, 2]");
    ROUND_TRIP(TestAlt, "false");
    ROUND_TRIP(TestAlt, "null");
    INPUT_FAILS(TestAlt, "1.5",
                "Invalid parameter type for '(top level)', expected: integer");
    INPUT_FAILS(TestAlt, "{}", "Parameter 'base-a' is missing");
    INPUT_FAILS(TestAlt, "[\"x\"]",
                "Invalid parameter type for '[0]', expected: integer");

    e = INPUT_OK(TestAltEnum, "\"value-two\"");
    g_assert_cmpint(e->type, ==, QTYPE_QSTRING);
    g_assert_cmpint(e->u.e, ==, TEST_ENUM_VALUE_TWO);
    qapi_free_TestAltEnum(e);
    ROUND_TRIP(TestAltEnum, "2.5");
    ROUND_TRIP(TestAltEnum, "\"value3\"");
    INPUT_FAILS(TestAltEnum, "\"x\"",
                "Parameter '(top level)' does not accept value 'x'");
    INPUT_FAILS(TestAltEnum, "true", "Invalid parameter type for "
                "'(top level)', expected: TestAltEnum");
}

static void test_visit_conditions(void)
{
    TestCond *c = INPUT_OK(TestCond, "{\"a\": 1, \"on\": 2, \"any\": 3,"
                           " \"not\": 4}");

    g_assert_true(c->has_on && c->on == 2);
    g_assert_true(c->has_any && c->any == 3);
    g_assert_true(c->has_q_not && c->q_not == 4);
    qapi_free_TestCond(c);
    INPUT_FAILS(TestCond, "{\"a\": 1, \"off\": 2}",
                "Parameter 'off' is unexpected");
    INPUT_FAILS(TestCond, "{\"a\": 1, \"all\": 2}",
                "Parameter 'all' is unexpected");
}

static void test_visit_nested(void)
{
    GString *text = g_string_new(NULL);
    g_autoptr(TestNested) n = NULL;
    QObject *back;
    char *s;

    /* Recursive types, 200 levels deep, with lists. */
    for (int i = 0; i < 200; i++) {
        g_string_append_printf(text, "{\"name\": \"n%d\", \"child\": ", i);
    }
    g_string_append(text, "{\"name\": \"bottom\"}");
    for (int i = 0; i < 200; i++) {
        g_string_append(text, ", \"children\": [{\"name\": \"leaf\"}]}");
    }
    n = INPUT_OK(TestNested, text->str);
    g_assert_cmpstr(n->child->child->name, ==, "n2");
    back = qapi_output_TestNested(n);
    s = to_json(back);
    g_assert_cmpstr(s, ==, text->str);
    g_free(s);
    qobject_unref(back);
    g_string_free(text, true);

    INPUT_FAILS(TestNested, "{\"name\": \"a\", \"child\": {\"name\": \"b\","
                " \"children\": [{\"name\": \"c\"}, {\"name\": 1}]}}",
                "Invalid parameter type for 'child.children[1].name', "
                "expected: string");
}

static void test_visit_empty_lists(void)
{
    /* An optional list present and empty is kept (QEMU 7.2 answers "[]"),
     * apart from an absent one; a non-empty one needs no flag. */
    g_autoptr(TestNested) n =
        INPUT_OK(TestNested, "{\"name\": \"a\", \"children\": []}");
    g_autoptr(TestNested) m = INPUT_OK(TestNested, "{\"name\": \"a\"}");
    TestNested leaf = { .name = (char *)"c" };
    TestNestedList one = { .value = &leaf };
    TestNested built = { .name = (char *)"b", .children = &one };
    QObject *o;
    char *s;

    g_assert_true(n->has_children);
    g_assert_null(n->children);
    g_assert_false(m->has_children);
    ROUND_TRIP(TestNested, "{\"name\": \"a\", \"children\": []}");
    ROUND_TRIP(TestNested, "{\"name\": \"a\"}");
    o = qapi_output_TestNested(&built);
    s = to_json(o);
    g_assert_cmpstr(s, ==,
                    "{\"name\": \"b\", \"children\": [{\"name\": \"c\"}]}");
    g_free(s);
    qobject_unref(o);
    built.children = NULL;
    built.has_children = true;
    o = qapi_output_TestNested(&built);
    s = to_json(o);
    g_assert_cmpstr(s, ==, "{\"name\": \"b\", \"children\": []}");
    g_free(s);
    qobject_unref(o);
}

static void test_visit_output_null_members(void)
{
    /* Forgotten mandatory pointers give odd output, not a crash. */
    TestDerived d = { .base_a = 1 };
    TestSized *sz = g_new0(TestSized, 1);
    QObject *o = qapi_output_TestDerived(&d);
    char *s = to_json(o);

    g_assert_cmpstr(s, ==, "{\"base-a\": 1, \"b\": \"\"}");
    g_free(s);
    qobject_unref(o);
    o = qapi_output_TestNested(NULL);
    s = to_json(o);
    g_assert_cmpstr(s, ==, "{}");
    g_free(s);
    qobject_unref(o);
    qapi_free_TestSized(sz);
}

/* ---- dispatch ---- */

/* Dispatches @request; returns the reply as compact JSON ("" for none). */
static char *dispatch(const char *request, bool allow_oob)
{
    QObject *req = json(request);
    QDict *rsp = qmp_dispatch(&test_commands, req, allow_oob);
    char *s = rsp ? to_json(QOBJECT(rsp)) : g_strdup("");

    qobject_unref(rsp);
    qobject_unref(req);
    return s;
}

static void assert_dispatch_oob(const char *request, bool allow_oob,
                                const char *reply)
{
    char *s = dispatch(request, allow_oob);

    g_assert_cmpstr(s, ==, reply);
    g_free(s);
}

static void assert_dispatch(const char *request, const char *reply)
{
    assert_dispatch_oob(request, false, reply);
}

#define GENERIC(desc) \
    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" desc "\"}}"

static void test_dispatch_request_checks(void)
{
    assert_dispatch("[]", GENERIC("QMP input must be a JSON object"));
    assert_dispatch("\"test-void\"",
                    GENERIC("QMP input must be a JSON object"));
    assert_dispatch("{}", GENERIC("QMP input lacks member 'execute'"));
    assert_dispatch("{\"id\": 1}",
                    "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                    "\"QMP input lacks member 'execute'\"}, \"id\": 1}");
    assert_dispatch("{\"execute\": 1}",
                    GENERIC("QMP input member 'execute' must be a string"));
    assert_dispatch("{\"execute\": \"test-void\", \"arguments\": []}",
                    GENERIC("QMP input member 'arguments' must be an "
                            "object"));
    assert_dispatch("{\"execute\": \"test-void\", \"argument\": {}}",
                    GENERIC("QMP input member 'argument' is unexpected"));
    assert_dispatch("{\"execute\": \"nope\"}",
                    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                    "\"The command nope has not been found\"}}");
}

static void test_dispatch_returns(void)
{
    int calls = test_void_calls;

    assert_dispatch("{\"execute\": \"test-void\"}", "{\"return\": {}}");
    assert_dispatch("{\"execute\": \"test-void\", \"arguments\": {}}",
                    "{\"return\": {}}");
    g_assert_cmpint(test_void_calls, ==, calls + 2);
    assert_dispatch("{\"execute\": \"test-void\", \"arguments\": {\"x\": 1}}",
                    GENERIC("Parameter 'x' is unexpected"));
    g_assert_cmpint(test_void_calls, ==, calls + 2);

    assert_dispatch("{\"execute\": \"test-echo\", \"arguments\": "
                    "{\"value\": [1, {\"a\": null}]}}",
                    "{\"return\": [1, {\"a\": null}]}");
    assert_dispatch("{\"execute\": \"test-args\", \"arguments\": "
                    "{\"s\": \"hi\", \"i\": 3, \"e\": \"value3\", "
                    "\"l\": [\"x\", \"y\"], \"o\": {\"base-a\": 9}}}",
                    "{\"return\": \"hi i=3 e=value3 l=x l=y o=9\"}");
    assert_dispatch("{\"execute\": \"test-args\", \"arguments\": "
                    "{\"s\": \"hi\"}}", "{\"return\": \"hi\"}");
    assert_dispatch("{\"execute\": \"test-args\", \"arguments\": "
                    "{\"i\": 1}}", GENERIC("Parameter 's' is missing"));
    assert_dispatch("{\"execute\": \"test-args\", \"arguments\": "
                    "{\"s\": \"x\", \"o\": {\"base-a\": \"9\"}}}",
                    GENERIC("Invalid parameter type for 'o.base-a', "
                            "expected: integer"));
    assert_dispatch("{\"execute\": \"test-flat\", \"arguments\": "
                    "{\"base-a\": 1, \"b\": \"x\", \"if\": \"y\"}}",
                    "{\"return\": {\"base-a\": 1, \"b\": \"x\", "
                    "\"if\": \"y\"}}");
    assert_dispatch("{\"execute\": \"test-union\", \"arguments\": "
                    "{\"kind\": \"b\", \"common\": 1, \"b-str\": \"s\"}}",
                    "{\"return\": {\"kind\": \"b\", \"common\": 1, "
                    "\"b-str\": \"s\"}}");
    assert_dispatch("{\"execute\": \"test-alt\", \"arguments\": "
                    "{\"alt\": [1], \"alt2\": 1}}", "{\"return\": [1]}");
    assert_dispatch("{\"execute\": \"test-enum-ret\", \"arguments\": "
                    "{\"e\": \"value-two\"}}", "{\"return\": \"value-two\"}");
    assert_dispatch("{\"execute\": \"test-int-ret\", \"arguments\": "
                    "{\"x\": 41}}", "{\"return\": 42}");
    assert_dispatch("{\"execute\": \"test-list-ret\"}",
                    "{\"return\": [{\"base-a\": 1}, {\"base-a\": 2}]}");
    assert_dispatch("{\"execute\": \"test-gen-false\"}", "{\"return\": 42}");
    assert_dispatch("{\"execute\": \"test-cond-on\", \"arguments\": "
                    "{\"c\": {\"a\": 1}}}", "{\"return\": {}}");
    assert_dispatch("{\"execute\": \"test-cond-args\", \"arguments\": "
                    "{\"a\": 1, \"b\": 2}}", "{\"return\": 3}");
    assert_dispatch("{\"execute\": \"test-cond-args\", \"arguments\": "
                    "{\"a\": 1, \"c\": \"x\"}}",
                    GENERIC("Parameter 'c' is unexpected"));
    assert_dispatch("{\"execute\": \"test-cond-off\"}",
                    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                    "\"The command test-cond-off has not been found\"}}");
}

static void test_dispatch_sized(void)
{
    char *args = sized("\"ints\": [1]");
    char *req = g_strdup_printf("{\"execute\": \"test-sized\", "
                                "\"arguments\": %s}", args);
    char *want = g_strdup_printf("{\"return\": %s}", args);

    assert_dispatch(req, want);
    g_free(args);
    g_free(req);
    g_free(want);
}

static void test_dispatch_errors(void)
{
    static const char *const classes[] = {
        "GenericError", "CommandNotFound", "DeviceNotFound",
        "DeviceNotActive", "KVMMissingCap",
    };

    for (int i = 0; i < (int)G_N_ELEMENTS(classes); i++) {
        char *req = g_strdup_printf("{\"execute\": \"test-fail\", "
                                    "\"arguments\": {\"code\": %d}}", i);
        char *want = g_strdup_printf("{\"error\": {\"class\": \"%s\", "
                                     "\"desc\": \"failed with code %d\"}}",
                                     classes[i], i);

        assert_dispatch(req, want);
        g_free(req);
        g_free(want);
    }
    /* Errors from other domains are GenericError. */
    {
        GError *err = g_error_new(G_FILE_ERROR, G_FILE_ERROR_NOENT, "x");
        QDict *rsp = qmp_error_response(err);

        g_assert_cmpstr(qdict_get_str(qdict_get_qdict(rsp, "error"),
                                      "class"), ==, "GenericError");
        qobject_unref(rsp);
    }
}

static void test_dispatch_id(void)
{
    assert_dispatch("{\"execute\": \"test-void\", \"id\": 1}",
                    "{\"return\": {}, \"id\": 1}");
    assert_dispatch("{\"id\": \"abc\", \"execute\": \"test-void\"}",
                    "{\"return\": {}, \"id\": \"abc\"}");
    assert_dispatch("{\"execute\": \"test-void\", \"id\": {\"a\": [1, null]}}",
                    "{\"return\": {}, \"id\": {\"a\": [1, null]}}");
    assert_dispatch("{\"execute\": \"nope\", \"id\": 2}",
                    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                    "\"The command nope has not been found\"}, \"id\": 2}");
    assert_dispatch("{\"execute\": \"test-void\", \"id\": null}",
                    "{\"return\": {}, \"id\": null}");
}

static void test_dispatch_options(void)
{
    int calls = test_no_resp_calls;

    assert_dispatch("{\"execute\": \"test-no-resp\"}", "");
    g_assert_cmpint(test_no_resp_calls, ==, calls + 1);

    assert_dispatch_oob("{\"exec-oob\": \"test-oob\"}", false,
                        GENERIC("QMP input member 'exec-oob' is unexpected"));
    assert_dispatch_oob("{\"exec-oob\": \"test-oob\"}", true,
                        "{\"return\": {}}");
    assert_dispatch_oob("{\"exec-oob\": \"test-void\"}", true,
                        GENERIC("The command test-void does not support OOB"));
    assert_dispatch_oob("{\"execute\": \"test-oob\", \"exec-oob\": \"x\"}",
                        true, GENERIC("QMP input member 'exec-oob' clashes "
                                      "with 'execute'"));
    assert_dispatch_oob("{\"execute\": \"test-void\"}", true,
                        "{\"return\": {}}");

    g_assert_true(qmp_disable_command(&test_commands, "test-void"));
    assert_dispatch("{\"execute\": \"test-void\"}",
                    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                    "\"The command test-void has been disabled for this "
                    "instance\"}}");
    g_assert_true(qmp_enable_command(&test_commands, "test-void"));
    g_assert_false(qmp_enable_command(&test_commands, "nope"));
    assert_dispatch("{\"execute\": \"test-void\"}", "{\"return\": {}}");

    g_assert_cmpint(qmp_find_command(&test_commands, "test-oob")->options,
                    ==, QCO_ALLOW_OOB);
    g_assert_cmpint(qmp_find_command(&test_commands, "test-no-resp")->options,
                    ==, QCO_NO_SUCCESS_RESP);
}

static void count_command(const QmpCommand *cmd, void *opaque)
{
    GString *names = opaque;

    g_string_append_printf(names, "%s ", cmd->name);
}

static void test_dispatch_table(void)
{
    GString *names = g_string_new(NULL);
    QmpCommandList empty = { 0 };

    qmp_for_each_command(&test_commands, count_command, names);
    g_assert_nonnull(strstr(names->str, "test-echo test-sized "));
    g_assert_nonnull(strstr(names->str, "test-cond-on "));
    g_assert_null(strstr(names->str, "test-cond-off"));
    g_assert_nonnull(strstr(names->str, "test-gen-false "));
    g_string_free(names, true);

    /* An empty table finds nothing. */
    g_assert_null(qmp_find_command(&empty, "test-void"));
    qmp_for_each_command(&empty, count_command, NULL);
    qmp_command_list_destroy(&empty);
}

/* ---- events ---- */

static GString *event_log;

static void record_event(const char *name, QDict *data)
{
    char *s = data ? to_json(QOBJECT(data)) : g_strdup("-");

    g_string_append_printf(event_log, "%s %s\n", name, s);
    g_free(s);
}

static void test_events(void)
{
    TestCond c = { .a = 1, .has_on = true, .on = 2 };

    event_log = g_string_new(NULL);
    qapi_event_send_test_event_a(1, NULL, false, TEST_ENUM_VALUE_ONE);
    qapi_event_set_emitter(record_event);
    qapi_event_send_test_event_a(1, "s", true, TEST_ENUM_VALUE3);
    qapi_event_send_test_event_b();
    qapi_event_send_test_event_boxed(&c);
    qapi_event_set_emitter(NULL);
    qapi_event_send_test_event_b();
    g_assert_cmpstr(event_log->str, ==,
                    "TEST_EVENT_A {\"a\": 1, \"s\": \"s\", \"e\": \"value3\"}\n"
                    "TEST_EVENT_B -\n"
                    "TEST_EVENT_BOXED {\"a\": 1, \"on\": 2}\n");
    g_string_free(event_log, true);
}

/* ---- introspection ---- */

static QDict *find_entity(QList *schema, const char *name)
{
    const QListEntry *e;

    QLIST_FOREACH_ENTRY(schema, e) {
        QDict *d = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(d, "name"), name)) {
            return d;
        }
    }
    return NULL;
}

static char *entity_json(QList *schema, const char *name)
{
    QDict *d = find_entity(schema, name);

    return d ? to_json(QOBJECT(d)) : g_strdup("(absent)");
}

static void assert_entity(QList *schema, const char *name, const char *want)
{
    char *s = entity_json(schema, name);

    g_assert_cmpstr(s, ==, want);
    g_free(s);
}

/* The data must itself be a valid [SchemaInfo] (checked by QAPI). */
static void check_schema_info(QObject *schema)
{
    SchemaInfoList *info = NULL;
    GError *err = NULL;
    GHashTable *names = g_hash_table_new(g_str_hash, g_str_equal);
    SchemaInfoList *it;

    g_assert_true(qapi_input_SchemaInfoList(schema, NULL, &info, &err));
    g_assert_no_error(err);
    for (it = info; it; it = it->next) {
        g_assert_true(g_hash_table_add(names, it->value->name));
    }
    /* Every type name used is defined. */
    for (it = info; it; it = it->next) {
        SchemaInfo *si = it->value;

        switch (si->meta_type) {
        case SCHEMA_META_TYPE_COMMAND:
            g_assert_true(g_hash_table_contains(names,
                                                si->u.command.arg_type));
            g_assert_true(g_hash_table_contains(names,
                                                si->u.command.ret_type));
            break;
        case SCHEMA_META_TYPE_ARRAY:
            g_assert_true(g_hash_table_contains(names,
                                                si->u.array.element_type));
            break;
        case SCHEMA_META_TYPE_OBJECT:
            for (SchemaInfoObjectMemberList *m = si->u.object.members; m;
                 m = m->next) {
                g_assert_true(g_hash_table_contains(names, m->value->type));
            }
            break;
        default:
            break;
        }
    }
    g_hash_table_destroy(names);
    qapi_free_SchemaInfoList(info);
}

static void test_introspect_test_schema(void)
{
    QObject *obj = test_qmp_schema_qobject();
    QList *schema = qobject_to(QList, obj);

    g_assert_nonnull(schema);
    check_schema_info(obj);
    assert_entity(schema, "test-void",
                  "{\"name\": \"test-void\", \"meta-type\": \"command\", "
                  "\"arg-type\": \"q_empty\", \"ret-type\": \"q_empty\"}");
    assert_entity(schema, "test-oob",
                  "{\"name\": \"test-oob\", \"meta-type\": \"command\", "
                  "\"arg-type\": \"q_empty\", \"ret-type\": \"q_empty\", "
                  "\"allow-oob\": true}");
    assert_entity(schema, "test-features",
                  "{\"name\": \"test-features\", \"meta-type\": \"command\", "
                  "\"arg-type\": \"q_empty\", \"ret-type\": \"q_empty\", "
                  "\"features\": [\"deprecated\"]}");
    assert_entity(schema, "test-cond-off", "(absent)");
    assert_entity(schema, "TEST_EVENT_OFF", "(absent)");
    assert_entity(schema, "TestOff", "(absent)");
    assert_entity(schema, "TestEnum",
                  "{\"name\": \"TestEnum\", \"meta-type\": \"enum\", "
                  "\"members\": [{\"name\": \"value-one\"}, "
                  "{\"name\": \"value-two\"}, {\"name\": \"value3\"}, "
                  "{\"name\": \"value-on\"}], \"values\": [\"value-one\", "
                  "\"value-two\", \"value3\", \"value-on\"]}");
    assert_entity(schema, "TestCond",
                  "{\"name\": \"TestCond\", \"meta-type\": \"object\", "
                  "\"members\": [{\"name\": \"a\", \"type\": \"int\"}, "
                  "{\"name\": \"on\", \"type\": \"int\", \"default\": null}, "
                  "{\"name\": \"any\", \"type\": \"int\", \"default\": null}, "
                  "{\"name\": \"not\", \"type\": \"int\", \"default\": null}]}");
    assert_entity(schema, "TestUnion",
                  "{\"name\": \"TestUnion\", \"meta-type\": \"object\", "
                  "\"members\": [{\"name\": \"kind\", \"type\": \"TestKind\"}, "
                  "{\"name\": \"common\", \"type\": \"int\"}], "
                  "\"tag\": \"kind\", \"variants\": [{\"case\": \"a\", "
                  "\"type\": \"TestBranchA\"}, {\"case\": \"b\", \"type\": "
                  "\"TestBranchB\"}, {\"case\": \"c\", \"type\": "
                  "\"q_empty\"}]}");
    assert_entity(schema, "TestBranchB",
                  "{\"name\": \"TestBranchB\", \"meta-type\": \"object\", "
                  "\"members\": [{\"name\": \"b-str\", \"type\": \"str\"}, "
                  "{\"name\": \"b-opt\", \"type\": \"bool\", \"default\": "
                  "null, \"features\": [\"unstable\"]}]}");
    assert_entity(schema, "TestAltEnum",
                  "{\"name\": \"TestAltEnum\", \"meta-type\": \"alternate\", "
                  "\"members\": [{\"type\": \"TestEnum\"}, "
                  "{\"type\": \"number\"}]}");
    assert_entity(schema, "[int]",
                  "{\"name\": \"[int]\", \"meta-type\": \"array\", "
                  "\"element-type\": \"int\"}");
    assert_entity(schema, "int",
                  "{\"name\": \"int\", \"meta-type\": \"builtin\", "
                  "\"json-type\": \"int\"}");
    assert_entity(schema, "any",
                  "{\"name\": \"any\", \"meta-type\": \"builtin\", "
                  "\"json-type\": \"value\"}");
    assert_entity(schema, "int8", "(absent)");
    assert_entity(schema, "TEST_EVENT_A",
                  "{\"name\": \"TEST_EVENT_A\", \"meta-type\": \"event\", "
                  "\"arg-type\": \"q_obj_TEST_EVENT_A-arg\"}");
    /* Types nothing uses are left out. */
    assert_entity(schema, "TestOff", "(absent)");
    qobject_unref(obj);
}

static void test_introspect_real_schema(void)
{
    QObject *ret = NULL;
    GError *err = NULL;
    QDict *args = qdict_new();
    QList *schema;
    char *s;

    qmp_marshal_query_qmp_schema(args, &ret, &err);
    g_assert_no_error(err);
    schema = qobject_to(QList, ret);
    g_assert_nonnull(schema);
    check_schema_info(ret);
    s = entity_json(schema, "query-status");
    g_assert_cmpstr(s, ==, "{\"name\": \"query-status\", \"meta-type\": "
                    "\"command\", \"arg-type\": \"q_empty\", "
                    "\"ret-type\": \"StatusInfo\"}");
    g_free(s);
    g_assert_nonnull(find_entity(schema, "query-qmp-schema"));
    g_assert_nonnull(find_entity(schema, "RESET"));
    g_assert_nonnull(find_entity(schema, "SysEmuTarget"));
    qobject_unref(ret);

    /* It takes no arguments. */
    ret = NULL;
    qdict_put_int(args, "x", 1);
    qmp_marshal_query_qmp_schema(args, &ret, &err);
    g_assert_null(ret);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, "Parameter 'x' is unexpected");
    g_error_free(err);
    qobject_unref(args);
}

/* The real schema's types work like the test schema's. */
static void test_real_types(void)
{
    StatusInfo st = { .running = true, .status = RUN_STATE_GUEST_PANICKED };
    CpuInstanceProperties props = { .has_socket_id = true, .socket_id = 1 };
    CpuInfoFast cpu = { .cpu_index = 0, .qom_path = (char *)"/machine/cpu",
                        .thread_id = 42, .props = &props,
                        .target = SYS_EMU_TARGET_X86_64 };
    QObject *o;
    char *s;

    o = qapi_output_StatusInfo(&st);
    s = to_json(o);
    g_assert_cmpstr(s, ==, "{\"running\": true, \"singlestep\": false, "
                    "\"status\": \"guest-panicked\"}");
    g_free(s);
    qobject_unref(o);

    o = qapi_output_CpuInfoFast(&cpu);
    s = to_json(o);
    g_assert_cmpstr(s, ==, "{\"cpu-index\": 0, \"qom-path\": \"/machine/cpu\", "
                    "\"thread-id\": 42, \"props\": {\"socket-id\": 1}, "
                    "\"target\": \"x86_64\"}");
    g_free(s);
    qobject_unref(o);
    g_assert_cmpstr(ShutdownCause_str[SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET], ==,
                    "host-qmp-system-reset");
    g_assert_cmpint(RUN_STATE__MAX, ==, 16);
    g_assert_cmpint(SHUTDOWN_CAUSE__MAX, ==, 11);
    g_assert_cmpint(QMP_CAPABILITY_OOB, ==, 0);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    test_qmp_init_marshal(&test_commands);

    g_test_add_func("/qapi/visit/sized", test_visit_sized);
    g_test_add_func("/qapi/visit/wrong-types", test_visit_wrong_types);
    g_test_add_func("/qapi/visit/int-ranges", test_visit_int_ranges);
    g_test_add_func("/qapi/visit/members", test_visit_members);
    g_test_add_func("/qapi/visit/enums", test_visit_enums);
    g_test_add_func("/qapi/visit/struct-base", test_visit_struct_base);
    g_test_add_func("/qapi/visit/union", test_visit_union);
    g_test_add_func("/qapi/visit/alternate", test_visit_alternate);
    g_test_add_func("/qapi/visit/conditions", test_visit_conditions);
    g_test_add_func("/qapi/visit/nested", test_visit_nested);
    g_test_add_func("/qapi/visit/empty-lists", test_visit_empty_lists);
    g_test_add_func("/qapi/visit/output-null-members",
                    test_visit_output_null_members);
    g_test_add_func("/qapi/dispatch/request-checks",
                    test_dispatch_request_checks);
    g_test_add_func("/qapi/dispatch/returns", test_dispatch_returns);
    g_test_add_func("/qapi/dispatch/sized", test_dispatch_sized);
    g_test_add_func("/qapi/dispatch/errors", test_dispatch_errors);
    g_test_add_func("/qapi/dispatch/id", test_dispatch_id);
    g_test_add_func("/qapi/dispatch/options", test_dispatch_options);
    g_test_add_func("/qapi/dispatch/table", test_dispatch_table);
    g_test_add_func("/qapi/events", test_events);
    g_test_add_func("/qapi/introspect/test-schema",
                    test_introspect_test_schema);
    g_test_add_func("/qapi/introspect/real-schema",
                    test_introspect_real_schema);
    g_test_add_func("/qapi/real-types", test_real_types);
    ret = g_test_run();
    qmp_command_list_destroy(&test_commands);
    return ret;
}
