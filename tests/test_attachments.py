"""Tests for content.attachments: what members may attach, and how it is cleaned and stored.

Every test file is made here in code (Pillow for images, pypdf's ``PdfWriter``
for PDFs), apart from two tiny text files in ``tests/data/attachments/`` that
pretend to be something else. The tests check the *output* independently:
re-encoded images are decoded again and their PNG chunks / JPEG markers are
listed, rather than trusting the module's own bookkeeping.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import subprocess
import sys
import time
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfWriter
from pypdf._encryption import Encryption
from pypdf.actions import JavaScript, PageTrigger
from pypdf.errors import DependencyError
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

from content import attachments
from content.attachments import MAX_BYTES, CheckedFile, FileStore, check, safe_download_name, storage_name
from network.errors import Invalid

DATA = Path(__file__).parent / "data" / "attachments"
PDF_REFUSAL = "This PDF contains scripts or embedded files"


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def refusal(data: bytes, claimed_name: str = "") -> str:
    """The single message `check` gives for a refused file (under the "file" key)."""
    with pytest.raises(Invalid) as caught:
        check(data, claimed_name)
    assert list(caught.value.field_errors) == ["file"]
    [message] = caught.value.field_errors["file"]
    return message


def image_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_chunks(data: bytes) -> list[bytes]:
    """Chunk types of a PNG, read directly from the bytes."""
    assert data.startswith(attachments.PNG_MAGIC)
    types, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        types.append(kind)
        offset += 12 + length
    return types


def jpeg_markers(data: bytes) -> list[int]:
    """Marker bytes of a JPEG up to the start of scan (APPn, COM, DQT, ...)."""
    markers, offset = [], 2
    while offset < len(data):
        assert data[offset] == 0xFF
        marker = data[offset + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        (length,) = struct.unpack(">H", data[offset + 2:offset + 4])
        offset += 2 + length
    return markers


def raw_png(width: int, height: int, idat: bytes, bit_depth: int = 1, colour_type: int = 0) -> bytes:
    """A PNG assembled by hand, so its header can claim any size."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return attachments.PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def zero_rows(width: int, height: int) -> bytes:
    """Compressed scanlines of a 1-bit image that is all zeros: tiny on disk, huge in memory."""
    compressor = zlib.compressobj(9)
    row = b"\0" * (1 + (width + 7) // 8)
    rows_per_block = max(1, 8_000_000 // len(row))
    parts, done = [], 0
    while done < height:
        count = min(rows_per_block, height - done)
        parts.append(compressor.compress(row * count))
        done += count
    parts.append(compressor.flush())
    return b"".join(parts)


def pdf_bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def one_page_writer() -> PdfWriter:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    return writer


def js_action(script: str = "app.alert(1)") -> DictionaryObject:
    return DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                             NameObject("/JS"): TextStringObject(script)})


def link_annotation(writer: PdfWriter, action: DictionaryObject) -> None:
    """Put a link annotation carrying ``action`` on the first page."""
    annotation = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject([NumberObject(0), NumberObject(0),
                                          NumberObject(50), NumberObject(50)]),
        NameObject("/A"): action,
    })
    page = writer.pages[0]
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])


# --------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------

def test_png_is_re_encoded_without_text_or_metadata_chunks():
    image = Image.new("RGB", (30, 20), (200, 40, 10))
    info = PngInfo()
    info.add_text("Author", "Jane Doe, 12 Hidden Lane")
    info.add_itxt("Comment", "<script>alert(1)</script>", zip=True)
    info.add_text("Secret", "zipped", zip=True)
    original = image_bytes(image, "PNG", pnginfo=info, exif=Image.Exif(), icc_profile=b"x" * 200)
    assert {b"tEXt", b"iTXt", b"zTXt"} <= set(png_chunks(original))

    checked = check(original, "diagram.png")

    assert checked.media_type == "image/png" and checked.extension == ".png"
    assert (checked.width, checked.height, checked.pages) == (30, 20, None)
    assert checked.content != original
    assert set(png_chunks(checked.content)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}
    assert b"Hidden Lane" not in checked.content and b"script" not in checked.content
    with Image.open(io.BytesIO(checked.content)) as decoded:
        assert decoded.size == (30, 20)
        assert decoded.convert("RGB").getpixel((5, 5)) == (200, 40, 10)
    assert checked.sha256 == hashlib.sha256(checked.content).hexdigest()


