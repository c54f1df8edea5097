#!/usr/bin/env python3
"""Write inputs for the fuzz-pc target (fuzz/fuzz-pc.c) from qtest command
lines, and its dictionary; likewise for fuzz-ahci (fuzz-pc.c built with
-DFUZZ_AHCI: same input format, seeds in fuzz/seeds/ahci, --target ahci)
and fuzz-q35 (-DFUZZ_PC_Q35, seeds in fuzz/seeds/q35, --target q35),
and fuzz-usb (-DFUZZ_PC_USB, fuzz/seeds/usb, --target usb),
and fuzz-audio (-DFUZZ_PC_AUDIO, fuzz/seeds/audio, --target audio).

    scripts/fuzz-pc-encode.py SCRIPT.qtest OUTPUT     encode one script
    scripts/fuzz-pc-encode.py --dict OUTPUT           write the dictionary
    scripts/fuzz-pc-encode.py --target ahci --dict OUTPUT
    scripts/fuzz-pc-encode.py --check                 seeds and dictionaries
                                                      of both targets up to
                                                      date? (a test)

A script holds one command per line ('#' starts a comment):

    outb|outw|outl ADDR VALUE       inb|inw|inl ADDR
    writeb|writew|writel|writeq ADDR VALUE
    readb|readw|readl|readq ADDR
    write ADDR SIZE 0xHEX           bytes into guest RAM (ADDR < 16 MiB)
    clock_step NS                   clock_step (to the next timer)
    screen_update                   draw every console (op 9, no qtest command)
    cfg_write{b,w,l} DEV REG VALUE  cfg_read{b,w,l} DEV REG
                                    (DEV: nth PCI function on bus 0)
    intack CPU                      cpu_events CPU
    rdmsr CPU MSR                   wrmsr CPU MSR VALUE
                                    (MSR: 0x1b, 0x6e0 or 0x800-0x8fd)

Plain addresses use window 0 (the whole space) and mean the same address
in every version of the target.  "WINDOW: command" (e.g. "hpet: writel
0x10 0x1") gives an offset inside a named window of fuzz-pc.c instead, so
the fuzzer's mutations of the offset stay on that device.  Window names are
read from fuzz-pc.c's tables; docs/fuzzing.md describes the format.
"""
import re
import struct
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "fuzz" / "fuzz-pc.c"
OP = {"in": 0, "out": 1, "read": 2, "write": 3, "ram": 4, "clock": 5,
      "cfg_read": 6, "cfg_write": 7, "clock_next": 8, "screen_update": 9,
      "intack": 10, "rdmsr": 11, "wrmsr": 12, "cpu_events": 13}
WIDTH = {"b": 0, "w": 1, "l": 2, "q": 3}
RAM_SIZE = 16 << 20
CLOCK_STEP_MAX = (1 << 17) - 1   # fuzz-pc.c's CLOCK_STEP_MASK
WINDOW_PCI_BAR = 0x80


def windows(table):
    """Names of fuzz-pc.c's window table @table, in index order."""
    text = SRC.read_text()
    m = re.search(r"Window %s\[\] = \{(.*?)\n\};" % table, text, re.S)
    return re.findall(r'\{ "([^"]+)"', m.group(1))


PIO = windows("pio_windows")
MMIO = windows("mmio_windows")


def num(s):
    return int(s, 0)


def window_index(name, table, is_pio):
    if name is None:
        return 0
    if name.startswith("iobar") or name.startswith("membar"):
        return WINDOW_PCI_BAR + int(name.split("bar")[1])
    if name not in table:
        sys.exit(f"unknown {'port' if is_pio else 'memory'} window '{name}'")
    return table.index(name)


def msr_index(msr):
    """fuzz-pc.c's apic_msr_index() the other way round."""
    if msr == 0x1b:
        return 0
    if msr == 0x6e0:
        return 1
    if 0x800 <= msr <= 0x8fd:
        return msr - 0x800 + 2
    sys.exit(f"MSR {msr:#x} cannot be encoded")


