/*
 * "AC97": the Intel 82801AA (ICH) AC'97 audio controller (8086:2415) with
 * a SigmaTel STAC9700 codec, as QEMU's.
 *
 * Spec: Intel 82801AA/AB I/O Controller Hub datasheet (290655), section
 * "AC'97 Audio Controller Registers" (NABMBAR: PI/PO/MC boxes with BDBAR,
 * CIV, LVI, SR, PICB, PIV, CR; GLOB_CNT, GLOB_STA, CAS); Audio Codec '97
 * 2.3 (the mixer registers at NAMBAR: Reset, Master Volume, Headphone,
 * Master Mono, PC Beep, Phone, Mic, Line In, CD, Video, Aux, PCM Out,
 * Record Select, Record Gain, Record Gain Mic, General Purpose, 3D
 * Control, Powerdown Ctrl/Stat, Extended Audio ID, Extended Audio
 * Status/Control, PCM Front DAC Rate, PCM L/R ADC Rate, MIC ADC Rate,
 * Vendor ID1/ID2).
 *
 * Model:
 *   - BAR0 (I/O, 256 bytes) the codec's mixer, BAR1 (I/O, 64 bytes) the
 *     bus master.  PO plays stereo s16 at the PCM Front DAC Rate, PI and
 *     MC record stereo / mono s16 at the ADC rates; the rates are
 *     writable (8000-48000 Hz) once Extended Audio Status/Control has VRA
 *     (variable rate) set, else 48 kHz.
 *   - A box runs while CR.RPBM is set and it is not halted (SR.DCH): each
 *     audio timer tick its voice asks for data and the box walks its
 *     32-entry BDL from CIV: PICB counts the current buffer's samples
 *     down; an empty buffer with IOC sets BCIS; the buffer at LVI sets
 *     LVBCI, CELV and DCH and the box halts until software moves LVI.
 *     Zero-length entries complete at once; at most 32 of them per tick.
 *     A buffer the bus cannot reach halts the box with FIFOE (a master
 *     abort ends the transfer).
 *   - The interrupt (INTA#) is the OR of each box's BCIS & IOCE,
 *     LVBCI & LVBIE and FIFOE & FEIE; GLOB_STA shows PIINT/POINT/MINT.
 *   - Master Volume (attenuation, 00h = 0 dB) and PCM Out Volume (gain,
 *     08h = 0 dB, 00h = +12 dB; 1.5 dB steps, mute) are the PCM out
 *     voice's volume; the record gains are kept but not applied.
 */
#include "qemu/osdep.h"
#include <math.h>
#include "hw/pci/pci.h"
#include "audio/audio.h"

#define NAM_SIZE            256
#define NABM_SIZE           64
#define BOXES               3
#define BOX_PI              0
#define BOX_PO              1
#define BOX_MC              2
#define BD_ENTRIES          32

/* box registers (offset within a box) */
#define BOX_BDBAR           0x00
#define BOX_CIV             0x04
#define BOX_LVI             0x05
#define BOX_SR              0x06
#define BOX_PICB            0x08
#define BOX_PIV             0x0a
#define BOX_CR              0x0b
#define SR_DCH              (1u << 0)
#define SR_CELV             (1u << 1)
#define SR_LVBCI            (1u << 2)
#define SR_BCIS             (1u << 3)
#define SR_FIFOE            (1u << 4)
#define SR_WCLEAR           (SR_LVBCI | SR_BCIS | SR_FIFOE)
#define CR_RPBM             (1u << 0)
#define CR_RR               (1u << 1)
#define CR_LVBIE            (1u << 2)
#define CR_FEIE             (1u << 3)
#define CR_IOCE             (1u << 4)
#define CR_MASK             0x1f
#define BD_IOC              (1u << 31)
#define BD_BUP              (1u << 30)

#define GLOB_CNT            0x2c
#define GLOB_STA            0x30
#define CAS                 0x34
#define GC_WR               (1u << 2)       /* warm reset */
#define GC_CR               (1u << 1)       /* cold reset# */
#define GC_VALID_MASK       0x3f
#define GS_PIINT            (1u << 5)
#define GS_POINT            (1u << 6)
#define GS_MINT             (1u << 7)
#define GS_PCR              (1u << 8)
#define GS_RO_MASK          0x3ff1f7        /* bits software cannot write */
#define GS_WCLEAR           0x00300e00      /* RCS, SRI, PRI, MD3?, AD3 */

