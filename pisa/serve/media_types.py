"""What an uploaded file is, by its first bytes (never by its name or declared type).

A recording the service assesses is a video container: ISO base media (MP4, MOV, M4V,
3GP: an ``ftyp`` box, or the classic QuickTime atoms first), Matroska / WebM (EBML) or
AVI (RIFF ``AVI ``). Every config samples a recording by its frames, so an audio-only
file (WAV, MP3, FLAC, Ogg) is named as such and refused; the real decoder opens an
accepted file (the assessment's media check), which tells a truncated or undecodable
file from a good one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: bytes :func:`sniff` needs to see
HEAD_BYTES = 64

#: the top-level QuickTime atoms an old .mov may start with instead of ``ftyp``
QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


@dataclass(frozen=True)
class MediaType:
    """A file type found by its first bytes: ``name`` for messages, ``extension`` the
    upload is stored with, ``kind``: ``'video'`` (a container the service assesses),
    ``'audio'`` or ``'other'``."""

    name: str
    extension: str
    kind: str

    @property
    def video(self) -> bool:
        return self.kind == "video"


def _iso_media(head: bytes) -> Optional[MediaType]:
    box = head[4:8]
    if box == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return MediaType("QuickTime (MOV)", ".mov", "video")
        if brand in (b"M4A ", b"M4B "):
            return MediaType("MPEG-4 audio (M4A)", ".m4a", "audio")
        return MediaType("MPEG-4 (MP4)", ".mp4", "video")
    if box in QUICKTIME_ATOMS and int.from_bytes(head[:4], "big") >= 8:
        return MediaType("QuickTime (MOV)", ".mov", "video")
    return None


def sniff(head: bytes) -> MediaType:
    """The type of a file whose first bytes are ``head`` (at least :data:`HEAD_BYTES`
    when the file is that long); ``MediaType('unknown', '', 'other')`` when none fits."""
    iso = _iso_media(head)
    if iso is not None:
        return iso
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        webm = b"webm" in head[:64]
        return MediaType("WebM" if webm else "Matroska (MKV)", ".webm" if webm else ".mkv",
                         "video")
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return MediaType("AVI", ".avi", "video")
    for magic, name, ext in ((b"RIFF", "WAV audio", ".wav"), (b"fLaC", "FLAC audio", ".flac"),
                             (b"OggS", "Ogg audio", ".ogg"), (b"ID3", "MP3 audio", ".mp3")):
        if head.startswith(magic) and (magic != b"RIFF" or head[8:12] == b"WAVE"):
            return MediaType(name, ext, "audio")
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return MediaType("MP3 audio", ".mp3", "audio")
    for magic, name in ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
                        (b"GIF8", "a GIF image"), (b"%PDF", "a PDF document"),
                        (b"PK\x03\x04", "a ZIP archive")):
        if head.startswith(magic):
            return MediaType(name, "", "other")
    if head and _looks_like_text(head):
        return MediaType("text", "", "other")
    return MediaType("unknown", "", "other")


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 3:  # not a character cut at the end of the head
            return False
        text = head[:err.start].decode("utf-8")
    return all(c.isprintable() or c in "\t\r\n" for c in text)


def refusal(found: MediaType) -> str:
    """The one-line reason an upload of type ``found`` is not assessed."""
    if found.kind == "audio":
        return (f"the upload is {found.name}, without video: a recording is a video file "
                "(MP4, MOV, MKV, WebM or AVI) with its audio track, whose frames set the samples")
    what = {"text": "text", "unknown": "of no known media type"}.get(found.name, found.name)
    return (f"the upload is {what}, not a video: send an MP4, MOV, MKV, WebM or AVI "
            "recording")