def test_png_named_pdf_is_typed_by_content():
    data = image_bytes(Image.new("L", (8, 8), 128), "PNG")
    checked = check(data, "report.pdf")
    assert (checked.media_type, checked.extension) == ("image/png", ".png")


@pytest.mark.parametrize("mode, colour", [
    ("RGBA", (10, 20, 30, 40)),
    ("LA", (90, 200)),
    ("1", 255),
    ("I;16", 40000),
])
def test_png_modes_are_kept(mode, colour):
    data = image_bytes(Image.new(mode, (6, 4), colour), "PNG")
    checked = check(data)
    with Image.open(io.BytesIO(checked.content)) as decoded:
        assert decoded.mode == mode
        assert decoded.getpixel((1, 1)) == colour


def test_palette_png_keeps_its_transparency():
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    data = image_bytes(image, "PNG", transparency=1)

    checked = check(data)

    assert b"tRNS" in png_chunks(checked.content)
    with Image.open(io.BytesIO(checked.content)) as decoded:
        assert decoded.mode == "P"
        assert decoded.convert("RGBA").getpixel((0, 0)) == (255, 0, 0, 0)


def test_data_hidden_after_the_png_is_not_stored():
    """A PNG/ZIP or PNG/HTML polyglot comes out as a plain PNG."""
    polyglot = image_bytes(Image.new("RGB", (5, 5), "white"), "PNG") + b"<html><script>alert(1)</script>"
    checked = check(polyglot)
    assert b"<script>" not in checked.content
    assert checked.content.endswith(b"IEND\xaeB`\x82")


def test_animated_png_refused():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "green", "blue")]
    data = image_bytes(frames[0], "PNG", save_all=True, append_images=frames[1:])
    assert "Animated" in refusal(data, "spinner.png")