/* mixer registers */
#define AC97_RESET          0x00
#define AC97_MASTER         0x02
#define AC97_HEADPHONE      0x04
#define AC97_MASTER_MONO    0x06
#define AC97_PC_BEEP        0x0a
#define AC97_PHONE          0x0c
#define AC97_MIC            0x0e
#define AC97_LINE_IN        0x10
#define AC97_CD             0x12
#define AC97_VIDEO          0x14
#define AC97_AUX            0x16
#define AC97_PCM_OUT        0x18
#define AC97_RECORD_SELECT  0x1a
#define AC97_RECORD_GAIN    0x1c
#define AC97_RECORD_GAIN_MIC 0x1e
#define AC97_POWERDOWN      0x26
#define AC97_EXT_AUDIO_ID   0x28
#define AC97_EXT_AUDIO_CTL  0x2a
#define AC97_PCM_FRONT_RATE 0x2c
#define AC97_PCM_LR_ADC_RATE 0x32
#define AC97_MIC_ADC_RATE   0x34
#define AC97_VENDOR_ID1     0x7c
#define AC97_VENDOR_ID2     0x7e
#define EACS_VRA            (1u << 0)
#define EACS_VRM            (1u << 3)

typedef struct AC97Box {
    uint32_t bdbar;
    uint8_t civ, lvi, piv, cr;
    uint16_t sr, picb;
    /* the current descriptor */
    uint32_t bd_addr, bd_ctl;
} AC97Box;

typedef struct AC97State {
    PCIDevice parent;
    char *audiodev;

    uint16_t mixer[NAM_SIZE / 2];
    AC97Box box[BOXES];
    uint32_t glob_cnt, glob_sta, cas;
    uint8_t active[BOXES];      /* the box's voice runs */

    AudioState *audio;
    SWVoiceOut *voice_po;
    SWVoiceIn *voice_pi, *voice_mc;
    MemoryRegion nam, nabm;
} AC97State;

static uint16_t mixer_get(AC97State *s, unsigned reg)
{
    return s->mixer[(reg & 0xff) / 2];
}

static void mixer_set(AC97State *s, unsigned reg, uint16_t v)
{
    s->mixer[(reg & 0xff) / 2] = v;
}

/* ---- interrupts -------------------------------------------------------- */

static bool box_irq(const AC97Box *b)
{
    return ((b->sr & SR_BCIS) && (b->cr & CR_IOCE)) ||
           ((b->sr & SR_LVBCI) && (b->cr & CR_LVBIE)) ||
           ((b->sr & SR_FIFOE) && (b->cr & CR_FEIE));
}

static void ac97_update_irq(AC97State *s)
{
    static const uint32_t bits[BOXES] = { GS_PIINT, GS_POINT, GS_MINT };
    bool level = false;

    for (unsigned i = 0; i < BOXES; i++) {
        if (box_irq(&s->box[i])) {
            s->glob_sta |= bits[i];
            level = true;
        } else {
            s->glob_sta &= ~bits[i];
        }
    }
    pci_set_irq(&s->parent, level);
}

/* ---- voices ------------------------------------------------------------ */

static void ac97_out_cb(void *opaque, int avail);
static void ac97_in_cb(void *opaque, int avail);
static void ac97_mc_cb(void *opaque, int avail);

static uint32_t box_rate(AC97State *s, unsigned n)
{
    static const unsigned reg[BOXES] = {
        AC97_PCM_LR_ADC_RATE, AC97_PCM_FRONT_RATE, AC97_MIC_ADC_RATE,
    };
    uint32_t r = mixer_get(s, reg[n]);

    return r ? r : 48000;
}

/*
 * Volume register (mute 15, left 13:8, right 5:0, 1.5 dB steps) -> linear
 * gains.  @zero_db is the step that means 0 dB: Master Volume is an
 * attenuation (00h = 0 dB; this codec has 5 bits, so 20h-3Fh act as 1Fh),
 * PCM Out Volume a gain (AC'97 2.3 5.7.4: 00h = +12 dB, 08h = 0 dB,
 * 1Fh = -34.5 dB).
 */
