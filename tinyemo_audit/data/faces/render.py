"""Drawing one face from a parameter row: FACS-style expression controls on a procedural head."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .attributes import BACKGROUND_RGB, CLOTHING_RGB, EXPRESSIONS, GREY_HAIR, HAIR_RGB, SKIN_RGB, hex_rgb

# Bump whenever a change here alters any pixel: it is part of every faces cache fingerprint.
RENDERER_VERSION = 4
SUPERSAMPLE = 4

# Expression controls at full intensity, one row per expression (EXPRESSIONS order). Columns map to
# FACS action units: brow_inner = AU1, brow_outer = AU2, brow_lower = AU4 (lowers and knits the
# brows), eye_open = AU5 (+) / lid narrowing (-), lid_angry = AU7 glare (upper lid slanted down at
# the nose), lid_sad = drooping outer lids, lower_lid = AU6 cheek raise pushing the lower lid up,
# nose_wrinkle = AU9, upper_lip = AU10, corner = AU12 (+) / AU15 (-), jaw = AU25/26/27 mouth opening,
# stretch = AU20 lip stretch (+) / lip pucker towards an O (-), press = AU23/24 lip press,
# round = how oval the opening is (surprise O), teeth = how much of the teeth shows when open.
CONTROLS = (
    "brow_inner", "brow_outer", "brow_lower", "eye_open", "lid_angry", "lid_sad", "lower_lid",
    "nose_wrinkle", "upper_lip", "corner", "jaw", "stretch", "press", "round", "teeth",
)
_TABLE = {
    #            bi    bo    bl    eo    la    ls    ll    nw    ul    co    ja    st    pr    ro    te
    "angry":   (0.0,  0.0,  1.0,  0.15, 1.0,  0.0,  0.3,  0.25, 0.0, -0.25, 0.0, -0.25, 1.0,  0.0,  0.0),
    "disgust": (0.0,  0.0,  0.55, -0.3, 0.2,  0.0,  0.6,  1.0,  1.0, -0.8,  0.28, 0.1,  0.0,  0.0,  1.0),
    "fear":    (1.0,  0.55, 0.6,  1.0,  0.0,  0.0,  0.0,  0.0,  0.0, -0.35, 0.55, 0.7,  0.0,  0.0,  1.0),
    "happy":   (0.1,  0.1,  0.0, -0.35, 0.0,  0.0,  1.0,  0.0,  0.0,  1.0,  0.35, 0.45, 0.0,  0.0,  1.0),
    "sad":     (1.0, -0.35, 0.55, -0.2, 0.0,  1.0,  0.0,  0.0,  0.0, -1.0,  0.0, -0.05, 0.3,  0.0,  0.0),
    "surprise": (1.0, 1.0,  0.0,  1.0,  0.0,  0.0,  0.0,  0.0,  0.0,  0.0,  1.0, -0.5,  0.0,  1.0,  0.15),
    "neutral": (0.0,  0.0,  0.0,  0.0,  0.0,  0.0,  0.0,  0.0,  0.0,  0.0,  0.0,  0.0,  0.0,  0.0,  0.0),
}
EXPRESSION_CONTROLS = np.array([_TABLE[e] for e in EXPRESSIONS], dtype=np.float64)

_EYE_WHITE = np.array((244.0, 243.0, 238.0))
_GLINT = np.array((250.0, 250.0, 250.0))
_IRIS = np.array([(72, 46, 30), (40, 28, 22), (70, 100, 140), (80, 110, 70)], dtype=np.float64)
_MOUTH_INSIDE = np.array((70.0, 18.0, 24.0))
_TEETH = np.array((240.0, 236.0, 226.0))
_GLASSES = (30, 30, 34)
_GREY = hex_rgb(GREY_HAIR)


def _rgb(a: np.ndarray) -> tuple[int, int, int]:
    a = np.clip(np.rint(a), 0, 255)
    return int(a[0]), int(a[1]), int(a[2])


def _mix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return a * (1.0 - t) + b * t


_LUMA = np.array((0.299, 0.587, 0.114))
# Every feature of a face is the face's own skin colour plus a fixed RGB offset: the same offset on
# every skin tone, so that an expression changes exactly the same pixel values on every swatch and a
# stack trained on clean labels has nothing tone-dependent to learn. Dark features (lines, creases,
# shading, brows, lips, iris, pupil, the open mouth) lie ``strength * MARK_CONTRAST`` grey levels of
# luminance below the skin; bright ones (the whites of the eyes, teeth, the eye's glint)
# ``BRIGHT_CONTRAST`` levels above it; a feature's colour only tints its offset.
# History: v1 drew marks as a fraction of the skin's brightness (77 levels on MST-1, 12 on MST-10);
# v2-v3 kept them in a 64-96-level band of luminance, which still gave light skin half again the
# contrast of dark skin, while white eyes and teeth stood out far more on dark skin than on light.
MARK_CONTRAST = 64.0
BRIGHT_CONTRAST = 50.0
# Faces are recorded with a flat tone curve, the way a photographer exposes a mixed group: skin
# luminance is mapped linearly from the palette's range onto [LIT_SKIN_LOW, LIT_SKIN_HIGH], which
# leaves room for the deepest mark below the darkest skin and for white eyes and teeth above the
# lightest, with headroom for the lighting gain. The order and hue of the swatches are kept.
LIT_SKIN_LOW = 85.0
LIT_SKIN_HIGH = 175.0


def _luma(rgb: np.ndarray) -> float:
    return float(rgb @ _LUMA)


_PALETTE_LUMA = (min(_luma(s) for s in SKIN_RGB), max(_luma(s) for s in SKIN_RGB))


def lit_skin(swatch: np.ndarray) -> np.ndarray:
    """The skin colour a face of ``swatch`` is recorded with (the flat tone curve above)."""
    low, high = _PALETTE_LUMA
    lum = _luma(swatch)
    target = LIT_SKIN_LOW + (lum - low) * (LIT_SKIN_HIGH - LIT_SKIN_LOW) / (high - low)
    return swatch * (target / lum)


def _tint(hue: np.ndarray | None, darker: bool) -> np.ndarray:
    """Per-channel weights of luminance 1 that give an offset ``hue``'s colour: grey for ``None``.

    A darker feature loses less of the channels its hue is rich in; a brighter one gains more.
    """
    if hue is None:
        return np.ones(3)
    w = np.asarray(hue, dtype=np.float64) / _luma(hue)
    return 1.5 - 0.5 * w if darker else 0.5 + 0.5 * w


def feature_offset(levels: float, hue: np.ndarray | None = None) -> np.ndarray:
    """The RGB offset of a feature from the skin: ``levels`` grey levels of luminance (negative:
    darker), tinted toward ``hue``. The same on every skin tone."""
    return levels * _tint(hue, darker=levels < 0)


def _mark(skin: np.ndarray, strength: float, hue: np.ndarray | None = None) -> np.ndarray:
    """A dark feature drawn on ``skin``: ``strength * MARK_CONTRAST`` levels below it."""
    return skin + feature_offset(-strength * MARK_CONTRAST, hue)


def _bright(skin: np.ndarray, hue: np.ndarray) -> np.ndarray:
    """A white feature, ``BRIGHT_CONTRAST`` levels above ``skin``."""
    return skin + feature_offset(BRIGHT_CONTRAST, hue)


def _ellipse(draw: ImageDraw.ImageDraw, x: float, y: float, rx: float, ry: float, **kw: Any) -> None:
    draw.ellipse((x - rx, y - ry, x + rx, y + ry), **kw)


_XS = np.linspace(-1.0, 1.0, 17)


def _draw_mouth(draw, mx, my, fw, c, inside_rgb, teeth_rgb, lip, ink, feminine, age):
    """Lips, opening and teeth from the mouth controls (all lengths in canvas pixels)."""
    mw = fw * (0.30 if age else 0.28) * (1.0 + 0.35 * c["stretch"]) * c["mouth_w"]
    # The chin stays put (a dropping chin would uncover background, whose contrast to the skin
    # depends on the tone); a child's smaller mouth opens less so that it stays inside the face.
    open_amt = fw * (0.36 if age == 0 else 0.40) * c["jaw"]
    corner_y = my - fw * 0.14 * c["corner"] + fw * 0.03 * c["jaw"]
    top_mid = my - 0.22 * open_amt - fw * 0.10 * c["upper_lip"]
    bottom_mid = my + open_amt
    e_top = 1.0 - 0.5 * c["round"]
    e_bot = 1.0 - 0.5 * max(c["round"], 0.5 * c["jaw"])
    g = 1.0 - _XS**2
    top = corner_y + (top_mid - corner_y) * g**e_top
    bottom = corner_y + (bottom_mid - corner_y) * g**e_bot
    xs = mx + mw * _XS
    press = 1.0 - 0.85 * c["press"]
    t_up = fw * (0.075 if feminine else 0.055) * press
    t_lo = fw * (0.095 if feminine else 0.075) * press
    g_half = np.sqrt(g)
    lips = list(zip(xs, top - t_up * g_half)) + list(zip(xs[::-1], (bottom + t_lo * g_half)[::-1]))
    draw.polygon(lips, fill=_rgb(lip))
    gap = float(bottom_mid - top_mid)
    if gap > fw * 0.035:
        inside = list(zip(xs, top)) + list(zip(xs[::-1], bottom[::-1]))
        draw.polygon(inside, fill=inside_rgb)
        if c["teeth"] > 0:
            teeth_h = np.minimum(top + fw * 0.09 * c["teeth"], (top + bottom) / 2)
            k = slice(3, 14)
            band = list(zip(xs[k], top[k] + 0.5)) + list(zip(xs[k][::-1], teeth_h[k][::-1]))
            draw.polygon(band, fill=teeth_rgb)
    else:
        mid = (top + bottom) / 2
        draw.line(list(zip(xs, mid)), fill=_rgb(ink), width=max(1, int(fw * 0.03)), joint="curve")
    return mw, corner_y


def render_face(p: dict[str, Any], size: int) -> np.ndarray:
    """Draw one face (before lighting and noise) at ``SUPERSAMPLE`` times ``size`` and downsample.

    Parameters
    ----------
    p : dict
        One parameter row (see ``corpus.sample_parameters``): category indices and continuous
        controls.
    size : int
        Output side length in pixels.

    Returns
    -------
    ndarray of float32, shape (size, size, 3)
        Linear RGB in [0, 255].
    """
    W = size * SUPERSAMPLE
    bg = BACKGROUND_RGB[p["background"]]
    img = Image.new("RGB", (W, W), _rgb(bg))
    draw = ImageDraw.Draw(img)

    age = int(p["age"])  # 0 child, 1 adult, 2 older
    feminine = int(p["gender"]) == 0
    child, older = age == 0, age == 2
    intensity = float(p["intensity"])
    ctrl = EXPRESSION_CONTROLS[int(p["expression"])] * intensity
    c = dict(zip(CONTROLS, ctrl))
    c["round"] = EXPRESSION_CONTROLS[int(p["expression"])][CONTROLS.index("round")]
    c["teeth"] = EXPRESSION_CONTROLS[int(p["expression"])][CONTROLS.index("teeth")]
    c["mouth_w"] = float(p["mouth_w"])

    skin = lit_skin(SKIN_RGB[p["skin_tone"]])

    def mark(strength: float, hue: np.ndarray | None = None) -> np.ndarray:
        return _mark(skin, strength, hue)

    shade = mark(0.3)
    ink = mark(1.0)
    hair = HAIR_RGB[p["hair_color"]]
    if older:
        hair = _mix(hair, _GREY, 0.8)
    brow_rgb = mark(0.75, hair)
    lip = mark(0.35, np.array((185.0, 70.0, 85.0)) if feminine else np.array((150.0, 100.0, 95.0)))
    cloth = CLOTHING_RGB[p["clothing"]]

    scale = float(p["scale"])
    fw = W * 0.27 * scale
    fh = fw * (1.12 if child else 1.28) * float(p["face_aspect"])
    cx = W * (0.5 + float(p["dx"]))
    cy = W * (0.47 + float(p["dy"])) + (fw * 0.08 if child else 0.0)

    # Body and hair behind the head.
    _ellipse(draw, cx, cy + fh * 1.95, fw * 1.75, fh * 0.95, fill=_rgb(cloth))
    draw.rectangle((cx - fw * 0.38, cy + fh * 0.5, cx + fw * 0.38, cy + fh * 1.2), fill=_rgb(shade))
    long_hair = feminine
    if long_hair:
        drop = fh * (0.75 if child else 1.05)
        top = cy - fh * 1.12
        draw.ellipse((cx - fw * 1.2, top, cx + fw * 1.2, cy + drop), fill=_rgb(hair))
    # Ears, then the face itself.
    ear_y = cy - fh * 0.02
    for s in (-1, 1):
        _ellipse(draw, cx + s * fw * 0.97, ear_y, fw * 0.13, fh * 0.17, fill=_rgb(shade))
    draw.ellipse((cx - fw, cy - fh, cx + fw, cy + fh), fill=_rgb(skin))
    if not feminine and not child:
        jaw = [
            (cx - fw * 0.97, cy + fh * 0.05), (cx - fw * 0.86, cy + fh * 0.72),
            (cx - fw * 0.45, cy + fh * 0.97), (cx + fw * 0.45, cy + fh * 0.97),
            (cx + fw * 0.86, cy + fh * 0.72), (cx + fw * 0.97, cy + fh * 0.05),
        ]
        draw.polygon(jaw, fill=_rgb(skin))
        if p["beard"]:
            beard = mark(0.8, hair)
            draw.chord(
                (cx - fw * 0.97, cy - fh * 0.75, cx + fw * 0.97, cy + fh * 0.99),
                start=25, end=155, fill=_rgb(beard),
            )

    eye_y = cy - fh * (0.02 if child else 0.10)
    eye_dx = fw * 0.40 * float(p["eye_spacing"])
    ew = fw * (0.22 if child else 0.18) * float(p["eye_size"])
    nose_y = eye_y + fw * (0.36 if child else 0.46) * float(p["nose_len"])
    mouth_y = nose_y + fw * (0.27 if child else 0.33)
    line_w = max(1, int(fw * 0.028))

    # Cheek raise (AU6) and the nasolabial folds that deepen with a smile or sneer.
    cheek_up = fw * 0.10 * c["lower_lid"]
    fold = max(c["lower_lid"], 0.7 * c["nose_wrinkle"], 0.45 if older else 0.0)
    mw_est = fw * 0.30 * (1.0 + 0.35 * c["stretch"])
    if fold > 0.05:
        fold_rgb = mark(0.25 + 0.45 * min(fold, 1.0))
        for s in (-1, 1):
            pts = [
                (cx + s * fw * 0.20, nose_y - fw * 0.02 - cheek_up * 0.3),
                (cx + s * (mw_est + fw * 0.10), nose_y + fw * 0.14),
                (cx + s * (mw_est + fw * 0.12), mouth_y + fw * 0.10),
            ]
            draw.line(pts, fill=_rgb(fold_rgb), width=line_w, joint="curve")
    if c["lower_lid"] > 0.2:
        blush = mark(0.2 * c["lower_lid"], np.array((215.0, 110.0, 110.0)))
        for s in (-1, 1):
            _ellipse(draw, cx + s * fw * 0.52, eye_y + fw * 0.42 - cheek_up, fw * 0.17, fw * 0.11, fill=_rgb(blush))

    # Nose: bridge shadow, nostrils, wrinkles (AU9).
    nose_up = fw * 0.05 * c["nose_wrinkle"]
    draw.line([(cx - fw * 0.04, eye_y + fw * 0.05), (cx - fw * 0.07, nose_y - nose_up - fw * 0.02)],
              fill=_rgb(shade), width=line_w)
    nost_w = fw * (0.045 + 0.02 * c["nose_wrinkle"])
    for s in (-1, 1):
        _ellipse(draw, cx + s * fw * 0.09, nose_y - nose_up, nost_w, fw * 0.03, fill=_rgb(ink))
    draw.arc((cx - fw * 0.16, nose_y - nose_up - fw * 0.12, cx + fw * 0.16, nose_y - nose_up + fw * 0.05),
             start=20, end=160, fill=_rgb(shade), width=line_w)
    if c["nose_wrinkle"] > 0.1:
        wr = _rgb(mark(0.4 + 0.5 * min(1.0, c["nose_wrinkle"])))
        for k in range(3):
            yy = eye_y + fw * (0.10 + 0.08 * k)
            draw.arc((cx - fw * 0.13, yy - fw * 0.04, cx + fw * 0.13, yy + fw * 0.04), start=200, end=340,
                     fill=wr, width=line_w)

    # Eyes.
    eh = ew * float(np.clip(0.58 + 0.38 * c["eye_open"], 0.16, 0.98))
    iris_rgb = _rgb(mark(0.6, _IRIS[int(p["iris"])]))
    pupil_rgb = _rgb(mark(1.0))
    white_rgb, glint_rgb = _rgb(_bright(skin, _EYE_WHITE)), _rgb(_bright(skin, _GLINT))
    for s in (-1, 1):
        ex = cx + s * eye_dx
        _ellipse(draw, ex, eye_y, ew, eh, fill=white_rgb, outline=_rgb(ink), width=max(1, line_w // 2))
        ir = min(ew * 0.5, eh * 1.02)
        _ellipse(draw, ex, eye_y, ir, ir, fill=iris_rgb)
        _ellipse(draw, ex, eye_y, ir * 0.45, ir * 0.45, fill=pupil_rgb)
        _ellipse(draw, ex + ir * 0.3, eye_y - ir * 0.3, ir * 0.18, ir * 0.18, fill=glint_rgb)
        if c["lower_lid"] > 0.02:
            lift = eh * (2.05 - 1.2 * min(c["lower_lid"], 1.0))
            _ellipse(draw, ex, eye_y + lift, ew * 1.25, eh * 1.05, fill=_rgb(skin))
            draw.arc((ex - ew * 1.1, eye_y + lift - eh * 1.05, ex + ew * 1.1, eye_y + lift + eh * 1.05),
                     start=200, end=340, fill=_rgb(mark(0.6)), width=line_w)
        inner, outer = ex - s * ew, ex + s * ew
        drop_in = eh * 1.1 * c["lid_angry"]
        drop_out = eh * 0.9 * c["lid_sad"]
        top = eye_y - eh
        if drop_in > 0.02 * ew or drop_out > 0.02 * ew:
            lid_in, lid_out = (inner, top + drop_in), (outer, top + drop_out)
            hi = top - eh * 1.2
            draw.polygon([lid_in, lid_out, (outer + s * ew * 0.3, hi), (inner - s * ew * 0.3, hi)], fill=_rgb(skin))
            draw.line([lid_in, lid_out], fill=_rgb(ink), width=line_w * (2 if feminine else 1) + 1)
        else:
            draw.arc((ex - ew, eye_y - eh, ex + ew, eye_y + eh), start=180, end=360, fill=_rgb(ink),
                     width=line_w * (2 if feminine else 1) + 1)
        if older:
            for k in (-1, 0, 1):
                draw.line([(outer + s * ew * 0.15, eye_y + k * ew * 0.2),
                           (outer + s * ew * 0.5, eye_y + k * ew * 0.35)], fill=_rgb(mark(0.35)), width=line_w)

    # Brows: inner/outer ends and arch driven by AU1, AU2 and AU4.
    brow_y = eye_y - fw * 0.27 - (eh - ew * 0.58) * 0.6
    brow_w = fw * (0.06 if feminine else 0.075) * float(p["brow_thick"])
    for s in (-1, 1):
        x_in = cx + s * fw * (0.15 - 0.05 * c["brow_lower"] + 0.03 * c["brow_inner"] * 0)
        x_out = cx + s * fw * 0.63
        y_in = brow_y - fw * 0.20 * c["brow_inner"] + fw * 0.17 * c["brow_lower"]
        y_out = brow_y - fw * 0.17 * c["brow_outer"] + fw * 0.02 * c["brow_lower"] - fw * 0.05 * c["lid_angry"]
        arch = fw * (0.05 + 0.09 * c["brow_outer"] * (1.0 - 0.5 * c["brow_inner"] * c["brow_lower"]))
        mid = ((x_in + x_out) / 2, (y_in + y_out) / 2 - arch)
        draw.line([(x_in, y_in), mid, (x_out, y_out)], fill=_rgb(brow_rgb), width=int(brow_w) + 1, joint="curve")
        if c["brow_lower"] > 0.3 and c["brow_inner"] < 0.3:
            draw.line([(cx - fw * 0.06, brow_y + fw * 0.02), (cx - fw * 0.04, brow_y + fw * 0.14)],
                      fill=_rgb(mark(0.5)), width=line_w)
            draw.line([(cx + fw * 0.06, brow_y + fw * 0.02), (cx + fw * 0.04, brow_y + fw * 0.14)],
                      fill=_rgb(mark(0.5)), width=line_w)
    if c["brow_inner"] > 0.3:
        wr = _rgb(mark(0.2 + 0.3 * c["brow_inner"]))
        for k in range(2):
            yy = brow_y - fw * (0.32 + 0.09 * k)
            draw.arc((cx - fw * 0.3, yy - fw * 0.05, cx + fw * 0.3, yy + fw * 0.05), start=200, end=340,
                     fill=wr, width=line_w)
    if older:
        for k in range(3):
            yy = brow_y - fw * (0.25 + 0.1 * k)
            draw.arc((cx - fw * 0.45, yy - fw * 0.06, cx + fw * 0.45, yy + fw * 0.06), start=200, end=340,
                     fill=_rgb(mark(0.3)), width=line_w)

    _draw_mouth(draw, cx, mouth_y, fw, c, _rgb(mark(1.0, _MOUTH_INSIDE)), _rgb(_bright(skin, _TEETH)), lip, ink, feminine, age)

    # Hair in front: a cap down to the hairline, curls as bumps along its edge.
    hairline = cy - fh * (0.58 if not older or feminine else 0.72) * float(p["hairline"])
    crown = cy - fh * (1.14 if feminine else 1.08)
    cap_w = fw * (1.10 if feminine else 1.04)
    draw.chord((cx - cap_w, crown, cx + cap_w, 2 * hairline - crown), start=180, end=360, fill=_rgb(hair))
    if feminine:
        for s in (-1, 1):
            draw.polygon([(cx + s * cap_w * 0.98, hairline - fh * 0.05), (cx + s * fw * 0.99, cy + fh * 0.35),
                          (cx + s * fw * 1.15, cy + fh * 0.2), (cx + s * cap_w, hairline - fh * 0.2)],
                         fill=_rgb(hair))
    if int(p["hair_style"]) == 1:
        r = fw * 0.13
        for a in np.linspace(math.pi * 1.05, math.pi * 1.95, 9):
            _ellipse(draw, cx + cap_w * math.cos(a), hairline + (hairline - crown) * math.sin(a), r, r,
                     fill=_rgb(hair))

    if int(p["glasses"]):
        gw = max(2, int(fw * 0.035))
        for s in (-1, 1):
            ex = cx + s * eye_dx
            draw.rounded_rectangle((ex - ew * 1.4, eye_y - ew * 0.95, ex + ew * 1.4, eye_y + ew * 0.95),
                                   radius=ew * 0.5, outline=_GLASSES, width=gw)
        draw.line([(cx - eye_dx + ew * 1.4, eye_y - ew * 0.3), (cx + eye_dx - ew * 1.4, eye_y - ew * 0.3)],
                  fill=_GLASSES, width=gw)

    tilt = float(p["tilt"])
    if abs(tilt) > 0.05:
        # Nearest is enough: the supersampled canvas is area-averaged next, and bicubic costs 40x.
        img = img.rotate(tilt, resample=Image.NEAREST, center=(cx, cy), fillcolor=_rgb(bg))
    small = img.reduce(SUPERSAMPLE)
    return np.asarray(small, dtype=np.float32)


def finish(face: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """Apply directional lighting and sensor noise to a rendered face; return uint8."""
    size = face.shape[0]
    t = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    a = float(p["light_angle"])
    ramp = math.cos(a) * t[None, :] + math.sin(a) * t[:, None]
    gain = float(p["brightness"]) * (1.0 + 2.0 * float(p["light_strength"]) * ramp)
    noise = np.random.default_rng(int(p["noise_seed"])).standard_normal(face.shape, dtype=np.float32)
    out = face * gain[:, :, None] + float(p["noise_sigma"]) * noise
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def render_rows(params, size: int, *, desc: str = "rendering faces") -> np.ndarray:
    """Render every row of a parameter table (lighting and noise included).

    Parameters
    ----------
    params : DataFrame
        Rows from ``params.sample_parameters``.
    size : int
        Side length in pixels.
    desc : str
        Label of the progress bar (shown on stderr for more than a few hundred faces).

    Returns
    -------
    ndarray of uint8, shape (len(params), size, size, 3)
    """
    from tqdm.auto import tqdm

    rows = params.to_dict("records")
    out = np.empty((len(rows), size, size, 3), dtype=np.uint8)
    # PIL draws one face at a time; everything around the drawing is vectorised.
    for i, p in enumerate(tqdm(rows, desc=desc, unit="face", disable=len(rows) < 300, leave=False)):
        out[i] = finish(render_face(p, size), p)
    return out