def encode_line(line, win):
    words = line.split()
    cmd = words[0]
    if cmd in ("intack", "cpu_events"):
        return bytes([OP[cmd], num(words[1])])
    if cmd == "rdmsr":
        return bytes([OP[cmd], num(words[1]), msr_index(num(words[2]))])
    if cmd == "wrmsr":
        return (bytes([OP[cmd], num(words[1]), msr_index(num(words[2]))]) +
                struct.pack("<Q", num(words[3]) & (2**64 - 1)))
    m = re.fullmatch(r"(in|out|read|write|cfg_read|cfg_write)([bwlq])", cmd)
    if m:
        kind, w = m.group(1), WIDTH[m.group(2)]
        args = [num(a) for a in words[1:]]
        if kind in ("in", "out"):
            out = struct.pack("<BBBH", OP[kind], window_index(win, PIO, True),
                              w, args[0] & 0xffff)
            return out + (struct.pack("<I", args[1] & 0xffffffff)
                          if kind == "out" else b"")
        if kind in ("read", "write"):
            out = struct.pack("<BBBI", OP[kind],
                              window_index(win, MMIO, False), w, args[0])
            return out + (struct.pack("<Q", args[1] & (2**64 - 1))
                          if kind == "write" else b"")
        out = struct.pack("<BBBB", OP[kind], args[0], w, args[1])
        return out + (struct.pack("<I", args[2]) if kind == "cfg_write"
                      else b"")
    if cmd == "write":
        addr, size, data = num(words[1]), num(words[2]), words[3]
        raw = bytes.fromhex(data[2:]).ljust(size, b"\0")[:size]
        if addr + size > RAM_SIZE:
            sys.exit(f"'{line}': write is for RAM below {RAM_SIZE:#x}")
        out = b""
        for i in range(0, size, 255):
            chunk = raw[i:i + 255]
            out += struct.pack("<BIB", OP["ram"], addr + i, len(chunk)) + chunk
        return out
    if cmd == "screen_update":
        return bytes([OP["screen_update"]])
    if cmd == "clock_step" and len(words) == 1:
        return bytes([OP["clock_next"]])
    if cmd == "clock_step":
        ns, out = num(words[1]), b""
        while ns > 0:
            step = min(ns, CLOCK_STEP_MAX)
            out += struct.pack("<BI", OP["clock"], step)
            ns -= step
        return out
    sys.exit(f"cannot encode '{line}'")


def encode(text):
    out = b""
    for raw in text.splitlines():
        line = raw.split("#")[0].strip()
        if not line:
            continue
        win = None
        if ":" in line.split()[0]:
            win, line = line.split(":", 1)
            win, line = win.strip(), line.strip()
        out += encode_line(line, win)
    return out