static void vol_gain(uint16_t v, unsigned zero_db, float *l, float *r)
{
    unsigned la = MIN((v >> 8) & 0x3f, 0x1f), ra = MIN(v & 0x3f, 0x1f);

    if (v & 0x8000) {
        *l = *r = 0.0f;
        return;
    }
    *l = powf(10.0f, 1.5f * ((float)zero_db - (float)la) / 20.0f);
    *r = powf(10.0f, 1.5f * ((float)zero_db - (float)ra) / 20.0f);
}

static void ac97_update_volume(AC97State *s)
{
    float ml, mr, pl, pr;

    vol_gain(mixer_get(s, AC97_MASTER), 0, &ml, &mr);
    vol_gain(mixer_get(s, AC97_PCM_OUT), 8, &pl, &pr);
    AUD_set_volume_out(s->voice_po, false, ml * pl, mr * pr);
}

static void ac97_open_voice(AC97State *s, unsigned n)
{
    AudioSettings as = {
        .freq = box_rate(s, n),
        .nchannels = n == BOX_MC ? 1 : 2,
        .fmt = AUDIO_FORMAT_S16,
    };

    switch (n) {
    case BOX_PO:
        s->voice_po = AUD_open_out(s->audio, s->voice_po, "ac97.po", s,
                                   ac97_out_cb, &as);
        ac97_update_volume(s);
        break;
    case BOX_PI:
        s->voice_pi = AUD_open_in(s->audio, s->voice_pi, "ac97.pi", s,
                                  ac97_in_cb, &as);
        break;
    case BOX_MC:
        s->voice_mc = AUD_open_in(s->audio, s->voice_mc, "ac97.mc", s,
                                  ac97_mc_cb, &as);
        break;
    }
}

static void ac97_set_active(AC97State *s, unsigned n, bool on)
{
    s->active[n] = on;
    if (on) {
        ac97_open_voice(s, n);
    }
    switch (n) {
    case BOX_PO:
        AUD_set_active_out(s->voice_po, on);
        break;
    case BOX_PI:
        AUD_set_active_in(s->voice_pi, on);
        break;
    case BOX_MC:
        AUD_set_active_in(s->voice_mc, on);
        break;
    }
}

/* Whether box @n should be moving data. */
static bool box_running(const AC97Box *b)
{
    return (b->cr & CR_RPBM) && !(b->sr & SR_DCH);
}

static void ac97_update_active(AC97State *s, unsigned n)
{
    bool on = box_running(&s->box[n]);

    if (on != (bool)s->active[n]) {
        ac97_set_active(s, n, on);
    }
}

/* ---- bus master DMA ---------------------------------------------------- */

static bool fetch_bd(AC97State *s, AC97Box *b)
{
    uint8_t e[8];

    if (pci_dma_read(&s->parent, (b->bdbar & ~7u) + b->civ * 8u, e, 8)) {
        return false;
    }
    b->bd_addr = ldl_le_p(e) & ~1u;
    b->bd_ctl = ldl_le_p(e + 4);
    b->picb = b->bd_ctl & 0xffff;
    return true;
}

static void box_halt(AC97State *s, unsigned n, uint16_t why)
{
    AC97Box *b = &s->box[n];

    b->sr |= SR_DCH | why;
    if (n == BOX_PO && s->active[n]) {
        /* out of buffers: what the voice holds still plays */
        s->active[n] = false;
        AUD_drain_out(s->voice_po);
    }
    ac97_update_active(s, n);
    ac97_update_irq(s);
}

/* The current buffer is done: interrupts, then the next one or a halt. */
static bool box_next(AC97State *s, unsigned n)
{
    AC97Box *b = &s->box[n];

    if (b->bd_ctl & BD_IOC) {
        b->sr |= SR_BCIS;
    }
    if (b->civ == b->lvi) {
        b->sr |= SR_LVBCI | SR_CELV;
        box_halt(s, n, 0);
        return false;
    }
    b->civ = b->piv;
    b->piv = (b->piv + 1) % BD_ENTRIES;
    if (!fetch_bd(s, b)) {
        box_halt(s, n, SR_FIFOE);
        return false;
    }
    ac97_update_irq(s);
    return true;
}

