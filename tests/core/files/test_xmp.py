"""Behaviour tests for photoclip.core.files.xmp: keyword interop through XMP sidecars, checked with exiv2."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyexiv2
import pytest
from PIL import Image

from photoclip.core.files import xmp
from photoclip.core.files.xmp import (
    SIDECAR_STYLES,
    XmpError,
    existing_sidecar,
    read_keywords,
    sidecar_path,
    write_sidecar_tags,
)

KEYWORD_KEYS = {xmp.SUBJECT, xmp.LR_HIERARCHY, xmp.DIGIKAM_TAGS}

# What darktable leaves beside a photo it has edited, with Lightroom keywords and some Exif/IPTC
# fields that exiv2 converts internally (the ones a careless rewrite would damage).
DARKTABLE_SIDECAR = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
    xmlns:darktable="http://darktable.sf.net/"
   xmp:Rating="4"
   exif:DateTimeOriginal="2021-07-14T10:11:12.345+02:00"
   exif:FNumber="28/10"
   tiff:Make="Canon"
   Iptc4xmpCore:Location="Champ de Mars"
   darktable:history_end="1">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Eiffel</rdf:li></rdf:Alt></dc:title>
   <dc:subject><rdf:Bag><rdf:li>Paris</rdf:li><rdf:li>old</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag><rdf:li>Places|France|Paris</rdf:li><rdf:li>old</rdf:li></rdf:Bag>
   </lr:hierarchicalSubject>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1" darktable:params="00000000"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def make_jpeg(path: Path, color: str = "red") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 12), color).save(path, "JPEG")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def xmp_detail(path: Path) -> dict[str, Any]:
    """What exiv2 itself reads from a sidecar (the reference reader, not the code under test)."""
    with pyexiv2.ImageData(path.read_bytes()) as img:
        return img.read_xmp_detail()


def xmp_values(path: Path) -> dict[str, Any]:
    with pyexiv2.ImageData(path.read_bytes()) as img:
        return img.read_xmp()


def embed_keywords(
    photo: Path, xmp_subject: list[str], iptc: list[str], iptc_encoding: str = "utf-8"
) -> None:
    with pyexiv2.Image(str(photo)) as img:
        if xmp_subject:
            img.modify_xmp({xmp.SUBJECT: xmp_subject})
        if iptc:
            img.modify_iptc({xmp.IPTC_KEYWORDS: iptc}, encoding=iptc_encoding)


def embed_keywords_via_bytes(photo: Path, iptc: list[str]) -> None:
    with pyexiv2.ImageData(photo.read_bytes()) as img:
        img.modify_iptc({xmp.IPTC_KEYWORDS: iptc})
        photo.write_bytes(img.get_bytes())


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_sidecar_paths_and_which_existing_one_wins(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "IMG_1.jpg")
    assert SIDECAR_STYLES == ("photo.jpg.xmp", "photo.xmp")
    assert sidecar_path(photo) == tmp_path / "IMG_1.jpg.xmp"
    assert sidecar_path(photo, "photo.xmp") == tmp_path / "IMG_1.xmp"
    with pytest.raises(ValueError, match="unknown sidecar style"):
        sidecar_path(photo, "IMG_1.XMP")

    assert existing_sidecar(photo) is None
    (tmp_path / "IMG_1.xmp").write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    assert existing_sidecar(photo) == tmp_path / "IMG_1.xmp"
    (tmp_path / "IMG_1.jpg.xmp").write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    assert existing_sidecar(photo) == tmp_path / "IMG_1.jpg.xmp"


def test_new_sidecar_round_trip_and_photo_untouched(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "beach.jpg")
    os.utime(photo, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    digest, mtime = sha256(photo), photo.stat().st_mtime_ns

    written = write_sidecar_tags(
        photo, ["beach", "sunset", "beach"], hierarchy={"beach": "PhotoClip|scenes|beach"}
    )

    assert written == tmp_path / "beach.jpg.xmp"
    detail = xmp_detail(written)
    assert detail[xmp.SUBJECT]["value"] == ["beach", "sunset"]
    assert detail[xmp.SUBJECT]["typeName"] == "XmpBag"  # dc:subject is a bag by the XMP spec
    assert detail[xmp.LR_HIERARCHY]["value"] == ["PhotoClip|scenes|beach", "sunset"]
    assert detail[xmp.LR_HIERARCHY]["typeName"] == "XmpBag"
    assert detail[xmp.DIGIKAM_TAGS]["value"] == ["PhotoClip/scenes/beach", "sunset"]
    assert read_keywords(photo) == ["beach", "sunset"]
    assert (sha256(photo), photo.stat().st_mtime_ns) == (digest, mtime)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["beach.jpg", "beach.jpg.xmp"]


def test_existing_sidecar_keeps_other_metadata_and_remove_drops(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "IMG_2.jpg")
    sidecar = tmp_path / "IMG_2.jpg.xmp"
    sidecar.write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    before = xmp_values(sidecar)

    assert write_sidecar_tags(photo, ["tower"], remove=["OLD"]) == sidecar

    after = xmp_values(sidecar)
    # exiv2 mirrors sidecar keywords into IPTC internally; a removed one must not come back from there.
    assert after[xmp.SUBJECT] == ["Paris", "tower"]
    assert after[xmp.LR_HIERARCHY] == ["Places|France|Paris", "tower"]
    assert after[xmp.DIGIKAM_TAGS] == ["Paris", "tower"]
    untouched = {k: v for k, v in before.items() if k not in KEYWORD_KEYS}
    assert {k: v for k, v in after.items() if k not in KEYWORD_KEYS} == untouched
    assert after["Xmp.xmp.Rating"] == "4"
    assert after["Xmp.exif.DateTimeOriginal"] == "2021-07-14T10:11:12.345+02:00"
    assert after["Xmp.darktable.history[1]/darktable:operation"] == "exposure"
    assert read_keywords(photo) == ["Paris", "tower"]


def test_removing_a_lightroom_leaf_keeps_its_parent_path(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "p.jpg")
    write_sidecar_tags(photo, ["Places", "France", "Paris"], hierarchy={"Paris": "Places|France|Paris"})
    assert xmp_values(sidecar_path(photo))[xmp.LR_HIERARCHY] == ["Places|France|Paris"]

    write_sidecar_tags(photo, [], remove=["paris"])

    values = xmp_values(sidecar_path(photo))
    assert values[xmp.SUBJECT] == ["Places", "France"]
    assert values[xmp.LR_HIERARCHY] == ["Places|France"]
    assert read_keywords(photo) == ["Places", "France"]


# Where xmp_sync.hierarchy files a concept's keyword in the keyword tree.
CONCEPT_PATH = "PhotoClip|concepts|Christmas"


def test_a_sidecar_loses_the_last_keyword_photoclip_gave(tmp_path: Path) -> None:
    # exiv2 writes nothing for an empty XMP (get_bytes() gives back the old bytes): a concept
    # removed from a photo whose only keyword it was stayed in the sidecar, read back on reindex.
    photo = make_jpeg(tmp_path / "green-1.jpg")
    sidecar = write_sidecar_tags(photo, ["Christmas"], hierarchy={"Christmas": CONCEPT_PATH})
    assert read_keywords(photo) == ["Christmas"]

    assert write_sidecar_tags(photo, [], remove=["Christmas"]) == sidecar

    assert read_keywords(photo) == [] and xmp_values(sidecar) == {}
    write_sidecar_tags(photo, ["beach"])  # the emptied sidecar is still one exiv2 recognises
    assert read_keywords(photo) == ["beach"]


def test_dropping_every_keyword_keeps_what_other_tools_wrote(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "IMG_3.jpg")
    sidecar = tmp_path / "IMG_3.jpg.xmp"
    sidecar.write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    before = xmp_values(sidecar)

    write_sidecar_tags(photo, [], remove=["Paris", "old"])

    after = xmp_values(sidecar)
    assert read_keywords(photo) == [] and not KEYWORD_KEYS & after.keys()
    assert after == {k: v for k, v in before.items() if k not in KEYWORD_KEYS}


def test_lightroom_style_sidecar_is_updated_not_duplicated(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "DSC_7.jpg")
    lightroom = write_sidecar_tags(photo, ["dog"], style="photo.xmp")
    assert lightroom == tmp_path / "DSC_7.xmp"

    assert write_sidecar_tags(photo, ["park"]) == lightroom

    assert not (tmp_path / "DSC_7.jpg.xmp").exists()
    assert xmp_values(lightroom)[xmp.SUBJECT] == ["dog", "park"]
    assert read_keywords(photo) == ["dog", "park"]


def test_reads_embedded_xmp_and_iptc_after_the_sidecar(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "embedded.jpg")
    embed_keywords(photo, ["Sunset", "café"], ["sunset", "東京", "iptc only"])
    assert read_keywords(photo) == ["Sunset", "café", "東京", "iptc only"]

    write_sidecar_tags(photo, ["SUNSET", "sidecar"])
    # Writing never copies embedded keywords into the sidecar, and the sidecar's spelling comes first.
    assert xmp_values(sidecar_path(photo))[xmp.SUBJECT] == ["SUNSET", "sidecar"]
    assert read_keywords(photo) == ["SUNSET", "sidecar", "café", "東京", "iptc only"]


def test_legacy_latin1_iptc_keywords(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "old.jpg")
    embed_keywords(photo, [], ["caf\xe9", "plage"], iptc_encoding="latin-1")
    assert read_keywords(photo) == ["café", "plage"]


def test_hierarchical_leaves_are_keywords_but_names_with_separators_stay_whole(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "h.jpg")
    sidecar = sidecar_path(photo)
    write_sidecar_tags(photo, ["AC/DC", "x|y"], hierarchy={"AC/DC": "Music|AC/DC"})
    assert read_keywords(photo) == ["AC/DC", "x|y"]

    # digiKam and Lightroom sidecars without dc:subject: the last level of each path is the keyword.
    with pyexiv2.ImageData(sidecar.read_bytes()) as img:
        img.clear_iptc()
        img.modify_xmp(
            {
                xmp.SUBJECT: None,
                xmp.DIGIKAM_TAGS: ["People/Alice", "Places/Oslo"],
                xmp.LR_HIERARCHY: ["Animals|Cat", "People|Alice"],
            }
        )
        sidecar.write_bytes(img.get_bytes())
    assert read_keywords(photo) == ["Cat", "Alice", "Oslo"]


def test_non_ascii_tags_and_file_names(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "Fotos 東京" / "café été.jpg")
    embed_keywords(photo, ["ünïcode"], ["日本"])
    tags = ["東京", "café", "Ωmega", "type=Bag x"]  # exiv2 reads a leading "type=" as a directive

    written = write_sidecar_tags(photo, tags, hierarchy={"東京": "Orte|日本|東京"})

    assert written == tmp_path / "Fotos 東京" / "café été.jpg.xmp"
    values = xmp_values(written)
    assert values[xmp.SUBJECT] == tags
    assert values[xmp.LR_HIERARCHY] == ["Orte|日本|東京", "café", "Ωmega", "type=Bag x"]
    assert values[xmp.DIGIKAM_TAGS] == ["Orte/日本/東京", "café", "Ωmega", "type=Bag x"]
    assert read_keywords(photo) == [*tags, "ünïcode", "日本"]


def test_non_ascii_posix_name_that_is_not_utf8(tmp_path: Path) -> None:
    if sys.platform == "win32" or sys.getfilesystemencoding().lower() not in {"utf-8", "utf8"}:
        pytest.skip("needs a POSIX file system with UTF-8 names")
    raw = os.path.join(os.fsencode(tmp_path), b"bad-\xff.jpg")
    try:
        make_jpeg(Path(os.fsdecode(raw)))
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    photo = Path(os.fsdecode(raw))
    embed_keywords_via_bytes(photo, ["odd name"])
    assert read_keywords(photo) == ["odd name"]


def test_unreadable_metadata_gives_no_keywords_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe1" + b"garbage" * 10)
    unknown = tmp_path / "notes.jpg"
    unknown.write_text("not an image", encoding="utf-8")
    missing = tmp_path / "gone.jpg"

    with caplog.at_level(logging.WARNING, logger="photoclip.core.files.xmp"):
        assert read_keywords(corrupt) == []
        assert read_keywords(unknown) == []
        assert read_keywords(missing) == []
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 3
    assert str(corrupt) in warned[0]

    # A readable sidecar still counts when the photo itself is not.
    sidecar_path(corrupt).write_text(DARKTABLE_SIDECAR, encoding="utf-8")
    assert read_keywords(corrupt) == ["Paris", "old"]


def test_corrupt_sidecar_is_reported_and_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    photo = make_jpeg(tmp_path / "a.jpg")
    sidecar = sidecar_path(photo)
    sidecar.write_bytes(b"<not xmp at all>" * 10)
    with caplog.at_level(logging.WARNING, logger="photoclip.core.files.xmp"):
        assert read_keywords(photo) == []
    assert any(str(sidecar) in r.getMessage() for r in caplog.records)

    with pytest.raises(XmpError, match=r"a\.jpg\.xmp"):
        write_sidecar_tags(photo, ["x"])
    assert sidecar.read_bytes() == b"<not xmp at all>" * 10
    assert leftovers(tmp_path) == []


def test_failed_replace_leaves_the_old_sidecar_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = make_jpeg(tmp_path / "b.jpg")
    sidecar = write_sidecar_tags(photo, ["first"])
    before = sidecar.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xmp.os, "replace", crash)
    with pytest.raises(XmpError, match=r"b\.jpg\.xmp.*No space left"):
        write_sidecar_tags(photo, ["second"])
    assert sidecar.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_sidecar_path_taken_by_a_directory_raises(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "c.jpg")
    (tmp_path / "c.jpg.xmp").mkdir()
    with pytest.raises(XmpError, match=r"c\.jpg\.xmp"):
        write_sidecar_tags(photo, ["x"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.jpg", "c.jpg.xmp"]
    assert list((tmp_path / "c.jpg.xmp").iterdir()) == []


def test_read_only_folder_raises_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    photo = make_jpeg(folder / "d.jpg")
    if sys.platform == "win32" or os.geteuid() == 0:  # mode bits do not stop them: refuse the create
        real_open = os.open

        def refuse(path: object, flags: int, *args: Any) -> int:
            if flags & os.O_CREAT:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args)

        monkeypatch.setattr(xmp.os, "open", refuse)
    folder.chmod(0o555)
    try:
        with pytest.raises(XmpError, match=r"d\.jpg\.xmp.*Permission denied"):
            write_sidecar_tags(photo, ["x"])
        assert sorted(p.name for p in folder.iterdir()) == ["d.jpg"]
    finally:
        folder.chmod(0o755)


# As root, then as nobody: exiv2 and every lazy import load on the warm-up write (the
# interpreter's own files may be root's only), then the real write meets the mode bits.
_WRITE_AS_NOBODY = """
import json, os, sys
from pathlib import Path
from photoclip.core.files.xmp import XmpError, write_sidecar_tags