# Dictionary: the opcode/window/width prefix of an access to each window,
# register offsets and values the devices care about, and a few whole
# operations that take a device somewhere interesting in one step.
DICT_VALUES = {
    # HPET: capabilities, config (enable, legacy), status, counter, timer 0
    "hpet_cfg": 0x10, "hpet_isr": 0x20, "hpet_counter": 0xf0,
    "hpet_t0_cfg": 0x100, "hpet_t0_cmp": 0x108, "hpet_t1_cfg": 0x120,
    "hpet_t2_cfg": 0x140,
    # fw_cfg keys: signature, id, file dir; DMA control: read|select
    "fwcfg_key_sig": 0x0000, "fwcfg_key_id": 0x0001, "fwcfg_key_dir": 0x0019,
    "fwcfg_dma_ctl_read_select": 0x0019000a,
    # PCI config addresses of the functions on bus 0
    "pci_cfg_testdev_bar0": 0x80001010, "pci_cfg_testdev_cmd": 0x80001004,
    "pci_cfg_testdev_msi": 0x80001040, "pci_cfg_testdev_msi_addr": 0x80001044,
    "pci_cfg_piix4_pmba": 0x80000b40, "pci_cfg_piix3_pirq": 0x80000860,
    "pci_cfg_i440fx_pam": 0x80000058,
    # addresses that MSIs, DMA and BARs aim at
    "addr_bar_pool": 0xe0000000, "addr_msi_window": 0xfee00000,
    "addr_hpet": 0xfed00000, "addr_ioapic": 0xfec00000,
    # 8259 ICW/OCW values, PIT control words, LAPIC/IOAPIC values
    "pic_icw1": 0x11, "pic_ocw3_isr": 0x0b, "pic_eoi": 0x20,
    "pit_ctrl_ch0_mode3": 0x36, "pit_ctrl_ch2_mode3": 0xb6,
    "lapic_svr_on": 0x1ff, "lapic_lvt_periodic": 0x20040,
    "lapic_lvt_tscdl": 0x40040, "lapic_icr_init": 0x4500,
    "lapic_icr_sipi": 0x4608, "lapic_icr_lowest_logical": 0x941,
    "ioapic_rte_level": 0x8041, "apicbase_x2apic": 0xfee00c00,
    # RTC index: status A/B/C, periodic rate; i8042 commands
    "rtc_reg_a": 0x0a, "rtc_reg_b": 0x0b, "rtc_reg_c": 0x0c,
    "kbd_cmd_write_mode": 0x60, "kbd_cmd_reset": 0xfe, "kbd_cmd_self_test": 0xaa,
    # 8237: mask, mode (single, read/write, autoinit), clear flip-flop
    "dma_mode_autoinit_read": 0x58, "dma_clear_ff": 0x0c,
    # serial: LCR DLAB, FIFO enable, loopback
    "uart_lcr_dlab": 0x83, "uart_fcr_fifo": 0xc7, "uart_mcr_loop": 0x10,
    # ACPI: SLP_EN|S5, SCI enable/disable commands
    "acpi_pm1_cnt_s5": 0x2000, "acpi_enable": 0xf1, "acpi_disable": 0xf0,
}

DICT_OPS = {
    "op_hpet_enable": "hpet: writel 0x10 0x1",
    "op_hpet_legacy": "hpet: writel 0x10 0x3",
    "op_hpet_t0_periodic": "hpet: writeq 0x100 0x4c",
    "op_fwcfg_select_dir": "fw_cfg: outw 0x0 0x19",
    "op_fwcfg_dma_lo": "fw_cfg: outl 0x8 0x100000",
    "op_pci_testdev_bar0": "outl 0xcf8 0x80001010",
    "op_pci_testdev_msi_enable": "outl 0xcf8 0x80001040",
    "op_rtc_select_b": "rtc: outb 0x0 0xb",
    "op_kbd_cmd": "i8042: outb 0x4 0xd4",
    "op_ide0_read_dma": "ide0: outb 0x7 0xc8",
    "op_ide0_write_dma_ext": "ide0: outb 0x7 0x35",
    "op_ide0_identify": "ide0: outb 0x7 0xec",
    "op_ide1_packet": "ide1: outb 0x7 0xa0",
    "op_ide0_data": "ide0: inw 0x0",
    "op_ide_bm0_start_read": "iobar2: outb 0x0 0x9",
    "op_ide_bm1_start_read": "iobar2: outb 0x8 0x9",
    "op_fdc_read_data": "fdc: outb 0x5 0x46",
    "op_fdc_write_data": "fdc: outb 0x5 0x45",
    "op_fdc_sense_int": "fdc: outb 0x5 0x8",
    "op_fdc_msr": "fdc: inb 0x4",
    "op_fdc_fifo_read": "fdc: inb 0x5",
    "op_fdc_dor_reset": "fdc: outb 0x2 0x8",
    "op_fdc_dor_run": "fdc: outb 0x2 0x1c",
    "op_dma_mode2_to_mem": "dma1: outb 0xb 0x46",
    "op_dma_mode2_from_mem": "dma1: outb 0xb 0x4a",
    "op_dma_unmask2": "dma1: outb 0xa 0x2",
    "op_vbe_index_enable": "vbe: outw 0x0 0x4",
    "op_vbe_lfb_enable": "vbe: outw 0x1 0x41",
    "op_vga_seq_memmode": "vga: outb 0x14 0x4",
    "op_vga_gr_mode": "vga: outb 0x1e 0x5",
    "op_vga_ar_reset": "vga: inb 0x2a",
    "op_screen_update": "screen_update",
    "op_clock_next": "clock_step",
    "op_clock_100us": "clock_step 100000",
    "op_pic_icw1": "pic-master: outb 0x0 0x11",
    "op_pic_poll": "pic-master: outb 0x0 0xc",
    "op_pit_ch0_mode2": "pit: outb 0x3 0x34",
    "op_pit_readback": "pit: outb 0x3 0xc2",
    "op_ioapic_select_rte2": "ioapic: writel 0x0 0x14",
    "op_lapic_enable": "lapic: writel 0xf0 0x1ff",
    "op_lapic_self_ipi": "lapic: writel 0x300 0x40050",
    "op_lapic_eoi": "lapic: writel 0xb0 0x0",
    "op_intack0": "intack 0",
    "op_intack1": "intack 1",
    "op_x2apic_on1": "wrmsr 1 0x1b 0xfee00c00",
}


