/*
 * The kvmpc program.  Everything else of start-up lives in main.c, inside
 * kvmpc-core, so that other programs (the fuzz targets) can build the same
 * machine the same way.
 */
#include "qemu/osdep.h"
#include "system/vl.h"

int main(int argc, char **argv)
{
    kvmpc_init(argc, argv);
    kvmpc_main_loop();
}