def test_truncated_png_refused():
    image = Image.effect_noise((64, 64), 50).convert("RGB")
    data = image_bytes(image, "PNG")
    assert refusal(data[: len(data) // 2], "cut.png") == "This file is not a readable PNG image."


def test_png_with_broken_checksum_refused():
    data = bytearray(image_bytes(Image.new("RGB", (8, 8), "red"), "PNG"))
    data[30] ^= 0xFF  # inside the IHDR chunk, so its CRC no longer matches
    assert "not a readable PNG" in refusal(bytes(data))


def test_png_signature_followed_by_garbage_refused():
    assert "not a readable PNG" in refusal(attachments.PNG_MAGIC + b"\x00" * 100)


# --------------------------------------------------------------------------
# Decompression bombs
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def huge_png() -> bytes:
    """50 000 × 50 000 pixels (2.5 gigapixels) of zeros in about 300 KB."""
    return raw_png(50_000, 50_000, zero_rows(50_000, 50_000))


def test_png_bomb_refused_quickly_from_its_header(huge_png):
    assert len(huge_png) < 1_000_000
    started = time.perf_counter()
    message = refusal(huge_png, "bomb.png")
    assert time.perf_counter() - started < 2
    assert "megapixels" in message


@pytest.mark.parametrize("side", [
    7_000,   # 49 MP: over our cap, under Pillow's own limit
    10_000,  # 100 MP: Pillow warns (DecompressionBombWarning)
])
def test_png_over_the_pixel_cap_refused(side):
    message = refusal(raw_png(side, side, zero_rows(side, side)))
    assert f"{side} × {side} pixels" in message or "too large" in message
    assert "40 megapixels" in message


def test_pillow_bomb_warning_becomes_invalid_even_if_warnings_are_ignored():
    """The refusal must not depend on pytest turning warnings into errors."""
    data = raw_png(10_000, 10_000, zero_rows(10_000, 10_000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert "40 megapixels" in refusal(data)


def test_jpeg_bomb_refused_from_its_header():
    """A JPEG whose frame header claims 60 000 × 60 000 pixels."""
    small = image_bytes(Image.new("L", (8, 8), 0), "JPEG")
    sof = small.index(b"\xff\xc0")
    claimed = small[: sof + 5] + struct.pack(">HH", 60_000, 60_000) + small[sof + 9:]
    assert "megapixels" in refusal(claimed)


# --------------------------------------------------------------------------
# JPEG
# --------------------------------------------------------------------------

def photo_with_gps_and_orientation() -> bytes:
    """A 40 × 20 photo, red on the left, blue on the right, tagged "rotate 90° clockwise"."""
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    return image_bytes(image, "JPEG", exif=exif, quality=95, comment=b"taken at home")


def test_jpeg_with_gps_is_rotated_and_loses_all_metadata():
    original = photo_with_gps_and_orientation()
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really has GPS

    checked = check(original, "IMG_0001.JPG")

    assert (checked.media_type, checked.extension) == ("image/jpeg", ".jpg")
    assert (checked.width, checked.height) == (20, 40)
    assert b"Exif" not in checked.content and b"PhoneCo" not in checked.content
    assert b"taken at home" not in checked.content
    markers = jpeg_markers(checked.content)
    assert 0xE1 not in markers and 0xFE not in markers  # no APP1 (EXIF/XMP), no COM
    with Image.open(io.BytesIO(checked.content)) as after:
        assert after.size == (20, 40)
        assert not after.getexif()
        assert "exif" not in after.info
        top, bottom = after.getpixel((10, 5)), after.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60       # the left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_cmyk_jpeg_accepted_as_rgb():
    data = image_bytes(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG")
    checked = check(data, "print.jpg")
    with Image.open(io.BytesIO(checked.content)) as decoded:
        assert decoded.mode == "RGB"
        red, green, blue = decoded.getpixel((8, 8))
    assert red > 200 and green < 60 and blue < 60


def test_greyscale_jpeg_stays_greyscale():
    checked = check(image_bytes(Image.new("L", (10, 10), 77), "JPEG"))
    with Image.open(io.BytesIO(checked.content)) as decoded:
        assert decoded.mode == "L"


def test_multi_picture_jpeg_keeps_only_the_photo():
    """Phone photos carrying a gain or depth map (MPO) are accepted as their main picture."""
    main, extra = Image.new("RGB", (12, 10), "red"), Image.new("RGB", (6, 5), "blue")
    data = image_bytes(main, "MPO", save_all=True, append_images=[extra])
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.n_frames == 2

    checked = check(data)

    assert checked.content.count(b"\xff\xd8") == 1
    with Image.open(io.BytesIO(checked.content)) as decoded:
        assert decoded.format == "JPEG" and decoded.size == (12, 10)
        assert getattr(decoded, "n_frames", 1) == 1


def test_truncated_jpeg_refused():
    data = image_bytes(Image.effect_noise((64, 64), 80).convert("RGB"), "JPEG")
    assert refusal(data[: len(data) // 2]) == "This file is not a readable JPEG image."


# --------------------------------------------------------------------------
# Types we refuse, and the messages
# --------------------------------------------------------------------------

def test_html_named_pdf_refused_and_called_html():
    message = refusal((DATA / "report.pdf").read_bytes(), "report.pdf")
    assert message.startswith("“report.pdf” is not a PDF: it looks like an HTML page.")
    assert "PDF" in message and "PNG" in message and "JPEG" in message


def test_svg_refused():
    message = refusal((DATA / "drawing.svg").read_bytes(), "drawing.svg")
    assert "SVG" in message and "which we do not accept" in message


def test_svg_named_png_refused():
    message = refusal((DATA / "drawing.svg").read_bytes(), "logo.png")
    assert message.startswith("“logo.png” is not a PNG image: it looks like an SVG image.")


def test_gif_refused():
    message = refusal(image_bytes(Image.new("P", (4, 4)), "GIF"), "cat.gif")
    assert "GIF" in message and "We accept PDF documents and PNG or JPEG images." in message


@pytest.mark.parametrize("data, kind", [
    (b"PK\x03\x04" + b"\0" * 26 + b"word/document.xml", "a Word document"),
    (b"PK\x03\x04" + b"\0" * 40, "a ZIP archive"),
    (b"MZ\x90\x00" + b"\0" * 60, "a Windows program"),
    (b"\0\0\0\x18ftypheic" + b"\0" * 20, "an HEIC photo"),
    (b"RIFF\0\0\0\0WEBPVP8 ", "a WebP image"),
    (b"Dear team,\nplease find the notes below.\n", "a plain text file"),
])
def test_refused_kinds_are_named(data, kind):
    assert kind in refusal(data, "upload.bin")


def test_unknown_binary_refused_without_guessing():
    message = refusal(bytes(range(256)) * 4, "mystery.pdf")
    assert message.startswith("“mystery.pdf” is not a PDF, and we could not tell")


def test_claimed_name_is_reduced_to_its_base_name_for_the_message():
    message = refusal(b"<html></html>", "C:\\fakepath\\notes\u202e.pdf")
    assert "fakepath" not in message and "\u202e" not in message
    assert message.startswith("“notes.pdf” is not a PDF")


def test_without_a_name_the_message_still_reads_well():
    assert refusal(b"GIF89a" + b"\0" * 20).startswith("This file looks like a GIF image")


def test_empty_file_refused():
    assert refusal(b"", "empty.pdf") == "The file is empty."


def test_file_over_the_limit_refused_before_parsing(monkeypatch):
    def must_not_parse(*args, **kwargs):
        raise AssertionError("oversized files must not be parsed")

    monkeypatch.setattr(attachments, "_check_pdf", must_not_parse)
    monkeypatch.setattr(attachments, "_check_image", must_not_parse)
    monkeypatch.setattr(attachments, "_sniff", must_not_parse)
    message = refusal(b"%PDF-" + b"\0" * (MAX_BYTES + 1 - 5), "big.pdf")
    assert "10 MB" in message


def test_file_of_exactly_the_limit_is_checked():
    data = image_bytes(Image.new("RGB", (4, 4), "green"), "PNG")
    padded = data + b"\0" * (MAX_BYTES - len(data))
    assert len(padded) == MAX_BYTES
    checked = check(padded)
    assert len(checked.content) < 1000


# --------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------

def test_valid_pdf_accepted_and_kept_byte_for_byte():
    data = pdf_bytes(one_page_writer())
    checked = check(data, "leaflet.pdf")
    assert checked.content == data
    assert (checked.media_type, checked.extension) == ("application/pdf", ".pdf")
    assert (checked.pages, checked.width, checked.height) == (1, None, None)
    assert checked.sha256 == hashlib.sha256(data).hexdigest()


def test_pdf_pages_are_counted():
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=100, height=100)
    assert check(pdf_bytes(writer)).pages == 3


def test_pdf_with_an_ordinary_web_link_accepted():
    writer = one_page_writer()
    link_annotation(writer, DictionaryObject({NameObject("/S"): NameObject("/URI"),
                                              NameObject("/URI"): TextStringObject("https://example.org/")}))
    assert check(pdf_bytes(writer)).pages == 1


def test_pdf_without_pages_refused():
    assert refusal(pdf_bytes(PdfWriter())) == "This PDF has no pages."


def encrypted_pdf(user_password: str) -> bytes:
    """RC4 encryption, because pypdf needs the optional ``cryptography`` package for AES."""
    writer = one_page_writer()
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    return pdf_bytes(writer)


@pytest.mark.parametrize("user_password", ["secret", ""])
def test_encrypted_pdf_refused(user_password):
    assert "password-protected or encrypted" in refusal(encrypted_pdf(user_password), "locked.pdf")


def test_pdf_whose_encryption_pypdf_cannot_even_open_is_called_encrypted(monkeypatch):
    """AES-256 files make pypdf ask for ``cryptography`` while opening; that is still "encrypted"."""
    def needs_cryptography(*args, **kwargs):
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(Encryption, "verify", needs_cryptography)
    assert "password-protected or encrypted" in refusal(encrypted_pdf(""))


def test_pdf_with_javascript_open_action_refused():
    writer = one_page_writer()
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(js_action())
    assert refusal(pdf_bytes(writer)).startswith(PDF_REFUSAL)


def test_pdf_with_document_javascript_refused():
    writer = one_page_writer()
    writer.add_open_action(JavaScript("app.alert(1)"))
    assert refusal(pdf_bytes(writer)).startswith(PDF_REFUSAL)


def test_pdf_with_document_additional_actions_refused():
    writer = one_page_writer()
    writer._root_object[NameObject("/AA")] = DictionaryObject({NameObject("/WC"): js_action()})
    assert refusal(pdf_bytes(writer)).startswith(PDF_REFUSAL)


def test_pdf_with_page_open_script_refused():
    writer = one_page_writer()
    writer.pages[0].add_action(PageTrigger.OPEN, JavaScript("app.alert(2)"))
    assert refusal(pdf_bytes(writer)).startswith(PDF_REFUSAL)


@pytest.mark.parametrize("action", [
    js_action("this.exportDataObject({cName: 'x', nLaunch: 2})"),
    DictionaryObject({NameObject("/S"): NameObject("/Launch"),
                      NameObject("/F"): TextStringObject("cmd.exe")}),
])
def test_pdf_with_script_or_launch_link_refused(action):
    writer = one_page_writer()
    link_annotation(writer, action)
    assert refusal(pdf_bytes(writer)).startswith(PDF_REFUSAL)


def test_pdf_with_script_hidden_in_a_bookmark_refused():
    writer = one_page_writer()
    item = writer.add_outline_item(title="Start", page_number=0).get_object()
    item[NameObject("/A")] = js_action()
    assert refusal(pdf_bytes(writer)).startswith(PDF_REFUSAL)


def test_pdf_with_document_additional_actions_refused_whatever_they_do():
    writer = one_page_writer()
    writer._root_object[NameObject("/AA")] = DictionaryObject({NameObject("/WP"): DictionaryObject({
        NameObject("/S"): NameObject("/Named"), NameObject("/N"): NameObject("/NextPage")})})
    assert refusal(pdf_bytes(writer)).startswith(PDF_REFUSAL)


def test_pdf_with_xfa_form_refused():
    """XFA forms carry their own scripts, outside the action dictionaries."""
    writer = one_page_writer()
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject({
        NameObject("/Fields"): ArrayObject(),
        NameObject("/XFA"): TextStringObject("<xdp:xdp><script>app.alert(1)</script></xdp:xdp>"),
    })
    assert refusal(pdf_bytes(writer)).startswith(PDF_REFUSAL)


def test_pdf_with_file_attachment_annotation_refused():
    writer = one_page_writer()
    annotation = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/FileAttachment"),
        NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (0, 0, 9, 9)]),
        NameObject("/FS"): TextStringObject("payload.exe"),
    })
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    assert refusal(pdf_bytes(writer)).startswith(PDF_REFUSAL)


def test_pdf_with_embedded_file_refused():
    writer = one_page_writer()
    writer.add_attachment("payload.exe", b"MZ\x90\x00")
    message = refusal(pdf_bytes(writer), "innocent.pdf")
    assert message == ("This PDF contains scripts or embedded files, which we do not accept. "
                       "Print it to a new PDF and try again.")


@pytest.mark.parametrize("data", [
    b"%PDF-",
    b"%PDF-1.7\n" + bytes(range(256)) * 8,
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
])
def test_garbage_after_pdf_header_refused(data):
    assert refusal(data, "broken.pdf") == "This file is not a readable PDF."


# --------------------------------------------------------------------------
# Storage
# --------------------------------------------------------------------------

STORED = re.compile(r"[0-9a-f]{32}\.(pdf|png|jpg)")


def test_file_store_round_trip(tmp_path):
    store = FileStore(tmp_path / "attachments")
    checked = check(image_bytes(Image.new("RGB", (3, 3), "red"), "PNG"), "me.png")

    name = store.save(checked)

    assert STORED.fullmatch(name) and name.endswith(".png")
    path = tmp_path / "attachments" / name[:2] / name[2:4] / name
    assert path.read_bytes() == checked.content
    assert store.open(name) == checked.content
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temporary file left behind
    store.delete(name)
    assert not path.exists()
    with pytest.raises(FileNotFoundError):
        store.open(name)
    store.delete(name)  # already gone: not an error


def test_file_store_keeps_pdf_bytes(tmp_path):
    store = FileStore(tmp_path)
    checked = check(pdf_bytes(one_page_writer()))
    assert store.open(store.save(checked)) == checked.content


@pytest.mark.parametrize("name", [
    "../x.png",
    "ab/../../etc",
    "x.PNG",
    "A" * 32 + ".png",
    "a" * 32 + ".PNG",
    "a" * 32 + ".gif",
    "a" * 31 + ".png",
    "a" * 32 + ".png\n",
    "a" * 32 + ".png/",
    "/etc/passwd",
    "../" + "a" * 32 + ".png",
    "ab/cd/" + "a" * 32 + ".png",
    "",
])
def test_file_store_refuses_names_it_could_not_have_made(tmp_path, name):
    store = FileStore(tmp_path)
    for operation in (store.open, store.delete):
        with pytest.raises(ValueError):
            operation(name)


def test_storage_names_are_random_and_ignore_the_claimed_name():
    checked = check(image_bytes(Image.new("RGB", (3, 3)), "PNG"), "../../evil<script>.png")
    names = {storage_name(checked) for _ in range(1000)}
    assert len(names) == 1000
    assert all(STORED.fullmatch(name) and "evil" not in name for name in names)


def test_saved_names_are_unique(tmp_path):
    store = FileStore(tmp_path)
    checked = check(pdf_bytes(one_page_writer()), "same.pdf")
    assert len({store.save(checked) for _ in range(20)}) == 20


# --------------------------------------------------------------------------
# Download names and module boundaries
# --------------------------------------------------------------------------

@pytest.mark.parametrize("title, extension, expected", [
    ("Care plan: Ärzte & Pflege", ".pdf", "care-plan-arzte-pflege.pdf"),
    ('../../etc/passwd"\r\nX-Evil: 1', ".png", "etc-passwd-x-evil-1.png"),
    ("日本語", ".jpg", "attachment.jpg"),
    ("", ".pdf", "attachment.pdf"),
])
def test_safe_download_name(title, extension, expected):
    assert safe_download_name(title, extension) == expected


def test_safe_download_name_is_short_and_ascii():
    name = safe_download_name("Ünïcödé title " * 20, ".pdf")
    assert name.isascii() and len(name) <= 80 + len(".pdf")
    assert re.fullmatch(r"[a-z0-9-]+\.pdf", name) and not name.startswith("-")


def test_safe_download_name_takes_the_markdown_export_extension():
    assert safe_download_name("Falls prevention", ".md") == "falls-prevention.md"


@pytest.mark.parametrize("extension", ["pdf", "", ".PDF", '.pdf"; x=', ".p/f", ".pdf\r\n", "." + "x" * 9])
def test_safe_download_name_refuses_odd_extensions(extension):
    with pytest.raises(ValueError):
        safe_download_name("page", extension)


def test_checked_file_is_immutable():
    checked = check(pdf_bytes(one_page_writer()))
    assert isinstance(checked, CheckedFile)
    with pytest.raises(AttributeError):
        checked.content = b"other"  # type: ignore[misc]


def test_module_does_not_import_flask():
    code = "import sys, content.attachments; assert 'flask' not in sys.modules, 'flask imported'"
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent, check=True)