# fuzz-ahci adds the AHCI (04.0, function 5; ABAR = membar4, the index/data
# pair = iobar2) to the machine.
AHCI_DICT_VALUES = {
    "ahci_ghc_ie": 0x2, "ahci_ghc_hr": 0x1, "ahci_cmd_fre_st": 0x11,
    "ahci_ie_all": 0xfdc000ff, "ahci_sctl_comreset": 0x1,
    "ahci_clb": 0x10000, "ahci_fb": 0x11000,
    "fis_h2d_cmd": 0x8027, "ata_read_dma_ext": 0x25, "ata_write_dma_ext": 0x35,
    "ata_read_fpdma": 0x60, "ata_write_fpdma": 0x61, "ata_packet": 0xa0,
    "ata_identify": 0xec, "ata_read_log_ext": 0x2f,
    "cmdhdr_cfl5_prdtl1": 0x10005, "cmdhdr_atapi": 0x10025,
    "cmdhdr_write": 0x10045, "cmdhdr_reset_clear": 0x505,
    "prd_dbc_4k_irq": 0x80000fff,
}

AHCI_DICT_OPS = {
    "op_ahci_p0_ci0": "membar4: writel 0x138 0x1",
    "op_ahci_p0_start": "membar4: writel 0x118 0x11",
    "op_ahci_p0_stop": "membar4: writel 0x118 0x10",
    "op_ahci_p0_sact": "membar4: writel 0x134 0xff",
    "op_ahci_p1_ci0": "membar4: writel 0x1b8 0x1",
    "op_ahci_p1_start": "membar4: writel 0x198 0x11",
    "op_ahci_hba_reset": "membar4: writel 0x4 0x1",
    "op_ahci_comreset": "membar4: writel 0x12c 0x1",
}

# fuzz-q35: the q35 machine (ECAM at 0xb0000000, ICH9 PM at 0x600, RCBA at
# 0xfed1c000), a root port (08.0, bus 1), a pci-bridge (09.0, bus 2) and
# an XIO3130 switch behind an ioh3420 (0a.0): upstream port 03:00.0,
# downstream ports 04:00.0 (bus 5) and 04:01.0 (bus 6, a pcie-pci-bridge
# with bus 7 behind).
Q35_DICT_VALUES = {
    "pciexbar_en": 0xb0000001, "pciexbar_64m": 0xb0000005,
    "pirq_irq10": 0x0a, "pirq_disabled": 0x80, "rcba_en": 0xfed1c001,
    "dir_default": 0x3210, "tco_tmr_hlt": 0x0800, "slt_hpie_ccie": 0x01f0,
    "bridge_ctl_sbr": 0x0040, "bus_1_1": 0x00010100, "bus_2_2": 0x00020200,
    "io_window_1000": 0x1010, "mem_window_fe00": 0xfe00fe00,
    "bus_3_7": 0x00070300, "bus_4_7": 0x00070403, "bus_5_5": 0x00050504,
    "bus_6_7": 0x00070604, "bus_7_7": 0x00070706,
    "mem_window_fe20": 0xfe20fe20, "io_window_3000": 0x3030,
}

