/*
 * VMState save/load: round trips, versions, nested structs, truncation.
 */
#include "qemu/osdep.h"
#include "migration/vmstate.h"

typedef struct Inner {
    uint16_t a;
    uint32_t b;
} Inner;

typedef struct Outer {
    bool flag;
    uint8_t bytes[3];
    uint64_t big;
    int32_t neg;
    Inner inner[2];
    uint8_t buf[5];
    uint32_t added_in_v2;
} Outer;

static const VMStateDescription vmstate_inner = {
    .name = "inner", .version_id = 1, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(a, Inner),
        VMSTATE_UINT32(b, Inner),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateField outer_fields[] = {
    VMSTATE_BOOL(flag, Outer),
    VMSTATE_UINT8_ARRAY(bytes, Outer, 3),
    VMSTATE_UINT64(big, Outer),
    VMSTATE_INT32(neg, Outer),
    VMSTATE_STRUCT_ARRAY(inner, Outer, 2, vmstate_inner, Inner),
    VMSTATE_BUFFER(buf, Outer),
    { .name = "added_in_v2", .type = VMS_U32,
      .offset = offsetof(Outer, added_in_v2), .size = 4, .version_id = 2 },
    VMSTATE_END_OF_LIST()
};

static const VMStateDescription vmstate_outer_v2 = {
    .name = "outer", .version_id = 2, .minimum_version_id = 1,
    .fields = outer_fields,
};

static const VMStateDescription vmstate_outer_v1 = {
    .name = "outer", .version_id = 1, .minimum_version_id = 1,
    .fields = outer_fields,
};

static Outer sample(void)
{
    Outer o = {
        .flag = true, .bytes = { 1, 2, 3 }, .big = 0x0123456789abcdefULL,
        .neg = -5, .inner = { { 7, 0xdeadbeef }, { 9, 42 } },
        .buf = "abcd", .added_in_v2 = 77,
    };
    return o;
}

static void test_round_trip(void)
{
    Outer o = sample(), back = { 0 };
    GByteArray *out = g_byte_array_new();
    size_t used;

    g_assert(vmstate_save(&vmstate_outer_v2, &o, out, NULL));
    g_assert(vmstate_load(&vmstate_outer_v2, &back, out->data, out->len,
                          &used, NULL));
    g_assert_cmpuint(used, ==, out->len);
    g_assert(back.flag && back.bytes[2] == 3);
    g_assert_cmphex(back.big, ==, o.big);
    g_assert_cmpint(back.neg, ==, -5);
    g_assert_cmphex(back.inner[0].b, ==, 0xdeadbeef);
    g_assert_cmpuint(back.inner[1].a, ==, 9);
    g_assert_cmpstr((char *)back.buf, ==, "abcd");
    g_assert_cmpuint(back.added_in_v2, ==, 77);

    /* Saving what was loaded gives the same bytes. */
    GByteArray *again = g_byte_array_new();
    g_assert(vmstate_save(&vmstate_outer_v2, &back, again, NULL));
    g_assert_cmpmem(out->data, out->len, again->data, again->len);
    g_byte_array_unref(again);
    g_byte_array_unref(out);
}

static void test_old_version_loads(void)
{
    Outer o = sample(), back = { 0 };
    GByteArray *out = g_byte_array_new();
    size_t used;

    g_assert(vmstate_save(&vmstate_outer_v1, &o, out, NULL));
    g_assert(vmstate_load(&vmstate_outer_v2, &back, out->data, out->len,
                          &used, NULL));
    g_assert_cmpuint(back.added_in_v2, ==, 0);    /* not in v1 */
    g_assert_cmpint(back.neg, ==, -5);
    g_byte_array_unref(out);
}

static void test_newer_version_rejected(void)
{
    Outer o = sample(), back = { 0 };
    GByteArray *out = g_byte_array_new();
    GError *err = NULL;
    size_t used;

    g_assert(vmstate_save(&vmstate_outer_v2, &o, out, NULL));
    g_assert(!vmstate_load(&vmstate_outer_v1, &back, out->data, out->len,
                           &used, &err));
    g_assert_nonnull(strstr(err->message, "version"));
    g_error_free(err);
    g_byte_array_unref(out);
}

static void test_truncated_rejected(void)
{
    Outer o = sample(), back = { 0 };
    GByteArray *out = g_byte_array_new();
    size_t used;

    g_assert(vmstate_save(&vmstate_outer_v2, &o, out, NULL));
    for (guint len = 0; len < out->len; len++) {
        GError *err = NULL;
        g_assert(!vmstate_load(&vmstate_outer_v2, &back, out->data, len,
                               &used, &err));
        g_assert_nonnull(err);
        g_error_free(err);
    }
    g_byte_array_unref(out);
}

static void test_dump(void)
{
    Outer o = sample();
    g_autofree char *s = vmstate_dump(&vmstate_outer_v2, &o);

    g_assert_nonnull(strstr(s, "inner[1].b = 0x2a"));
    g_assert_nonnull(strstr(s, "big = 0x123456789abcdef"));
}

/* Variable arrays: structs and bytes behind pointers, their length in a
 * u32 field saved first; a length above the maximum is refused. */
typedef struct Holder {
    uint32_t n_inner, n_bytes;
    Inner *inner;
    uint8_t *bytes;
} Holder;

static const VMStateDescription vmstate_holder = {
    .name = "holder", .version_id = 1, .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(n_inner, Holder),
        VMSTATE_UINT32(n_bytes, Holder),
        VMSTATE_VARRAY_STRUCT(inner, Holder, n_inner, 4, vmstate_inner, Inner),
        VMSTATE_VBUFFER(bytes, Holder, n_bytes, 16),
        VMSTATE_END_OF_LIST()
    },
};

