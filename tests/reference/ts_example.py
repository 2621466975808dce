"""A real low-density lumbar CT with a reference segmentation, for the spine
tests: TotalSegmentator's example abdomen-pelvis CT (3 mm, lumbar marrow at
110-130 HU) and its own "fast" model output, both shipped in the
`totalsegmentator` source distribution on PyPI (pinned by version and
sha256). The CT is written as a DICOM series with
`../shared/tools/make_series.py --nifti`; the reference labels are written
on the same grid as raw u8 (slice, row, column) with TotalSegmentator's
class values (25 sacrum, 26 S1, 27 L5 ... 31 L1, 32 T12, 33 T11).

With `--fine`, the same CT resampled (linear) to 0.7 mm pixels and 1 mm
slices (523x433x336, about as many voxels as a 512x512x300 CT), is written to
OUT_DIR/ct-fine instead: the benchmark times the spine analysis of a real
low-density CT of the issue's size on it, in the browser and natively.

With `--noisy`, the same CT with 100 HU added inside the reference's bone
(a normal-density stand-in), resampled (linear) to 1 mm voxels, with 40 HU
of noise grained like a CT's (white noise blurred by a Gaussian of sigma
0.7 voxel, fixed seed), is written to OUT_DIR/ct-noisy: the end-to-end test
opens it in the browser, where the spine analysis must read it in blocks
and name it as on the quiet CT.

With `--fine-noisy`, the `--fine` resample of the CT as scanned (its dim,
osteoporotic bone) with the same 40 HU of grained noise, is written to
OUT_DIR/ct-fine-noisy: the benchmark's noisy low-density spine, which the
analysis reads in blocks and then voxel by voxel (its slowest path).

usage: python ts_example.py OUT_DIR [--fine | --noisy | --fine-noisy]
"""

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "2.18.0"
SHA256 = "5d4223ef93973bc36d710869d11e7742ead2c154c72f7f9edcaaadd5b6c4bd03"
MEMBERS = {
    "ct": "tests/reference_files/example_ct.nii.gz",
    "reference": "tests/reference_files/example_seg_fast_force_split.nii.gz",
}


FINE_MM = (0.7, 0.7, 1.0)
NOISY_MM = (1.0, 1.0, 1.0)
NOISE_HU = 40.0


def main(out: Path, fine: bool, noisy: bool, fine_noisy: bool) -> None:
    here = Path(__file__).resolve().parent
    make_series = here.parents[1] / ".." / "shared" / "tools" / "make_series.py"
    sys.path.insert(0, str(make_series.parent))
    from make_series import load_nifti  # noqa: E402  (the series' own reader)

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
             f"totalsegmentator=={VERSION}", "--no-deps", "--no-binary", ":all:", "-d", str(tmp)],
            check=True,
        )
        sdist = tmp / f"totalsegmentator-{VERSION}.tar.gz"
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != SHA256:
            sys.exit(f"{sdist.name}: sha256 {digest}, expected {SHA256}")
        with tarfile.open(sdist) as tar:
            for name, member in MEMBERS.items():
                data = tar.extractfile(f"totalsegmentator-{VERSION}/{member}").read()
                (tmp / f"{name}.nii.gz").write_bytes(data)

        def series(nifti: str, description: str, folder: str) -> None:
            """`tmp / nifti` written as a DICOM series to `out / folder`."""
            subprocess.run(
                [sys.executable, str(make_series), "--nifti", str(tmp / nifti), "--signed",
                 "--description", description, "--out", str(out / folder)],
                check=True,
            )

        if noisy:
            write_denser(tmp / "ct.nii.gz", tmp / "reference.nii.gz", tmp / "denser.nii.gz")
            write_resampled(tmp / "denser.nii.gz", tmp / "noisy.nii.gz", NOISY_MM, NOISE_HU)
            series("noisy.nii.gz", "TOTALSEGMENTATOR EXAMPLE CT 1 MM NOISY", "ct-noisy")
            return
        if fine_noisy:
            write_resampled(tmp / "ct.nii.gz", tmp / "fine-noisy.nii.gz", FINE_MM, NOISE_HU)
            series("fine-noisy.nii.gz", "TOTALSEGMENTATOR EXAMPLE CT 0.7 MM NOISY", "ct-fine-noisy")
            return
        if fine:
            write_resampled(tmp / "ct.nii.gz", tmp / "fine.nii.gz", FINE_MM, 0.0)
            series("fine.nii.gz", "TOTALSEGMENTATOR EXAMPLE CT 0.7 MM", "ct-fine")
            return
        series("ct.nii.gz", "TOTALSEGMENTATOR EXAMPLE CT", "ct")
        labels, spacing = load_nifti(str(tmp / "reference.nii.gz"), None)
        (out / "reference.u8").write_bytes(labels.astype("uint8").tobytes())
        (out / "reference.json").write_text(
            json.dumps({"shape": list(labels.shape), "spacing": list(spacing),
                        "source": f"totalsegmentator {VERSION} sdist, {MEMBERS['reference']}"}))


def write_denser(source: Path, reference: Path, target: Path) -> None:
    """`source` with 100 HU added inside the reference's bone (blurred by
    sigma 0.7 voxel, as soft as the scan's edges): a stand-in for a
    normal-density CT, as the spine crate's tests make it (`denser`)."""
    import nibabel as nib
    import numpy as np
    from scipy import ndimage

    image = nib.load(str(source))
    labels = np.asanyarray(nib.load(str(reference)).dataobj).astype(np.int32)
    bone = ((labels >= 25) & (labels <= 50)) | ((labels >= 75) & (labels <= 78)) \
        | ((labels >= 92) & (labels <= 117))
    added = ndimage.gaussian_filter(bone.astype(np.float32) * 100.0, 0.7, truncate=3.0 / 0.7)
    voxels = np.asanyarray(image.dataobj).astype(np.float32) + added
    nib.save(nib.Nifti1Image(voxels, image.affine, image.header), str(target))


def write_resampled(source: Path, target: Path, mm, noise_hu: float) -> None:
    """`source` resampled linearly to `mm` voxels, with `noise_hu` of noise
    (white, blurred by sigma 0.7 voxel, scaled to that standard deviation)
    added where it is above 0, as a NIfTI."""
    import nibabel as nib
    import numpy as np
    from scipy import ndimage

    image = nib.as_closest_canonical(nib.load(str(source)))
    voxels = np.asanyarray(image.dataobj).astype(np.float32)
    zooms = [float(z) for z in image.header.get_zooms()[:3]]
    fine = ndimage.zoom(voxels, [z / f for z, f in zip(zooms, mm)], order=1)
    if noise_hu > 0:
        noise = ndimage.gaussian_filter(
            np.random.default_rng(20261204).standard_normal(fine.shape).astype(np.float32), 0.7)
        fine += noise * (noise_hu / noise.std())
    affine = np.diag([*mm, 1.0])
    nib.save(nib.Nifti1Image(np.rint(fine).astype(np.int16), affine), str(target))


if __name__ == "__main__":
    flags = sys.argv[2:]
    main(Path(sys.argv[1]), "--fine" in flags, "--noisy" in flags, "--fine-noisy" in flags)
