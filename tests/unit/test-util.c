/*
 * Option-string, size, number and boolean parsing.
 */
#include "qemu/osdep.h"
#include "qemu/keyval.h"
#include "system/exit-tail.h"

static void test_keyval(void)
{
    GError *err = NULL;
    GHashTable *h = keyval_parse("isa-serial,id=com1,chardev=c,,x,flag",
                                 "driver", &err);

    g_assert_no_error(err);
    g_assert_cmpstr(g_hash_table_lookup(h, "driver"), ==, "isa-serial");
    g_assert_cmpstr(g_hash_table_lookup(h, "id"), ==, "com1");
    g_assert_cmpstr(g_hash_table_lookup(h, "chardev"), ==, "c,x");
    g_assert_cmpstr(g_hash_table_lookup(h, "flag"), ==, "on");
    g_hash_table_unref(h);

    GPtrArray *l = keyval_parse_list("a=1,a=2", NULL, &err);
    g_assert_cmpuint(l->len, ==, 2);
    g_ptr_array_unref(l);

    g_assert_null(keyval_parse("=x", NULL, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);

    h = keyval_parse("", NULL, &err);
    g_assert_cmpuint(g_hash_table_size(h), ==, 0);
    g_hash_table_unref(h);
}

static void test_sizes(void)
{
    uint64_t v;
    GError *err = NULL;

    g_assert(parse_size("512", MiB, &v, NULL) && v == 512 * MiB);
    g_assert(parse_size("4G", MiB, &v, NULL) && v == 4 * GiB);
    g_assert(parse_size("1.5G", MiB, &v, NULL) && v == 3 * GiB / 2);
    g_assert(parse_size("64k", MiB, &v, NULL) && v == 64 * KiB);
    g_assert(parse_size("0x1000", MiB, &v, NULL) && v == 0x1000);
    g_assert(!parse_size("12Q", MiB, &v, &err));
    g_clear_error(&err);
    g_assert(!parse_size("-1", MiB, &v, &err));
    g_clear_error(&err);
    g_assert(!parse_size("", MiB, &v, &err));
    g_clear_error(&err);
    g_assert(!parse_size("99999999999999999999", 1, &v, &err));
    g_clear_error(&err);
    g_assert(!parse_size("16E", 1, &v, &err));
    g_clear_error(&err);
}

static void test_numbers_and_bools(void)
{
    uint64_t v;
    bool b;
    GError *err = NULL;

    g_assert(parse_uint("0x3f8", &v, NULL) && v == 0x3f8);
    g_assert(parse_uint("010", &v, NULL) && v == 8);
    g_assert(!parse_uint("12a", &v, &err));
    g_clear_error(&err);
    g_assert(!parse_uint("-3", &v, &err));
    g_clear_error(&err);
    g_assert(parse_bool("on", &b, NULL) && b);
    g_assert(parse_bool("off", &b, NULL) && !b);
    g_assert(parse_bool("yes", &b, NULL) && b);
    g_assert(!parse_bool("maybe", &b, &err));
    g_clear_error(&err);
}

/* The tail of an I/O exit (system/exit-tail.h). */
static GString *tail_log;
static ExitTail tail_a, tail_b, tail_c;

static void tail_fn(void *opaque)
{
    const char *name = opaque;

    g_string_append(tail_log, name);
    if (!strcmp(name, "a")) {
        /* an entry queues another: it runs in the same tail, last */
        g_assert_true(exit_tail_queue(&tail_c));
    }
}

static void test_exit_tail(void)
{
    tail_log = g_string_new(NULL);
    tail_a = (ExitTail) { .fn = tail_fn, .opaque = (void *)"a" };
    tail_b = (ExitTail) { .fn = tail_fn, .opaque = (void *)"b" };
    tail_c = (ExitTail) { .fn = tail_fn, .opaque = (void *)"c" };

    /* outside an exit: nothing queued, no budget, run does nothing */
    g_assert_false(exit_tail_open());
    g_assert_false(exit_tail_queue(&tail_a));
    g_assert_false(exit_tail_claim_io(1));
    exit_tail_run();
    g_assert_cmpstr(tail_log->str, ==, "");

    exit_tail_begin();
    g_assert_true(exit_tail_open());
    g_assert_true(exit_tail_queue(&tail_a));
    g_assert_true(exit_tail_queue(&tail_b));
    g_assert_true(exit_tail_queue(&tail_a));    /* queued already: once */
    g_assert_cmpstr(tail_log->str, ==, "");
    exit_tail_end();
    g_assert_cmpstr(tail_log->str, ==, "abc");
    g_assert_false(exit_tail_open());

    /* run inside the exit (a drain): what is queued so far, in order */
    g_string_truncate(tail_log, 0);
    exit_tail_begin();
    g_assert_true(exit_tail_queue(&tail_b));
    exit_tail_run();
    g_assert_cmpstr(tail_log->str, ==, "b");
    g_assert_true(exit_tail_queue(&tail_b));    /* ran: may queue again */
    exit_tail_end();
    g_assert_cmpstr(tail_log->str, ==, "bb");

    /* the in-place I/O budget is per exit */
    exit_tail_begin();
    g_assert_true(exit_tail_claim_io(EXIT_TAIL_IO_BUDGET - 4096));
    g_assert_false(exit_tail_claim_io(8192));
    g_assert_true(exit_tail_claim_io(4096));
    g_assert_false(exit_tail_claim_io(1));
    exit_tail_end();
    exit_tail_begin();
    g_assert_true(exit_tail_claim_io(EXIT_TAIL_IO_BUDGET));
    exit_tail_end();
    g_string_free(tail_log, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/util/keyval", test_keyval);
    g_test_add_func("/util/exit-tail", test_exit_tail);
    g_test_add_func("/util/sizes", test_sizes);
    g_test_add_func("/util/numbers-bools", test_numbers_and_bools);
    return g_test_run();
}