static void test_varray(void)
{
    Holder h = { .n_inner = 3, .n_bytes = 5 }, back = { 0 };
    GByteArray *out = g_byte_array_new();
    GError *err = NULL;
    g_autofree char *dump = NULL;
    size_t used;

    h.inner = g_new0(Inner, 3);
    h.inner[2] = (Inner){ 0x1234, 0xcafef00d };
    h.bytes = (uint8_t *)g_strdup("hello");
    g_assert(vmstate_save(&vmstate_holder, &h, out, NULL));
    /* version, two lengths, 3 * (2 + 4), 5 */
    g_assert_cmpuint(out->len, ==, 4 + 8 + 18 + 5);
    back.inner = g_new0(Inner, 1);          /* replaced by the load */
    back.n_inner = 1;
    g_assert(vmstate_load(&vmstate_holder, &back, out->data, out->len,
                          &used, NULL));
    g_assert_cmpuint(used, ==, out->len);
    g_assert_cmpuint(back.n_inner, ==, 3);
    g_assert_cmphex(back.inner[2].b, ==, 0xcafef00d);
    g_assert_cmpmem(back.bytes, 5, "hello", 5);
    dump = vmstate_dump(&vmstate_holder, &back);
    g_assert_nonnull(strstr(dump, "inner[2].a = 0x1234"));
    /* a length past the maximum, in the stream: refused */
    out->data[4 + 3] = 5;
    g_assert_false(vmstate_load(&vmstate_holder, &back, out->data, out->len,
                                &used, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    g_assert_cmpuint(back.n_inner, ==, 0);     /* left consistent */
    g_assert_null(back.inner);
    /* empty arrays: NULL pointers */
    back.n_bytes = 0;
    g_byte_array_set_size(out, 0);
    g_assert(vmstate_save(&vmstate_holder, &back, out, NULL));
    g_assert(vmstate_load(&vmstate_holder, &h, out->data, out->len, &used,
                          NULL));
    g_assert_null(h.inner);
    g_assert_null(h.bytes);
    g_free(back.inner);
    g_free(back.bytes);
    g_byte_array_free(out, true);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmstate/round-trip", test_round_trip);
    g_test_add_func("/vmstate/old-version", test_old_version_loads);
    g_test_add_func("/vmstate/newer-rejected", test_newer_version_rejected);
    g_test_add_func("/vmstate/truncated", test_truncated_rejected);
    g_test_add_func("/vmstate/dump", test_dump);
    g_test_add_func("/vmstate/varray", test_varray);
    return g_test_run();
}
