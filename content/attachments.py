"""Checking, cleaning and storing the files members attach to library resources.

Members may attach PDF documents and PNG or JPEG images of at most ``MAX_BYTES``.
Every rule that keeps those uploads safe lives here, so the web layer only has
to call :func:`check`, hand the result to :class:`FileStore` and serve the
stored bytes with the right headers:

* The type is decided by the file's *content* (its magic bytes), never by the
  name the browser sent: a page named ``report.pdf`` is still an HTML page.
  ``claimed_name`` is used only to word the error message.
* Images are decoded with Pillow and **re-encoded** from their pixels. That
  drops metadata (GPS positions in EXIF, comments, text chunks, colour
  profiles) and breaks polyglots: whatever an attacker hid after the image data
  or inside a chunk is not in the bytes we store. Decompression bombs are
  refused from the header's dimensions before any pixel is decoded.
* PDFs cannot be rewritten safely without changing them, so they are stored
  byte for byte, but only after pypdf has parsed them and found no scripts,
  launch actions, encryption or embedded files.
* Stored names are made by the server (random hex plus our own extension) and
  looked up again through a strict pattern, so user input never reaches a path.

The module deliberately has no Flask import; it raises ``network.errors.Invalid``
with the key ``"file"``, which the web layer already turns into a form error.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import tempfile
import unicodedata
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.errors import DependencyError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, PdfObject

from network.errors import Invalid
from network.i18n import N_

__all__ = [
    "ALLOWED",
    "MAX_BYTES",
    "MAX_PIXELS",
    "CheckedFile",
    "FileStore",
    "check",
    "safe_download_name",
    "storage_name",
]

MAX_BYTES = 10 * 1024 * 1024
ALLOWED = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}

#: Largest image we decode, in pixels. 40 megapixels covers every phone camera
#: while keeping a decoded RGBA image to about 160 MB of memory.
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 88

FIELD = "file"
ACCEPTED_KINDS = N_("We accept PDF documents and PNG or JPEG images.")
PDF_ACTIVE_CONTENT = N_(
    "This PDF contains scripts or embedded files, which we do not accept. "
    "Print it to a new PDF and try again."
)

PDF_MAGIC = b"%PDF-"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"

_STORED_NAME = re.compile(r"[0-9a-f]{32}\.(?:pdf|png|jpg)")
_EXTENSION = re.compile(r"\.[a-z0-9]{1,8}")

#: Modes Pillow can write to PNG as they are; anything else becomes RGBA.
_PNG_MODES = frozenset({"1", "L", "LA", "I;16", "I;16B", "P", "RGB", "RGBA"})
#: Modes that become greyscale JPEG; all others (CMYK, YCbCr, ...) become RGB.
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "F"})

#: Action types that run code, start programs or pull in other content. Plain
#: links (/URI) and jumps inside the document (/GoTo) are ordinary and allowed.
_PDF_ACTIVE_ACTIONS = frozenset({
    "/JavaScript", "/Launch", "/ImportData", "/GoToE", "/Rendition", "/RichMediaExecute",
})


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed :func:`check`: the bytes to store and what we learnt about them."""

    content: bytes
    media_type: str
    extension: str
    width: int | None
    height: int | None
    pages: int | None
    sha256: str