write_sidecar_tags(Path(sys.argv[2]), ["warm-up"])
try:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
except OSError as exc:
    print(json.dumps({"skip": f"cannot become nobody: {exc}"}))
    raise SystemExit(0)
photo = Path(sys.argv[1])
try:
    write_sidecar_tags(photo, ["x"])
    error = None
except XmpError as exc:
    error = str(exc)
print(json.dumps({"uid": os.getuid(), "error": error, "left": sorted(os.listdir(photo.parent))}))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and users")
def test_read_only_folder_refuses_an_unprivileged_writer(tmp_path: Path) -> None:
    """The refusal above from the mode bits themselves, not a patched os.open: as root,
    in a child process that becomes nobody (uid 65534) before it writes."""
    import json
    import shutil
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("not root: the test above already meets the mode bits unprivileged")
    base = Path(tempfile.mkdtemp(prefix="photoclip-ro-"))  # tmp_path's parents are root's only
    try:
        folder = base / "ro"
        photo = make_jpeg(folder / "d.jpg")
        for path in (base, folder, photo):
            os.chown(path, 65534, 65534)  # nobody's own folder: only its mode refuses the write
        folder.chmod(0o555)
        done = subprocess.run(
            [sys.executable, "-c", _WRITE_AS_NOBODY, str(photo), str(make_jpeg(tmp_path / "warm.jpg"))],
            capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        if "skip" in result:
            pytest.skip(result["skip"])
        assert result["uid"] == 65534
        assert result["error"] is not None and "d.jpg.xmp" in result["error"]
        assert "Permission denied" in result["error"]
        assert result["left"] == ["d.jpg"]
    finally:
        shutil.rmtree(base)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_sidecar_permissions_follow_umask_and_are_kept(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "e.jpg")
    old = os.umask(0o022)
    try:
        sidecar = write_sidecar_tags(photo, ["x"])
    finally:
        os.umask(old)
    assert sidecar.stat().st_mode & 0o777 == 0o644  # readable by other tools, unlike a mkstemp file
    sidecar.chmod(0o640)
    write_sidecar_tags(photo, ["y"])
    assert sidecar.stat().st_mode & 0o777 == 0o640


def test_importing_the_module_does_not_load_exiv2() -> None:
    probe = "import sys, photoclip.core.files.xmp; print('pyexiv2' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