/* Move up to @len bytes of box @n (out: guest -> @buf). */
static uint32_t box_dma(AC97State *s, unsigned n, uint8_t *buf, uint32_t len,
                        bool out)
{
    AC97Box *b = &s->box[n];
    uint32_t done = 0;
    unsigned empty = 0;

    while (done < len && box_running(b)) {
        uint32_t chunk;
        MemTxResult r;

        if (!b->picb) {
            if (++empty > BD_ENTRIES || !box_next(s, n)) {
                if (empty > BD_ENTRIES) {
                    box_halt(s, n, 0);
                }
                break;
            }
            continue;
        }
        empty = 0;
        chunk = MIN(len - done, b->picb * 2u) & ~1u;
        if (!chunk) {
            break;
        }
        r = out ? pci_dma_read(&s->parent, b->bd_addr, buf + done, chunk)
                : pci_dma_write(&s->parent, b->bd_addr, buf + done, chunk);
        if (r) {
            box_halt(s, n, SR_FIFOE);
            break;
        }
        b->bd_addr += chunk;
        b->picb -= chunk / 2;
        done += chunk;
        if (!b->picb) {
            box_next(s, n);
        }
    }
    return done;
}

static void ac97_out_cb(void *opaque, int avail)
{
    AC97State *s = opaque;
    uint8_t buf[4096];

    while (avail >= 4 && box_running(&s->box[BOX_PO])) {
        uint32_t want = MIN((uint32_t)avail, sizeof(buf)) & ~3u;
        uint32_t got = box_dma(s, BOX_PO, buf, want, true);

        if (!got) {
            break;
        }
        AUD_write(s->voice_po, buf, got);
        avail -= got;
    }
}

static void ac97_in_common(AC97State *s, unsigned n, SWVoiceIn *sw,
                           int avail)
{
    uint8_t buf[4096];

    while (avail > 0 && box_running(&s->box[n])) {
        size_t got = AUD_read(sw, buf, MIN((size_t)avail, sizeof(buf)));

        if (!got || !box_dma(s, n, buf, got, false)) {
            break;
        }
        avail -= got;
    }
}

static void ac97_in_cb(void *opaque, int avail)
{
    AC97State *s = opaque;

    ac97_in_common(s, BOX_PI, s->voice_pi, avail);
}

static void ac97_mc_cb(void *opaque, int avail)
{
    AC97State *s = opaque;

    ac97_in_common(s, BOX_MC, s->voice_mc, avail);
}

/* ---- NABMBAR ----------------------------------------------------------- */

static void box_reset(AC97State *s, unsigned n)
{
    AC97Box *b = &s->box[n];

    if (s->active[n]) {
        ac97_set_active(s, n, false);
    }
    memset(b, 0, sizeof(*b));
    b->sr = SR_DCH;
}

static uint64_t nabm_read(void *opaque, uint64_t addr, unsigned size)
{
    AC97State *s = opaque;
    unsigned n = addr / 0x10, off = addr % 0x10;
    AC97Box *b;
    uint32_t v;

    if (addr >= GLOB_CNT) {
        switch (addr) {
        case GLOB_CNT:
            return s->glob_cnt;
        case GLOB_STA:
            return s->glob_sta;
        case CAS:
            /* reading the semaphore takes it */
            v = s->cas;
            s->cas = 1;
            return v;
        }
        return 0;
    }
    if (n >= BOXES) {
        return 0;
    }
    b = &s->box[n];
    switch (off) {
    case BOX_BDBAR:
        return size == 4 ? b->bdbar : 0;
    case BOX_CIV:
        /* a 32-bit read returns CIV, LVI and SR */
        if (size == 4) {
            return b->civ | b->lvi << 8 | (uint32_t)b->sr << 16;
        }
        if (size == 2) {
            return b->civ | b->lvi << 8;
        }
        return b->civ;
    case BOX_LVI:
        return b->lvi;
    case BOX_SR:
        return b->sr;
    case BOX_PICB:
        if (size == 4) {
            return b->picb | b->piv << 16 | (uint32_t)b->cr << 24;
        }
        return b->picb;
    case BOX_PIV:
        return size == 2 ? (b->piv | b->cr << 8) : b->piv;
    case BOX_CR:
        return b->cr;
    }
    return 0;
}

