"""A series whose headers claim more voxels than a browser tab can hold.

Usage: oversize_series.py OUT_DIR [ROWS] [SLICES]

Writes SLICES single-frame CT files of ROWS x ROWS (default 1024 x 1700:
3.6 GB of i16 voxels, beyond the 3 GiB a volume may take in the study
worker) whose pixels are one RLE Lossless frame of air, shared by every
file, so the folder is small (a few MB) while the series is huge. The app
must say it is too large before decoding anything, and stay usable.
"""

import sys
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, RLELossless, generate_uid


def main() -> None:
    out = Path(sys.argv[1])
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    slices = int(sys.argv[3]) if len(sys.argv) > 3 else 1700
    out.mkdir(parents=True, exist_ok=True)
    series = generate_uid()
    study = generate_uid()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.PatientName = "OVERSIZE^PHANTOM"
    ds.PatientID = "OVERSIZE"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.SeriesDescription = "Oversize phantom (headers only)"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.SliceThickness = 0.5
    ds.Rows = rows
    ds.Columns = rows
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.compress(RLELossless, np.full((rows, rows), -1000, dtype=np.int16))
    for k in range(slices):
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [0, 0, 0.5 * k]
        ds.save_as(out / f"{k:05d}.dcm", enforce_file_format=True)


if __name__ == "__main__":
    main()
