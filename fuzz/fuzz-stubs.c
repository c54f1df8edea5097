/*
 * What the fuzz targets need from outside qobject/ and qapi/.  They are
 * linked without the rest of the emulator so that only the code under
 * test carries fuzzer instrumentation.
 */
#include "qemu/osdep.h"

G_DEFINE_QUARK(kvmpc-error-quark, kvmpc_error)
