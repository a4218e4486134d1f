"""Regenerates ``xmp_packets/``: XMP packets shaped like the ones cameras, phones and editors write, made by
exiftool (``python tests/unit/scrub/make_xmp_packets.py``; needs exiftool and Pillow). The packets are
committed so the golden test does not depend on exiftool's version; ``pixel.xmp`` is written by hand
(exiftool cannot write Google's ``GContainer`` directory). ``*-scrubbed.xmp`` are the same-size filter's
outputs (what the verifier reads back), written by the filter as it was before the round 12 speed work."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import scrub_fixtures as gen  # noqa: E402

_HISTORY = [
    f"-XMP-xmpMM:History+={{Action=saved,InstanceID=xmp.iid:{i:08x}-aa5c-4a5e-9d5e-3c0f{i:08x},"
    f"When=2024-05-0{i % 9 + 1}T10:1{i}:00+02:00,SoftwareAgent=Adobe Photoshop Lightroom Classic 13.2 "
    f"(Macintosh),Changed=/metadata}}"
    for i in range(6)
]
_CRS = [
    "-XMP-crs:Version=16.2",
    "-XMP-crs:ProcessVersion=11.0",
    "-XMP-crs:WhiteBalance=As Shot",
    "-XMP-crs:ColorTemperature=5200",
    "-XMP-crs:Tint=+8",
    "-XMP-crs:Exposure2012=+0.35",
    "-XMP-crs:Contrast2012=+12",
    "-XMP-crs:Highlights2012=-40",
    "-XMP-crs:Shadows2012=+25",
    "-XMP-crs:Whites2012=+5",
    "-XMP-crs:Blacks2012=-8",
    "-XMP-crs:Texture=0",
    "-XMP-crs:Clarity2012=+10",
    "-XMP-crs:Dehaze=0",
    "-XMP-crs:Vibrance=+15",
    "-XMP-crs:Saturation=0",
    "-XMP-crs:Sharpness=40",
    "-XMP-crs:LuminanceSmoothing=0",
    "-XMP-crs:ColorNoiseReduction=25",
    "-XMP-crs:LensProfileEnable=1",
    "-XMP-crs:LensManualDistortionAmount=0",
    "-XMP-crs:CameraProfile=Adobe Standard",
    "-XMP-crs:HasSettings=True",
    "-XMP-crs:HasCrop=False",
    "-XMP-crs:AlreadyApplied=True",
    "-XMP-crs:ToneCurveName2012=Linear",
    "-XMP-crs:ToneCurvePV2012=0, 0",
    "-XMP-crs:ToneCurvePV2012+=255, 255",
]
_CAMERA = [
    "-XMP-tiff:Make=Canon",
    "-XMP-tiff:Model=Canon EOS R6",
    "-XMP-tiff:Orientation=Horizontal (normal)",
    "-XMP-exif:ExposureTime=1/250",
    "-XMP-exif:FNumber=5.6",
    "-XMP-exif:ISO=200",
    "-XMP-exif:DateTimeOriginal=2024:05:01 10:12:13",
    "-XMP-exif:FocalLength=35",
    "-XMP-exif:GPSLatitude=48.8584N",
    "-XMP-exif:GPSLongitude=2.2945E",
    "-XMP-exif:GPSAltitude=35",
    "-XMP-exif:GPSVersionID=2.3.0.0",
    "-XMP-aux:SerialNumber=012345678901",
    "-XMP-aux:Lens=RF24-105mm F4 L IS USM",
    "-XMP-aux:LensSerialNumber=9900112233",
    "-XMP-xmp:CreatorTool=Adobe Photoshop Lightroom Classic 13.2 (Macintosh)",
    "-XMP-xmp:CreateDate=2024-05-01T10:12:13.45",
    "-XMP-xmp:ModifyDate=2024-05-03T18:01:02+02:00",
    "-XMP-xmp:MetadataDate=2024-05-03T18:01:02+02:00",
    "-XMP-xmp:Rating=4",
    "-XMP-dc:Format=image/jpeg",
    "-XMP-dc:Creator=Jane Photographer",
    "-XMP-dc:Rights=(c) 2024 Jane Photographer",
    "-XMP-dc:Subject=paris",
    "-XMP-dc:Subject=tower & river",
    "-XMP-dc:Subject=<night>",
    "-XMP-dc:Title=Eiffel at dusk",
    '-XMP-dc:Description=Seen from the "Trocadero"\nsecond line',
    "-XMP-photoshop:City=Paris",
    "-XMP-photoshop:Country=France",
    "-XMP-photoshop:DateCreated=2024-05-01T10:12:13.45",
    "-XMP-iptcCore:Location=Trocadero",
    "-XMP-iptcCore:CountryCode=FR",
    "-XMP-iptcCore:CreatorContactInfo={CiAdrCity=Lyon,CiEmailWork=jane@example.com}",
    "-XMP-xmpMM:DocumentID=xmp.did:5a3f2c1e-8d4b-4f8a-9b21-0e6c7d8f9a01",
    "-XMP-xmpMM:OriginalDocumentID=4F1E2D3C4B5A69788796A5B4C3D2E1F0",
    "-XMP-xmpMM:InstanceID=xmp.iid:5a3f2c1e-8d4b-4f8a-9b21-0e6c7d8f9a02",
    "-XMP-xmpMM:DerivedFrom={DocumentID=xmp.did:1,InstanceID=xmp.iid:2}",
]
PROFILES: dict[str, tuple[list[str], list[str]]] = {
    # Lightroom export: one rdf:Description, simple properties as attributes (exiftool's "shorthand").
    "lightroom": (["-api", "Compact=Shorthand,OneDesc"], _CAMERA + _CRS + _HISTORY),
    # Photoshop save: elements, indented, with a long DocumentAncestors bag and history.
    "photoshop": (
        [],
        [
            *_CAMERA,
            "-XMP-xmp:CreatorTool=Adobe Photoshop 25.5 (Windows)",
            "-XMP-photoshop:ColorMode=RGB",
            "-XMP-photoshop:ICCProfileName=sRGB IEC61966-2.1",
            *[
                f"-XMP-photoshop:DocumentAncestors=adobe:docid:photoshop:{i:04x}e3c2-1b0a-11ef-9a1b-{i:012x}"
                for i in range(40)
            ],
            *_HISTORY,
        ],
    ),
    # iPhone: a short packet, no location in the XMP (it is in EXIF).
    "iphone": (
        [],
        [
            "-XMP-xmp:CreatorTool=17.4.1",
            "-XMP-xmp:CreateDate=2024-05-01T10:12:13.456",
            "-XMP-xmp:ModifyDate=2024-05-01T10:12:13",
            "-XMP-photoshop:DateCreated=2024-05-01T10:12:13.456",
            "-XMP-exifEX:PhotographicSensitivity=64",
        ],
    ),
    # The benchmark photo's packet (bench/bench_scrub.py ``make_photo``): the fixtures' image tags.
    "bench": ([], gen.IMAGE_TAGS),
    # exiftool's own tags, as a batch tool would write them (the bench photo's tag set is in the bench).
    "exiftool": (
        [],
        [
            "-XMP-dc:Title=holiday",
            "-XMP-dc:Subject=beach",
            "-XMP-dc:Subject=sea",
            "-XMP-xmp:Rating=3",
            "-XMP-iptcExt:LocationShownCity=Nice",
            "-XMP-iptcExt:LocationShownCountryName=France",
            "-XMP-iptcExt:LocationCreatedSublocation=Promenade",
            "-XMP-iptcExt:PersonInImage=Bob",
        ],
    ),
}


def make_packet(profile: str) -> bytes:
    from PIL import Image

    opts, tags = PROFILES[profile]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "p.jpg"
        Image.new("RGB", (8, 8)).save(p)
        assert gen.EXIFTOOL
        subprocess.run([gen.EXIFTOOL, "-q", "-m", "-overwrite_original", *opts, *tags, str(p)], check=True)
        return subprocess.run([gen.EXIFTOOL, "-b", "-XMP", str(p)], check=True, capture_output=True).stdout


if __name__ == "__main__":
    out = HERE / "xmp_packets"
    out.mkdir(exist_ok=True)
    for name in PROFILES:
        (out / f"{name}.xmp").write_bytes(make_packet(name))
    from tutela.scrub import xmp

    for p in sorted(out.glob("*.xmp")):
        if not p.stem.endswith("-scrubbed"):
            new, _ = xmp.sanitize_same_size(p.read_bytes())
            if new is not None:
                (out / f"{p.stem}-scrubbed.xmp").write_bytes(new)
