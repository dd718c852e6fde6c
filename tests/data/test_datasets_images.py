"""Hostile and unusual image files: skipped with a reason, or converted to the RGB a viewer sees."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tinyemo_audit.cli.datasets import datasets_app
from tinyemo_audit.data.images import SkippedImage, decode_image, read_images
from tinyemo_audit.data.registry import load_dataset
from tinyemo_audit.errors import InputError, UsageError
from fixture_files import png_claiming

SIZE = 8


def save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def reason(path: Path, **kwargs) -> str:
    with pytest.raises(SkippedImage) as err:
        decode_image(path, SIZE, **kwargs)
    return str(err.value)


def test_zero_byte_truncated_and_non_image_files_are_skipped_with_reasons(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "text.jpg"
    text.write_text("not an image at all")
    full = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(full, format="JPEG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    png = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(png, format="PNG")
    truncated_png = tmp_path / "truncated.png"
    truncated_png.write_bytes(png.getvalue()[:200])
    assert reason(empty) == "empty file (0 bytes)"
    assert reason(text) == "not an image Pillow can read"
    assert reason(truncated).startswith("truncated image")
    assert reason(truncated_png).startswith(("truncated image", "cannot decode image"))
    assert reason(tmp_path / "absent.jpg").startswith("cannot read file")


def test_decompression_bombs_are_refused_from_their_header(tmp_path):
    limit = Image.MAX_IMAGE_PIXELS
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(100_000, 100_000))
    assert "decompression-bomb guard" in reason(bomb)
    moderate = save(Image.new("RGB", (200, 200)), tmp_path / "big.png")
    assert "200x200 pixels exceeds the limit of 10000" in reason(moderate, max_pixels=10_000)
    assert decode_image(moderate, SIZE).shape == (SIZE, SIZE, 3)
    assert Image.MAX_IMAGE_PIXELS == limit  # the global guard is left as it was


def test_modes_convert_to_the_rgb_a_viewer_sees(tmp_path):
    red = (200, 30, 30)
    cmyk = save(Image.new("RGB", (16, 16), red).convert("CMYK"), tmp_path / "cmyk.jpg", quality=95)
    assert Image.open(cmyk).mode == "CMYK"
    np.testing.assert_allclose(decode_image(cmyk, SIZE)[4, 4], red, atol=6)

    grey16 = save(Image.fromarray(np.full((16, 16), 128 * 257, dtype=np.uint16)), tmp_path / "grey16.png")
    assert Image.open(grey16).mode.startswith("I")
    assert (decode_image(grey16, SIZE) == 128).all()  # not clipped to white

    palette = save(Image.new("RGB", (16, 16), red).convert("P", palette=Image.Palette.ADAPTIVE), tmp_path / "p.png")
    assert Image.open(palette).mode == "P"
    np.testing.assert_array_equal(decode_image(palette, SIZE)[0, 0], red)

    rgba = np.zeros((16, 16, 4), dtype=np.uint8)  # fully transparent black ...
    rgba[:, :8] = (0, 0, 255, 255)  # ... with an opaque blue left half
    rgba_path = save(Image.fromarray(rgba, "RGBA"), tmp_path / "rgba.png")
    decoded = decode_image(rgba_path, 16, fit="stretch")
    np.testing.assert_array_equal(decoded[8, 2], (0, 0, 255))
    np.testing.assert_array_equal(decoded[8, 13], (255, 255, 255))  # transparent → white, not black

    la = save(Image.fromarray(np.dstack([np.full((16, 16), 50, np.uint8), np.zeros((16, 16), np.uint8)]), "LA"),
              tmp_path / "la.png")
    assert (decode_image(la, SIZE) == 255).all()

    transparent_p = Image.new("P", (16, 16), 0)
    transparent_p.putpalette([0, 0, 0, 10, 200, 10])
    transparent_p.paste(1, (0, 0, 8, 16))
    p_path = save(transparent_p, tmp_path / "pt.png", transparency=0)
    decoded = decode_image(p_path, 16, fit="stretch")
    np.testing.assert_array_equal(decoded[8, 2], (10, 200, 10))
    np.testing.assert_array_equal(decoded[8, 13], (255, 255, 255))

    grey = save(Image.new("L", (30, 10), 77), tmp_path / "grey.bmp")
    out = decode_image(grey, SIZE)
    assert out.shape == (SIZE, SIZE, 3) and out.dtype == np.uint8 and (out == 77).all()


def test_fit_modes_keep_or_ignore_the_aspect_ratio(tmp_path):
    wide = np.zeros((10, 40, 3), dtype=np.uint8)
    wide[:, :10] = 255  # a white left quarter
    path = save(Image.fromarray(wide), tmp_path / "wide.png")
    crop = decode_image(path, 10, fit="crop")
    assert (crop == 0).all()  # the centre crop has no white
    pad = decode_image(path, 40, fit="pad")
    assert (pad[0] == 255).all() and (pad[20, 20] == 0).all()  # letterboxed on white
    stretch = decode_image(path, 20, fit="stretch")
    assert stretch[10, 1].min() > 200 and stretch[10, 15].max() < 50
    with pytest.raises(UsageError, match="unknown image fit"):
        read_images([path], 10, fit="squash")


def test_read_images_keeps_order_and_reports_per_path(tmp_path):
    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.png"
        if i == 2:
            path.write_bytes(b"\x89PNG garbage")
        else:
            save(Image.new("RGB", (5, 5), (i * 40, 0, 0)), path)
        paths.append(path)
    images, ok, reasons = read_images(paths, 4, workers=2)
    assert ok.tolist() == [True, True, False, True, True, True]
    assert [r is None for r in reasons] == ok.tolist()
    assert images[:, 0, 0, 0].tolist() == [0, 40, 120, 160, 200]


def test_a_folder_of_hostile_files_is_counted_never_crashes(tmp_path):
    folder = tmp_path / "test" / "joy"
    folder.mkdir(parents=True)
    save(Image.new("RGB", (8, 8), (1, 2, 3)), folder / "good.png")
    save(Image.new("RGB", (8, 8), (9, 9, 9)).convert("CMYK"), folder / "cmyk.jpg")
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "fake.png").write_text("hello")
    (folder / "bomb.png").write_bytes(png_claiming(50_000, 50_000))
    (folder / ".DS_Store").write_bytes(b"\0\0")
    result = CliRunner().invoke(datasets_app, ["inspect", f"emotion6:{tmp_path}", "--json", "--split", "test"])
    assert result.exit_code == 0, result.output
    test = json.loads(result.output)["splits"]["test"]
    assert test["n"] == 2 and test["labels"]["joy"] == 2
    reasons = {Path(s["path"]).name: s["reason"] for s in test["skipped"]}
    assert set(reasons) == {"zero.jpg", "fake.png", "bomb.png"}
    assert "decompression-bomb" in reasons["bomb.png"]


def test_a_folder_with_no_usable_image_is_an_input_error(tmp_path):
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "a.jpg").write_bytes(b"")
    with pytest.raises(InputError, match="no usable images .* 1 skipped; first: empty file"):
        load_dataset(f"imagefolder:{tmp_path}", "test")


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((10, 20, 3), dtype=np.uint8)
    pixels[:, :10] = 255  # white left half as stored
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    path = save(image, tmp_path / "rotated.jpg", exif=exif, quality=95)
    decoded = decode_image(path, 20, fit="stretch")
    assert decoded[2, 10].min() > 200 and decoded[17, 10].max() < 50  # white on top once rotated
