"""Writes a copy of a DICOM series whose headers carry distinctive
identifiers, for the test that searches everything the app persisted.

usage: privacy_probe.py SOURCE_DIR OUT_DIR
Prints the probe strings, one per line.
"""
import pathlib
import sys

import pydicom

PROBES = {
    "PatientName": "ZZPRIVACY^PROBE",
    "PatientID": "ZZPID-4471-PROBE",
    "PatientBirthDate": "19010203",
    "AccessionNumber": "ZZACC98765",
    "InstitutionName": "ZZ Privacy Probe Hospital",
    "ReferringPhysicianName": "ZZDOCTOR^PROBE",
    "StudyDescription": "ZZ PROBE STUDY DESCRIPTION",
    "SeriesDescription": "ZZ PROBE SERIES DESCRIPTION",
    "StudyInstanceUID": "1.2.826.0.1.3680043.8.498.77001",
    "SeriesInstanceUID": "1.2.826.0.1.3680043.8.498.77002",
}
SOP_PREFIX = "1.2.826.0.1.3680043.8.498.77003."


def main(source: str, out: str) -> None:
    out_dir = pathlib.Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in pathlib.Path(source).iterdir() if p.suffix == ".dcm")
    for n, path in enumerate(files):
        ds = pydicom.dcmread(path)
        for keyword, value in PROBES.items():
            setattr(ds, keyword, value)
        ds.SOPInstanceUID = f"{SOP_PREFIX}{n + 1}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(out_dir / path.name)
    for value in PROBES.values():
        print(value)
    print(SOP_PREFIX + "1")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
