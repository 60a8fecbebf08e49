/// <reference path="./dcmjs.d.ts" />
import { encodeJpeg } from './image-codec';
import type { FakePhi } from './phi';

/*
 * Writes the synthetic RSNA/SIIM films as DICOM Part 10 files shaped like the real ones (both were produced by
 * DCMTK 3.6.0): Secondary Capture, CR, 8-bit MONOCHROME2, and by default JPEG Baseline (Process 1) with the
 * pixel data encapsulated in one fragment. The file encoding is dcmjs's (a maintained DICOM library); one
 * difference from the DCMTK files is that dcmjs writes a Basic Offset Table with one entry (0) where DCMTK
 * left it empty, both valid per PS3.5 A.4. Fake PHI (see phi.ts) fills the patient and study tags.
 */

/** Transfer syntax of a synthetic DICOM file. */
export type DicomTransferSyntax = 'jpeg-baseline' | 'explicit-vr-little-endian';

/** The DICOM transfer-syntax UIDs used here. */
export const TRANSFER_SYNTAX_UID: Readonly<Record<DicomTransferSyntax, string>> = {
  'jpeg-baseline': '1.2.840.10008.1.2.4.50',
  'explicit-vr-little-endian': '1.2.840.10008.1.2.1',
};

/** SOP Class UID of Secondary Capture Image Storage. */
export const SECONDARY_CAPTURE_UID = '1.2.840.10008.5.1.4.1.1.7';

/** Everything one synthetic DICOM film needs. */
export interface DicomFilm {
  /** 8-bit gray pixels [H, W] row-major, MONOCHROME2. */
  pixels: Uint8Array;
  width: number;
  height: number;
  transferSyntax: DicomTransferSyntax;
  jpegQuality: number;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  patientId: string;
  patientSex: 'M' | 'F';
  /** Years, written as the real files do (`62`, no AS unit suffix). */
  patientAge: number;
  viewPosition: 'PA' | 'AP';
  /** Pixel spacing in mm (row and column). */
  pixelSpacing: number;
  phi: FakePhi;
}

/** Formats a DS value within its 16-character limit. */
function ds(v: number): string {
  return String(Number(v.toPrecision(8)));
}

/** Encodes one film as DICOM Part 10 bytes. Node and browsers (JPEG needs sharp, so Node for that syntax). */
export async function encodeDicomFilm(film: DicomFilm): Promise<Uint8Array> {
  const { default: dcmjs } = await import('dcmjs');
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const jpeg = film.transferSyntax === 'jpeg-baseline';
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: SECONDARY_CAPTURE_UID,
    MediaStorageSOPInstanceUID: film.sopInstanceUid,
    TransferSyntaxUID: TRANSFER_SYNTAX_UID[film.transferSyntax],
    ImplementationClassUID: '1.2.276.0.7230010.3.0.3.6.0',
    ImplementationVersionName: 'OFFIS_DCMTK_360',
  };
  let pixelData: ArrayBuffer;
  if (jpeg) {
    const bytes = await encodeJpeg(film.pixels, film.width, film.height, film.jpegQuality, 1);
    pixelData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  } else {
    pixelData = film.pixels.buffer.slice(
      film.pixels.byteOffset,
      film.pixels.byteOffset + film.pixels.byteLength,
    ) as ArrayBuffer;
  }
  const { phi } = film;
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 100',
    SOPClassUID: SECONDARY_CAPTURE_UID,
    SOPInstanceUID: film.sopInstanceUid,
    StudyDate: phi.studyDate,
    StudyTime: phi.studyTime,
    AccessionNumber: phi.accessionNumber,
    Modality: 'CR',
    ConversionType: 'WSD',
    InstitutionName: phi.institutionName,
    InstitutionAddress: phi.institutionAddress,
    ReferringPhysicianName: phi.referringPhysicianName,
    StationName: phi.stationName,
    SeriesDescription: `view: ${film.viewPosition}`,
    OperatorsName: phi.operatorsName,
    PatientName: phi.patientName,
    PatientID: film.patientId,
    PatientBirthDate: phi.patientBirthDate,
    PatientSex: film.patientSex,
    PatientAge: String(film.patientAge),
    PatientAddress: phi.patientAddress,
    BodyPartExamined: 'CHEST',
    ViewPosition: film.viewPosition,
    StudyInstanceUID: film.studyInstanceUid,
    SeriesInstanceUID: film.seriesInstanceUid,
    StudyID: phi.studyId,
    SeriesNumber: '1',
    InstanceNumber: '1',
    PatientOrientation: '',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: film.height,
    Columns: film.width,
    PixelSpacing: [ds(film.pixelSpacing), ds(film.pixelSpacing)],
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: [pixelData],
    _vrMap: { PixelData: 'OB' },
  };
  if (jpeg) {
    dataset['LossyImageCompression'] = '01';
    dataset['LossyImageCompressionMethod'] = 'ISO_10918_1';
  }
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write({ fragmentMultiframe: false }));
}