Q35_DICT_OPS = {
    "op_q35_ecam_mch_id": "readl 0xb0000000",
    "op_q35_ecam_bus1_id": "readl 0xb0100000",
    "op_q35_ecam_bus2_dev1": "readl 0xb0208000",
    "op_q35_pm1_cnt_sci": "outw 0x604 0x1",
    "op_q35_pm_tmr": "inl 0x608",
    "op_q35_tco_reload": "outw 0x660 0x1",
    "op_q35_tco_start": "outw 0x668 0x0",
    "op_q35_apm_enable": "outb 0xb2 0x2",
    "op_q35_rcba_d25ir": "writew 0xfed1f150 0x3250",
    "op_q35_rp_sltctl": "writew 0xb004006c 0x1f0",
    "op_q35_rp_mem_window": "writel 0xb0040020 0xfe00fe00",
    "op_q35_rp_cmd": "writew 0xb0040004 0x7",
    "op_q35_ecam_switch_up_id": "readl 0xb0300000",
    "op_q35_ecam_switch_dn0_id": "readl 0xb0400000",
    "op_q35_ecam_switch_dn1_id": "readl 0xb0408000",
    "op_q35_ecam_ppb_id": "readl 0xb0600000",
    "op_q35_ecam_bus7_dev1": "readl 0xb0708000",
    "op_q35_dn0_sltctl": "writew 0xb04000a8 0x1f0",
    "op_q35_dn0_sltsta": "readw 0xb04000aa",
    "op_q35_dn0_msi_on": "writew 0xb0400072 0x1",
    "op_q35_up_cmd": "writew 0xb0300004 0x7",
    "op_q35_ppb_sbr": "writew 0xb060003e 0x40",
}

VGPU_DICT_VALUES = {
    "gpu_get_display_info": 0x100, "gpu_create_2d": 0x101,
    "gpu_unref": 0x102, "gpu_set_scanout": 0x103, "gpu_flush": 0x104,
    "gpu_transfer_2d": 0x105, "gpu_attach_backing": 0x106,
    "gpu_detach_backing": 0x107, "gpu_get_edid": 0x10a,
    "gpu_update_cursor": 0x300, "gpu_move_cursor": 0x301,
    "gpu_fmt_b8g8r8x8": 2, "gpu_fmt_r8g8b8a8": 67,
    "input_cfg_name": 0x1, "input_cfg_ev_bits_key": 0x111,
    "input_cfg_abs_info": 0x12, "input_ev_led": 0x11,
    "virtio_features_ok": 0xb, "virtio_driver_ok": 0xf,
    "vring_desc_write_next": 0x3,
}

# fuzz-usb adds piix3-usb-uhci (08.0, I/O = iobar2) and qemu-xhci (09.0,
# BAR0 = membar4), each with a usb-tablet and a usb-storage, and
# ich9-usb-ehci1 (0a.7, BAR0 = membar5) with its companion ich9-usb-uhci1
# (0a.0, I/O = iobar3), a usb-tablet and a usb-kbd.
USB_DICT_VALUES = {
    "uhci_cmd_run": 0x81, "uhci_port_reset": 0x200, "uhci_port_enable": 0x6,
    "uhci_td_active_ioc": 0x19800000, "uhci_token_setup": 0x00e0002d,
    "uhci_token_in": 0x00e00069, "uhci_link_qh": 0x101002,
    "xhci_trb_setup": 0x0841, "xhci_trb_normal": 0x0421,
    "xhci_trb_link_tc": 0x1803, "xhci_cmd_enable_slot": 0x2401,
    "xhci_cmd_address": 0x01002c01, "xhci_cmd_configure": 0x01003001,
    "xhci_portsc_pr": 0x210, "cbw_sig": 0x43425355,
    "ehci_qh_link": 0x101002, "ehci_qh_epchar_hs": 0x0040e000,
    "ehci_qtd_setup": 0x00080e80, "ehci_qtd_in": 0x80120d80,
    "ehci_qtd_status": 0x80008c80,
}