static void box_write_cr(AC97State *s, unsigned n, uint8_t val)
{
    AC97Box *b = &s->box[n];

    if (val & CR_RR) {
        box_reset(s, n);
        ac97_update_irq(s);
        return;
    }
    b->cr = val & CR_MASK;
    if ((b->cr & CR_RPBM) && (b->sr & SR_DCH) && !(b->sr & SR_CELV)) {
        /* start: fetch the descriptor at CIV */
        b->sr &= ~SR_DCH;
        b->piv = (b->civ + 1) % BD_ENTRIES;
        if (!fetch_bd(s, b)) {
            b->sr |= SR_DCH | SR_FIFOE;
        }
    } else if (!(b->cr & CR_RPBM)) {
        b->sr |= SR_DCH;
    }
    ac97_update_active(s, n);
    ac97_update_irq(s);
}

static void box_write_lvi(AC97State *s, unsigned n, uint8_t val)
{
    AC97Box *b = &s->box[n];

    b->lvi = val % BD_ENTRIES;
    if ((b->cr & CR_RPBM) && (b->sr & SR_DCH) && (b->sr & SR_CELV) &&
        b->civ != b->lvi) {
        /* halted at the old last buffer: go on with the next */
        b->sr &= ~(SR_DCH | SR_CELV);
        b->civ = b->piv;
        b->piv = (b->piv + 1) % BD_ENTRIES;
        if (!fetch_bd(s, b)) {
            b->sr |= SR_DCH | SR_FIFOE;
        }
        ac97_update_active(s, n);
    }
}

static void box_write_sr(AC97State *s, unsigned n, uint16_t val)
{
    s->box[n].sr &= ~(val & SR_WCLEAR);
    ac97_update_irq(s);
}

static void nabm_write(void *opaque, uint64_t addr, uint64_t val,
                       unsigned size)
{
    AC97State *s = opaque;
    unsigned n = addr / 0x10, off = addr % 0x10;

    if (addr >= GLOB_CNT) {
        switch (addr) {
        case GLOB_CNT:
            if (val & GC_WR) {
                /* warm reset: nothing to redo, the link stays up */
                val &= ~GC_WR;
            }
            if (!(val & GC_CR)) {
                /* cold reset asserted: the codec loses its settings */
                s->glob_sta &= ~GS_PCR;
            } else {
                s->glob_sta |= GS_PCR;
            }
            s->glob_cnt = val & GC_VALID_MASK;
            break;
        case GLOB_STA:
            s->glob_sta &= ~(val & GS_WCLEAR);
            break;
        case CAS:
            s->cas = 0;
            break;
        }
        return;
    }
    if (n >= BOXES) {
        return;
    }
    switch (off) {
    case BOX_BDBAR:
        if (size == 4) {
            s->box[n].bdbar = val & ~7u;
        }
        break;
    case BOX_CIV:           /* read-only; a word/dword write reaches LVI */
        if (size >= 2) {
            box_write_lvi(s, n, val >> 8);
        }
        break;
    case BOX_LVI:
        box_write_lvi(s, n, val);
        if (size >= 2) {
            box_write_sr(s, n, val >> 8);
        }
        break;
    case BOX_SR:
        box_write_sr(s, n, val);
        break;
    case BOX_PIV:
        if (size == 2) {
            box_write_cr(s, n, val >> 8);
        }
        break;
    case BOX_CR:
        box_write_cr(s, n, val);
        break;
    }
}

/* ---- NAMBAR (the codec's mixer) ---------------------------------------- */

