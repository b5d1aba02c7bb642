"""What a payload really is, from its first bytes (magic numbers), whatever its declared type says.

Crawls label PDFs, images and archives as ``text/html`` often enough that the declared
Content-Type cannot be trusted: a PDF decoded as text reads as "%PDF-1.4 ..." and passes every
later filter. Only raw payloads are sniffed (HTTP bodies, WARC resource blocks, WET blocks), never
the text fields of JSONL/Parquet inputs, which are already text.

The table is written here rather than taken from a file-type library on purpose: those match
two-byte ASCII magics such as ``BM`` (BMP) or ``MZ`` (Windows executables) at offset 0, and real
pages start with "BMW ..." or "MZ ..."; every signature below either holds a byte that text never
starts with (a control byte, NUL, or an invalid UTF-8 lead byte) or is long and specific (``%PDF-``).
"""

from __future__ import annotations

from dataclasses import dataclass

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 512  # how much of a payload the checks look at (tar's magic sits at offset 257)


@dataclass(frozen=True)
class Signature:
    name: str
    magic: bytes
    offset: int = 0

    def matches(self, head: bytes) -> bool:
        return head[self.offset:self.offset + len(self.magic)] == self.magic


SIGNATURES: tuple[Signature, ...] = (
    Signature("PDF document", b"%PDF-"),
    Signature("PostScript document", b"%!PS-Adobe"),
    Signature("PNG image", b"\x89PNG\r\n\x1a\n"),
    Signature("JPEG image", b"\xff\xd8\xff"),
    Signature("GIF image", b"GIF87a"),
    Signature("GIF image", b"GIF89a"),
    Signature("TIFF image", b"II*\x00"),
    Signature("TIFF image", b"MM\x00*"),
    Signature("ICO image", b"\x00\x00\x01\x00"),
    Signature("Photoshop image", b"8BPS\x00\x01"),
    Signature("JPEG 2000 image", b"\x00\x00\x00\x0cjP  \r\n\x87\n"),
    Signature("ZIP archive (also docx/xlsx/odt/epub/jar)", b"PK\x03\x04"),
    Signature("ZIP archive (also docx/xlsx/odt/epub/jar)", b"PK\x05\x06"),
    Signature("ZIP archive (also docx/xlsx/odt/epub/jar)", b"PK\x07\x08"),
    Signature("MS Office (OLE2) document", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
    Signature("gzip data", GZIP_MAGIC),
    Signature("bzip2 data", b"BZh"),  # checked further in sniff_binary (block magic follows)
    Signature("xz data", b"\xfd7zXZ\x00"),
    Signature("zstd data", b"\x28\xb5\x2f\xfd"),
    Signature("7-Zip archive", b"7z\xbc\xaf\x27\x1c"),
    Signature("RAR archive", b"Rar!\x1a\x07"),
    Signature("ar/deb archive", b"!<arch>\n"),
    Signature("tar archive", b"ustar", 257),
    Signature("CAB archive", b"MSCF\x00\x00\x00\x00"),
    Signature("ELF executable", b"\x7fELF"),
    Signature("Mach-O executable", b"\xfe\xed\xfa\xce"),
    Signature("Mach-O executable", b"\xfe\xed\xfa\xcf"),
    Signature("Mach-O executable", b"\xce\xfa\xed\xfe"),
    Signature("Mach-O executable", b"\xcf\xfa\xed\xfe"),
    Signature("Java class / Mach-O universal binary", b"\xca\xfe\xba\xbe"),
    Signature("WebAssembly module", b"\x00asm"),
    Signature("SQLite database", b"SQLite format 3\x00"),
    Signature("Ogg media", b"OggS\x00"),
    Signature("FLAC audio", b"fLaC\x00"),
    Signature("Matroska/WebM video", b"\x1a\x45\xdf\xa3"),
    Signature("MP4/QuickTime/HEIF media", b"ftyp", 4),
    Signature("TrueType font", b"\x00\x01\x00\x00\x00"),
    Signature("OpenType font", b"OTTO\x00"),
)


def sniff_binary(head: bytes) -> str | None:
    """The kind of binary data `head` (a payload's first bytes) starts with, or None for no known
    binary signature (which does not make it text: decoding decides that)."""
    for sig in SIGNATURES:
        if sig.matches(head):
            if sig.magic == b"BZh" and head[4:10] != b"1AY&SY":
                continue  # "BZh" alone is a word; a bzip2 stream continues with a block magic
            return sig.name
    # Container and executable formats whose magic is short ASCII, each confirmed by bytes that
    # text does not contain.
    if head.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return {b"WEBP": "WebP image", b"WAVE": "WAV audio", b"AVI ": "AVI video"}[head[8:12]]
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":  # BMP: reserved zero bytes
        return "BMP image"
    if head.startswith(b"MZ") and b"\x00" in head[2:64]:  # DOS/Windows executable header
        return "Windows executable"
    if head[:3] == b"ID3" and head[3:4] in (b"\x02", b"\x03", b"\x04"):
        return "MP3 audio"
    if head[:3] in (b"FWS", b"CWS", b"ZWS") and head[3:4] and head[3] < 0x20:
        return "Flash (SWF) file"
    if head[:4] in (b"wOFF", b"wOF2") and head[4:8] in (b"\x00\x01\x00\x00", b"OTTO", b"true"):
        return "WOFF font"
    return None


def is_gzip(head: bytes) -> bool:
    return head.startswith(GZIP_MAGIC)


def describe_start(head: bytes) -> str:
    """A short human description of what a file starts with, for wrong-compression messages."""
    if head.lstrip(b"\r\n").startswith(b"WARC/"):
        return "an uncompressed WARC record"
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        return "uncompressed JSON"
    kind = sniff_binary(head)
    if kind:
        return kind
    return f"the bytes {head[:16]!r}"