USB_DICT_OPS = {
    "op_uhci_run": "iobar2: outw 0x0 0x81",
    "op_uhci_reset_port1": "iobar2: outw 0x10 0x200",
    "op_uhci_enable_port1": "iobar2: outw 0x10 0x6",
    "op_uhci_status": "iobar2: inw 0x2",
    "op_xhci_run": "membar4: writel 0x40 0x5",
    "op_xhci_hcrst": "membar4: writel 0x40 0x2",
    "op_xhci_db_cmd": "membar4: writel 0x2000 0x0",
    "op_xhci_db_slot1_ep0": "membar4: writel 0x2004 0x1",
    "op_xhci_db_slot1_ep1in": "membar4: writel 0x2004 0x3",
    "op_xhci_db_slot2_ep2out": "membar4: writel 0x2008 0x4",
    "op_xhci_reset_port1": "membar4: writel 0x440 0x210",
    "op_ehci_run_async": "membar5: writel 0x20 0x80021",
    "op_ehci_run_both": "membar5: writel 0x20 0x80031",
    "op_ehci_doorbell": "membar5: writel 0x20 0x80061",
    "op_ehci_configflag": "membar5: writel 0x60 0x1",
    "op_ehci_asynclist": "membar5: writel 0x38 0x101000",
    "op_ehci_port1_reset": "membar5: writel 0x64 0x1100",
    "op_ehci_port1_reset_end": "membar5: writel 0x64 0x1000",
    "op_ehci_port2_owner": "membar5: writel 0x68 0x3000",
    "op_ehci_status": "membar5: readl 0x24",
    "op_companion_run": "iobar3: outw 0x0 0x81",
}

# fuzz-audio (-DFUZZ_PC_AUDIO): intel-hda (08.0, BAR0 0xe0200000) and
# AC97 (09.0, NAM 0xc200, NABM 0xc300).
AUDIO_DICT_VALUES = {
    "hda_run_tag1": 0x10001e, "hda_fmt_48k_s16_2ch": 0x0011,
    "hda_verb_vendor": 0x000f0000, "hda_verb_stream": 0x00270610,
    "ac97_rate_44k1": 44100, "ac97_cr_run_ioc": 0x1d,
}
AUDIO_DICT_OPS = {
    "op_hda_crst": "writel 0xe0200008 0x101",
    "op_hda_corb_run": "writeb 0xe020004c 0x3",
    "op_hda_rirb_dma": "writeb 0xe020005c 0x3",
    "op_hda_icmd": "writew 0xe0200068 0x1",
    "op_hda_sd4_run": "writel 0xe0200100 0x10001e",
    "op_ac97_po_run": "outb 0xc31b 0x1d",
    "op_ac97_pi_run": "outb 0xc30b 0x11",
    "op_clock_next": "clock_step",
}

# fuzz-pc: ACPI PCI hotplug behind the pci-bridge at 1e.0 (bus 1, set up
# like firmware): select its bus (BSEL 1), read the registers, eject the
# pci-testdev in its slot 3; the testdev's ID through bus 1.
PC_DICT_VALUES = {
    "pcihp_bsel_bridge": 0x1, "pcihp_slot3": 0x8,
    "pci_cfg_bus1_testdev": 0x80011800,
}

PC_DICT_OPS = {
    "op_pcihp_select_bridge": "pcihp: outl 0x10 0x1",
    "op_pcihp_select_root": "pcihp: outl 0x10 0x0",
    "op_pcihp_eject_slot3": "pcihp: outl 0x8 0x8",
    "op_pcihp_up": "pcihp: inl 0x0",
    "op_pcihp_rmv": "pcihp: inl 0xc",
}