static void mixer_reset(AC97State *s)
{
    static const struct { uint8_t reg; uint16_t val; } defaults[] = {
        { AC97_MASTER, 0x8000 }, { AC97_HEADPHONE, 0x8000 },
        { AC97_MASTER_MONO, 0x8000 }, { AC97_PHONE, 0x8008 },
        { AC97_MIC, 0x8008 }, { AC97_LINE_IN, 0x8808 }, { AC97_CD, 0x8808 },
        { AC97_VIDEO, 0x8808 }, { AC97_AUX, 0x8808 },
        { AC97_PCM_OUT, 0x8808 }, { AC97_RECORD_GAIN, 0x8000 },
        { AC97_RECORD_GAIN_MIC, 0x8000 }, { AC97_POWERDOWN, 0x000f },
        { AC97_EXT_AUDIO_ID, 0x0809 },
        { AC97_PCM_FRONT_RATE, 48000 }, { AC97_PCM_LR_ADC_RATE, 48000 },
        { AC97_MIC_ADC_RATE, 48000 }, { AC97_VENDOR_ID1, 0x8384 },
        { AC97_VENDOR_ID2, 0x7600 },
    };

    /* VRA and VRM are off after a reset (Extended Audio Status/Control
     * 0): fixed 48 kHz */
    memset(s->mixer, 0, sizeof(s->mixer));
    for (size_t i = 0; i < G_N_ELEMENTS(defaults); i++) {
        mixer_set(s, defaults[i].reg, defaults[i].val);
    }
}

static uint64_t nam_read(void *opaque, uint64_t addr, unsigned size)
{
    AC97State *s = opaque;

    if (size != 2) {
        return UINT16_MAX;      /* the codec answers 16-bit accesses only */
    }
    return mixer_get(s, addr);
}

static void rate_changed(AC97State *s, unsigned box)
{
    if (s->active[box]) {
        ac97_open_voice(s, box);
    }
}

static void nam_write(void *opaque, uint64_t addr, uint64_t val,
                      unsigned size)
{
    AC97State *s = opaque;
    uint16_t v = val;

    if (size != 2 || addr >= NAM_SIZE || (addr & 1)) {
        return;
    }
    switch (addr) {
    case AC97_RESET:
        for (unsigned i = 0; i < BOXES; i++) {
            if (s->active[i]) {
                ac97_set_active(s, i, false);
            }
        }
        mixer_reset(s);
        for (unsigned i = 0; i < BOXES; i++) {
            ac97_update_active(s, i);
        }
        ac97_update_volume(s);
        return;
    case AC97_POWERDOWN:
        /* the ready bits (3:0) are status */
        mixer_set(s, addr, (v & 0xff00) | 0x000f);
        return;
    case AC97_EXT_AUDIO_ID:
    case AC97_VENDOR_ID1:
    case AC97_VENDOR_ID2:
        return;                 /* read-only */
    case AC97_EXT_AUDIO_CTL:
        mixer_set(s, addr, v & (EACS_VRA | EACS_VRM));
        if (!(v & EACS_VRA)) {
            mixer_set(s, AC97_PCM_FRONT_RATE, 48000);
            mixer_set(s, AC97_PCM_LR_ADC_RATE, 48000);
            rate_changed(s, BOX_PO);
            rate_changed(s, BOX_PI);
        }
        if (!(v & EACS_VRM)) {
            mixer_set(s, AC97_MIC_ADC_RATE, 48000);
            rate_changed(s, BOX_MC);
        }
        return;
    case AC97_PCM_FRONT_RATE:
    case AC97_PCM_LR_ADC_RATE:
    case AC97_MIC_ADC_RATE: {
        unsigned box = addr == AC97_PCM_FRONT_RATE ? BOX_PO :
                       addr == AC97_PCM_LR_ADC_RATE ? BOX_PI : BOX_MC;
        uint16_t need = box == BOX_MC ? EACS_VRM : EACS_VRA;

        if (mixer_get(s, AC97_EXT_AUDIO_CTL) & need) {
            /* the codec clamps to what it can do */
            mixer_set(s, addr, MAX(MIN(v, 48000), 8000));
            rate_changed(s, box);
        }
        return;
    }
    }
    mixer_set(s, addr, v);
    if (addr == AC97_MASTER || addr == AC97_PCM_OUT) {
        ac97_update_volume(s);
    }
}

