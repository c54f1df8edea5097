/*
 * Implementations of the test schema's commands (test-schema.json), shared
 * by the unit tests and the QMP fuzzer.  They must cope with any input the
 * marshallers let through.
 */
#ifndef TEST_QAPI_IMPL_H
#define TEST_QAPI_IMPL_H

#include "qemu/osdep.h"

/* How many times qmp_test_void() / qmp_test_no_resp() ran. */
extern int test_void_calls;
extern int test_no_resp_calls;

#endif