def check(data: bytes, claimed_name: str = "") -> CheckedFile:
    """Decide whether ``data`` may be attached and return the bytes to store.

    Raises ``Invalid({"file": [message]})`` with a message a member can act on.
    ``claimed_name`` (the browser's file name) only words that message; the
    type always comes from the content.
    """
    if not data:
        raise _invalid(N_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise _invalid(N_("This file is larger than %(max_bytes)s MB, the most we accept for an attachment.", max_bytes=MAX_BYTES // (1024 * 1024)))
    media_type = _sniff(data)
    if media_type == "application/pdf":
        return _check_pdf(data)
    if media_type in ("image/png", "image/jpeg"):
        return _check_image(data, media_type)
    raise _invalid(_unsupported_message(_describe(data), claimed_name))


def storage_name(checked: CheckedFile) -> str:
    """A fresh server-made file name: 128 random bits plus our own extension, never user input."""
    return secrets.token_hex(16) + checked.extension


def safe_download_name(title: str, extension: str) -> str:
    """A file name for ``Content-Disposition`` built from a resource title.

    ASCII letters and digits only (accents are folded, everything else becomes
    a hyphen), so it needs no quoting or RFC 5987 encoding and can carry no
    path, quote or header-splitting characters. The extension comes from our
    own code (``".pdf"``, or ``".md"`` for the Markdown export), never from the
    member, and must be a short lowercase suffix.
    """
    if not _EXTENSION.fullmatch(extension):
        raise ValueError(f"not a plain file extension: {extension!r}")
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-").lower()
    slug = slug[:80].rstrip("-")
    return (slug or "attachment") + extension


class FileStore:
    """Attachments on disk, outside the static folder, under server-made names.

    Files live in two levels of fan-out directories taken from the name
    (``ab/cd/abcd….png``) so no directory grows huge. Names coming back from a
    URL are checked against a strict pattern before they touch the file system.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def save(self, checked: CheckedFile) -> str:
        """Write the file atomically and return its stored name.

        The bytes go to a temporary file in the destination directory and are
        moved into place with ``os.replace``, so a reader never sees half a file.
        """
        name = storage_name(checked)
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(checked.content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return name

    def open(self, name: str) -> bytes:
        """The stored bytes. ``ValueError`` for a malformed name, ``FileNotFoundError`` if absent."""
        return self._path(name).read_bytes()

    def delete(self, name: str) -> None:
        """Remove a stored file; deleting one that is already gone is not an error."""
        self._path(name).unlink(missing_ok=True)

    def _path(self, name: str) -> Path:
        """Map a stored name to its path, refusing anything we could not have made."""
        if not isinstance(name, str) or not _STORED_NAME.fullmatch(name):
            raise ValueError("not a stored attachment name")
        root = self.root.resolve()
        path = (root / name[:2] / name[2:4] / name).resolve()
        if not path.is_relative_to(root):
            raise ValueError("attachment path escapes the store")
        return path


# --------------------------------------------------------------------------
# Sniffing and messages
# --------------------------------------------------------------------------

def _invalid(message: str) -> Invalid:
    return Invalid({FIELD: [message]})


def _sniff(data: bytes) -> str | None:
    """The allowed media type the magic bytes announce, or None."""
    if data.startswith(PDF_MAGIC):
        return "application/pdf"
    if data.startswith(PNG_MAGIC):
        return "image/png"
    if data.startswith(JPEG_MAGIC):
        return "image/jpeg"
    return None


def _describe(data: bytes) -> str | None:
    """What a refused file seems to be ("an HTML page"), to make the message useful, or None."""
    head = data[:64]
    for magic, kind in _BINARY_KINDS:
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp":
        return _describe_iso_media(head[8:12])
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return N_("a WebP image")
    if head.startswith(b"BM") and head[6:10] == b"\0\0\0\0":
        return N_("a BMP image")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _describe_zip(data)
    return _describe_text(data[:4096])


_BINARY_KINDS: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", N_("a GIF image")),
    (b"GIF89a", N_("a GIF image")),
    (b"II*\x00", N_("a TIFF image")),
    (b"MM\x00*", N_("a TIFF image")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", N_("an older Microsoft Office document")),
    (b"MZ", N_("a Windows program")),
    (b"\x7fELF", N_("a program")),
    (b"\xca\xfe\xba\xbe", N_("a program")),
    (b"\xcf\xfa\xed\xfe", N_("a program")),
    (b"\x1f\x8b", N_("a compressed (gzip) file")),
    (b"Rar!", N_("a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", N_("a 7-Zip archive")),
    (b"{\\rtf", N_("an RTF document")),
    (b"\x00\x00\x01\x00", N_("an icon file")),
)


def _describe_iso_media(brand: bytes) -> str:
    """Photos from recent phones (HEIC, AVIF) share the MP4 container with videos."""
    if brand in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1"):
        return N_("an HEIC photo (the iPhone format)")
    if brand in (b"avif", b"avis"):
        return N_("an AVIF image")
    return N_("a video")


def _describe_zip(data: bytes) -> str:
    """Office documents are ZIP files; name them, since that is what the member knows."""
    for marker, kind in ((b"word/", N_("a Word document")), (b"xl/", N_("an Excel spreadsheet")),
                         (b"ppt/", N_("a PowerPoint presentation")),
                         (b"application/vnd.oasis.opendocument", N_("an OpenDocument file"))):
        if marker in data:
            return kind
    return N_("a ZIP archive")


def _describe_text(sample: bytes) -> str | None:
    """Recognise markup and plain text by looking at the start of a text file."""
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:
            return None
        text = sample[:exc.start].decode("utf-8")
    if any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text):
        return None
    lowered = text.lstrip("\ufeff \t\r\n").lower()
    if "<svg" in lowered:
        return N_("an SVG image")
    if lowered.startswith("<!doctype html") or any(
            tag in lowered for tag in ("<html", "<head", "<body", "<script", "<iframe")):
        return N_("an HTML page")
    if lowered.startswith("<?xml"):
        return N_("an XML file")
    return N_("a plain text file")


def _claimed_kind(claimed_name: str) -> str | None:
    """The kind the file's name promises, if it is one of the kinds we accept."""
    extension = os.path.splitext(claimed_name)[1].lower()
    return {".pdf": N_("a PDF"), ".png": N_("a PNG image"), ".jpg": N_("a JPEG image"),
            ".jpeg": N_("a JPEG image")}.get(extension)


def _display_name(claimed_name: str) -> str:
    """The browser's file name, reduced to something safe and short to quote back."""
    base = re.split(r"[\\/]", claimed_name)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base if len(base) <= 80 else base[:79] + "…"


def _unsupported_message(kind: str | None, claimed_name: str) -> str:
    """Explain a refused type, naming what the file seems to be when we can tell."""
    name = _display_name(claimed_name)
    subject = N_("“%(name)s”", name=name) if name else N_("This file")
    promised = _claimed_kind(name)
    if promised and kind:
        first = N_("%(subject)s is not %(promised)s: it looks like %(kind)s.", subject=subject, promised=promised,
                   kind=kind)
    elif promised:
        first = N_("%(subject)s is not %(promised)s, and we could not tell what kind of file it is.", subject=subject,
                   promised=promised)
    elif kind:
        first = N_("%(subject)s looks like %(kind)s, which we do not accept.", subject=subject, kind=kind)
    else:
        first = N_("%(subject)s is not a kind of file we accept.", subject=subject)
    return N_("%(problem)s %(accepted)s", problem=first, accepted=ACCEPTED_KINDS)


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------

def _check_image(data: bytes, media_type: str) -> CheckedFile:
    """Decode a PNG or JPEG safely and re-encode it from its pixels alone."""
    label = "PNG" if media_type == "image/png" else "JPEG"
    image = _upright(_decode_image(data, label), label)
    try:
        content = _encode_png(image) if label == "PNG" else _encode_jpeg(image)
    except (OSError, ValueError):
        # Pixels Pillow could read but not write back (an odd mode or transparency).
        raise _invalid(N_("This file is not a readable %(label)s image.", label=label)) from None
    return CheckedFile(content=content, media_type=media_type, extension=ALLOWED[media_type],
                       width=image.width, height=image.height, pages=None,
                       sha256=hashlib.sha256(content).hexdigest())


def _decode_image(data: bytes, label: str) -> Image.Image:
    """Open, verify and fully decode an image, refusing bombs, animations and damage.

    ``verify()`` checks the file's structure (PNG chunk checksums) but leaves the
    image unusable, so it is opened a second time to decode the pixels. Pillow's
    own decompression-bomb warning is turned into an error here, locally, so the
    refusal does not depend on the process's warning filters.
    """
    formats = ["PNG"] if label == "PNG" else ["JPEG", "MPO"]
    unreadable = N_("This file is not a readable %(label)s image.", label=label)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=formats) as probe:
                _refuse_oversized(probe)
                probe.verify()
            image = Image.open(io.BytesIO(data), formats=formats)
            _refuse_animated(image, label)
            image.load()
        except Invalid:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _invalid(_too_many_pixels_message()) from None
        except Exception:
            # Pillow reports damaged or hostile input with many exception types
            # (OSError, SyntaxError, ValueError, EOFError, struct.error, ...);
            # for an upload they all mean the same thing.
            raise _invalid(unreadable) from None
    return image


def _upright(image: Image.Image, label: str) -> Image.Image:
    """Apply the EXIF orientation to the pixels, since the EXIF itself is about to be dropped.

    Without this a portrait phone photo, stored sideways with an orientation
    tag, would show sideways once re-encoded.
    """
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        # A malformed EXIF block surfaces here as any of several exception types.
        raise _invalid(N_("This file is not a readable %(label)s image.", label=label)) from None


def _too_many_pixels_message(width: int | None = None, height: int | None = None) -> str:
    size = N_("%(width)s × %(height)s pixels", width=width, height=height) if width and height else N_("too large")
    return N_("This image is %(size)s; the most we accept is %(megapixels)s megapixels. "
              "Please make it smaller and try again.", size=size, megapixels=MAX_PIXELS // 1_000_000)


def _refuse_oversized(image: Image.Image) -> None:
    """Refuse on the header's dimensions, before any pixel is decompressed."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _invalid(_too_many_pixels_message(width, height))


def _refuse_animated(image: Image.Image, label: str) -> None:
    """Refuse animated PNGs; a JPEG's extra pictures are simply dropped.

    Phone photos often carry extra JPEG pictures (HDR gain maps, depth maps)
    which Pillow reads as an MPO with several frames; the first is the photo
    itself and re-encoding keeps only that one, so those are not refused.
    """
    if label == "PNG" and getattr(image, "n_frames", 1) > 1:
        raise _invalid(N_("Animated PNG images are not accepted. Please attach a still image."))


def _pixels_only(image: Image.Image) -> Image.Image:
    """A copy carrying pixels (and palette) but none of the file's metadata.

    Pillow's encoders copy some entries of ``info`` into the output by default
    (PNG colour profiles and transparency, JPEG comments), so ``info`` is emptied.
    """
    clean = image.copy()
    clean.info = {}
    return clean


def _encode_png(image: Image.Image) -> bytes:
    """Re-encode as an optimised PNG with no text, EXIF or colour-profile chunks."""
    transparency = image.info.get("transparency")
    if image.mode not in _PNG_MODES:
        image = image.convert("RGBA")
        transparency = None
    clean = _pixels_only(image)
    options: dict[str, object] = {"optimize": True}
    if transparency is not None and clean.mode in ("1", "L", "P", "RGB", "I;16"):
        options["transparency"] = transparency
    out = io.BytesIO()
    clean.save(out, "PNG", **options)
    return out.getvalue()


def _encode_jpeg(image: Image.Image) -> bytes:
    """Re-encode as JPEG with no EXIF, comment or other marker; CMYK and alpha become RGB or grey."""
    target = "L" if image.mode in _GREY_MODES else "RGB"
    if image.mode != target:
        image = image.convert(target)
    clean = _pixels_only(image)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


# --------------------------------------------------------------------------
# PDFs
# --------------------------------------------------------------------------

def _check_pdf(data: bytes) -> CheckedFile:
    """Parse a PDF and refuse encryption, emptiness and active content; keep its bytes."""
    encrypted_message = N_("This PDF is password-protected or encrypted. "
                           "Please save a copy without a password and try again.")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
        pages = 0 if encrypted else len(reader.pages)
        active = False if encrypted else _pdf_has_active_content(reader)
    except DependencyError:
        # Opening AES-encrypted files makes pypdf reach for the optional
        # ``cryptography`` package; only encryption gets that far.
        raise _invalid(encrypted_message) from None
    except Exception:
        # pypdf raises its own PyPdfError family but also plain ValueError,
        # KeyError, TypeError, RecursionError, ... on malformed files.
        raise _invalid(N_("This file is not a readable PDF.")) from None
    if encrypted:
        raise _invalid(encrypted_message)
    if pages < 1:
        raise _invalid(N_("This PDF has no pages."))
    if active:
        raise _invalid(PDF_ACTIVE_CONTENT)
    return CheckedFile(content=data, media_type="application/pdf", extension=".pdf",
                       width=None, height=None, pages=pages,
                       sha256=hashlib.sha256(data).hexdigest())


def _pdf_has_active_content(reader: PdfReader) -> bool:
    """True if the document would run code, open other content, or carries files.

    The catalog entries that act on opening (/AA, script and file name trees,
    XFA forms) are checked by name; then every object reachable from the
    catalog is visited, which covers /OpenAction, page and annotation actions,
    form fields and bookmarks wherever a hostile file hides them.
    """
    catalog = reader.trailer["/Root"].get_object()
    if not isinstance(catalog, DictionaryObject):
        raise ValueError("the PDF has no document catalog")
    if _catalog_is_active(catalog):
        return True
    return any(_dictionary_is_active(node) for node in _reachable_dictionaries(catalog))


def _catalog_is_active(catalog: DictionaryObject) -> bool:
    """Document-level additional actions, document JavaScript, embedded files, XFA."""
    if "/AA" in catalog:
        return True
    names = _resolve(catalog.get("/Names"))
    if isinstance(names, DictionaryObject) and ("/JavaScript" in names or "/EmbeddedFiles" in names):
        return True
    acroform = _resolve(catalog.get("/AcroForm"))
    return isinstance(acroform, DictionaryObject) and "/XFA" in acroform


def _dictionary_is_active(node: DictionaryObject) -> bool:
    """One dictionary that is a script or launch action, or an embedded file."""
    if "/JS" in node or "/EF" in node:
        return True
    if _name(node.get("/S")) in _PDF_ACTIVE_ACTIONS:
        return True
    if _name(node.get("/Type")) == "/EmbeddedFile":
        return True
    return _name(node.get("/Subtype")) == "/FileAttachment"


def _reachable_dictionaries(start: DictionaryObject) -> Iterator[DictionaryObject]:
    """Every dictionary reachable from ``start``, each indirect object visited once.

    Iterative (hostile files nest deeply) and without decoding any stream data:
    a stream's dictionary is visited, its content is not.
    """
    seen: set[tuple[int, int]] = set()
    stack: list[PdfObject] = [start]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            yield item
            stack.extend(value for name, value in item.items() if name != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _resolve(value: object) -> object:
    """Follow an indirect reference, if ``value`` is one."""
    return value.get_object() if isinstance(value, IndirectObject) else value


def _name(value: object) -> str | None:
    """A PDF name such as ``/JavaScript``, or None if the entry is missing or not a name."""
    resolved = _resolve(value)
    return str(resolved) if isinstance(resolved, NameObject) else None