static const MemoryRegionOps nam_ops = {
    .read = nam_read,
    .write = nam_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

static const MemoryRegionOps nabm_ops = {
    .read = nabm_read,
    .write = nabm_write,
    .min_access_size = 1,
    .max_access_size = 4,
};

/* ---- life cycle -------------------------------------------------------- */

static bool ac97_realize(DeviceState *dev, GError **errp)
{
    AC97State *s = (AC97State *)dev;

    s->audio = audio_state_for_device(s->audiodev, "AC97", errp);
    if (!s->audio) {
        return false;
    }
    memory_region_init_io(&s->nam, &nam_ops, s, "ac97-nam", NAM_SIZE);
    memory_region_init_io(&s->nabm, &nabm_ops, s, "ac97-nabm", NABM_SIZE);
    pci_register_bar(&s->parent, 0, PCI_BASE_ADDRESS_SPACE_IO, &s->nam);
    pci_register_bar(&s->parent, 1, PCI_BASE_ADDRESS_SPACE_IO, &s->nabm);
    return true;
}

static void ac97_unrealize(DeviceState *dev)
{
    AC97State *s = (AC97State *)dev;

    AUD_close_out(s->audio, s->voice_po);
    AUD_close_in(s->audio, s->voice_pi);
    AUD_close_in(s->audio, s->voice_mc);
    memory_region_destroy(&s->nam);
    memory_region_destroy(&s->nabm);
}

static void ac97_reset(DeviceState *dev)
{
    AC97State *s = (AC97State *)dev;

    for (unsigned i = 0; i < BOXES; i++) {
        box_reset(s, i);
    }
    s->glob_cnt = 0;
    s->glob_sta = GS_PCR;       /* the primary codec is ready */
    s->cas = 0;
    mixer_reset(s);
    ac97_update_volume(s);
    pci_set_irq(&s->parent, 0);
}

static int ac97_post_load(void *opaque, int version_id)
{
    AC97State *s = opaque;

    for (unsigned i = 0; i < BOXES; i++) {
        AC97Box *b = &s->box[i];

        b->civ %= BD_ENTRIES;
        b->lvi %= BD_ENTRIES;
        b->piv %= BD_ENTRIES;
        s->active[i] = false;
        ac97_update_active(s, i);
    }
    ac97_update_volume(s);
    ac97_update_irq(s);
    return 0;
}

static const VMStateDescription vmstate_ac97_box = {
    .name = "ac97-box",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(bdbar, AC97Box),
        VMSTATE_UINT8(civ, AC97Box),
        VMSTATE_UINT8(lvi, AC97Box),
        VMSTATE_UINT8(piv, AC97Box),
        VMSTATE_UINT8(cr, AC97Box),
        VMSTATE_UINT16(sr, AC97Box),
        VMSTATE_UINT16(picb, AC97Box),
        VMSTATE_UINT32(bd_addr, AC97Box),
        VMSTATE_UINT32(bd_ctl, AC97Box),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription vmstate_ac97 = {
    .name = "ac97",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = ac97_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16_ARRAY(mixer, AC97State, NAM_SIZE / 2),
        VMSTATE_STRUCT_ARRAY(box, AC97State, BOXES, vmstate_ac97_box,
                             AC97Box),
        VMSTATE_UINT32(glob_cnt, AC97State),
        VMSTATE_UINT32(glob_sta, AC97State),
        VMSTATE_UINT32(cas, AC97State),
        VMSTATE_END_OF_LIST()
    },
};

static const Property ac97_props[] = {
    DEFINE_PROP("audiodev", AC97State, audiodev, PROP_STRING, NULL,
                "audiodev id (default: the only one, else none)"),
    DEFINE_PROP_END_OF_LIST(),
};

static const PCIDeviceClass ac97_class = {
    .vendor_id = PCI_VENDOR_ID_INTEL,
    .device_id = 0x2415,
    .revision = 0x01,
    .class_id = 0x0401,         /* multimedia: audio */
    .subsystem_vendor_id = 0x8086,
    .subsystem_id = 0x0000,
    .status = 0x0280,           /* fast back-to-back, medium DEVSEL */
    .interrupt_pin = 1,
};

static const DeviceType ac97_type = {
    .name = "AC97",
    .parent = TYPE_PCI_DEVICE,
    .desc = "Intel 82801AA AC97 Audio",
    .instance_size = sizeof(AC97State),
    .user_creatable = true,
    .category = DEVICE_CATEGORY_SOUND,
    .props = ac97_props,
    .realize = ac97_realize,
    .unrealize = ac97_unrealize,
    .reset = ac97_reset,
    .vmsd = &vmstate_ac97,
    .class_data = &ac97_class,
};

static void ac97_register_types(void)
{
    device_type_register(&ac97_type);
}
type_init(ac97_register_types)