TARGETS = {
    # target: (seeds, corpus, dictionary file, extra values, extra ops)
    "pc": ("seeds/pc", "corpus/pc", "pc-machine.dict", PC_DICT_VALUES,
           PC_DICT_OPS),
    "vgpu": ("seeds/vgpu", "corpus/vgpu", "vgpu.dict", VGPU_DICT_VALUES, {}),
    "audio": ("seeds/audio", "corpus/audio", "audio.dict",
              AUDIO_DICT_VALUES, AUDIO_DICT_OPS),
    "ahci": ("seeds/ahci", "corpus/ahci", "ahci.dict", AHCI_DICT_VALUES,
             AHCI_DICT_OPS),
    "q35": ("seeds/q35", "corpus/q35", "q35.dict", Q35_DICT_VALUES,
            Q35_DICT_OPS),
    "usb": ("seeds/usb", "corpus/usb", "usb.dict", USB_DICT_VALUES,
            USB_DICT_OPS),
}


def dict_entry(name, data):
    esc = "".join(f"\\x{b:02x}" for b in data)
    return f'{name}="{esc}"\n'


def dictionary(target="pc"):
    extra_values, extra_ops = TARGETS[target][3], TARGETS[target][4]
    if target == "pc":
        out = ["# fuzz-pc dictionary (scripts/fuzz-pc-encode.py --dict; do not edit)\n"]
    else:
        out = [f"# fuzz-{target} dictionary (scripts/fuzz-pc-encode.py "
               f"--target {target} --dict; do not edit)\n"]
    for i, name in enumerate(PIO):
        key = re.sub(r"\W", "_", name)
        out.append(dict_entry(f"in_{key}", bytes([OP["in"], i])))
        out.append(dict_entry(f"out_{key}", bytes([OP["out"], i])))
    for i, name in enumerate(MMIO):
        key = re.sub(r"\W", "_", name)
        out.append(dict_entry(f"read_{key}", bytes([OP["read"], i])))
        out.append(dict_entry(f"write_{key}", bytes([OP["write"], i])))
    for name, val in {**DICT_VALUES, **extra_values}.items():
        fmt = "<H" if val <= 0xffff else "<I"
        out.append(dict_entry(name, struct.pack(fmt, val)))
    for name, line in {**DICT_OPS, **extra_ops}.items():
        out.append(dict_entry(name, encode(line)))
    return "".join(out)


def check():
    """fuzz/corpus/T/NAME must be the encoding of fuzz/seeds/T/NAME.qtest
    for each target T, and for fuzz-virtio's, fuzz-nic's and fuzz-vc's seeds
    (fuzz/seeds/virtio, fuzz/seeds/nic, fuzz/seeds/vc: the pc format; the
    virtio and nic dictionaries are kept by hand, vc uses pc's) (corpus
    inputs without a script, such as minimised crashes, are left alone),
    and the dictionaries must match this script's."""
    root = SRC.parent
    stale = []
    dirs = [(seeds, corpus) for seeds, corpus, _, _, _ in TARGETS.values()]
    for seeds, corpus in dirs + [("seeds/virtio", "corpus/virtio"),
                                 ("seeds/nic", "corpus/nic"),
                                 ("seeds/vc", "corpus/vc")]:
        stale += [str(q) for q in sorted((root / seeds).glob("*.qtest"))
                  if not (root / corpus / q.stem).exists() or
                  (root / corpus / q.stem).read_bytes() !=
                  encode(q.read_text())]
    for target, (_, _, dict_file, _, _) in TARGETS.items():
        if (root / dict_file).read_text() != dictionary(target):
            stale.append(str(root / dict_file))
    for name in stale:
        print(f"stale: {name} (re-run scripts/fuzz-pc-encode.py)")
    return 1 if stale else 0


def main():
    target = "pc"
    if sys.argv[1:2] == ["--target"] and len(sys.argv) > 2:
        target = sys.argv[2]
        if target not in TARGETS:
            sys.exit(f"unknown target '{target}' ({', '.join(TARGETS)})")
        del sys.argv[1:3]
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    if len(sys.argv) == 3 and sys.argv[1] == "--dict":
        Path(sys.argv[2]).write_text(dictionary(target))
    elif len(sys.argv) == 3:
        Path(sys.argv[2]).write_bytes(encode(Path(sys.argv[1]).read_text()))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
