/**
 * Identifying DICOM attributes (PS3.15 Annex E Basic Profile, the subset listed in specs/DATASETS.md §6).
 *
 * The loaders never log these, never copy them into `Sample.meta` and never write them out. In RSNA and SIIM
 * some of them are the dataset join keys (PatientID = RSNA patientId, SOPInstanceUID = SIIM ImageId); the
 * loaders take those keys from the CSV, not from the DICOM.
 */
export const PHI_TAGS: readonly { readonly tag: string; readonly keyword: string }[] = Object.freeze(
  [
    { tag: 'x00100010', keyword: 'PatientName' },
    { tag: 'x00100020', keyword: 'PatientID' },
    { tag: 'x00100030', keyword: 'PatientBirthDate' },
    { tag: 'x00100032', keyword: 'PatientBirthTime' },
    { tag: 'x00100040', keyword: 'PatientSex' },
    { tag: 'x00101010', keyword: 'PatientAge' },
    { tag: 'x00101000', keyword: 'OtherPatientIDs' },
    { tag: 'x00101001', keyword: 'OtherPatientNames' },
    { tag: 'x00101002', keyword: 'OtherPatientIDsSequence' },
    { tag: 'x00101040', keyword: 'PatientAddress' },
    { tag: 'x00102154', keyword: 'PatientTelephoneNumbers' },
    { tag: 'x00101020', keyword: 'PatientSize' },
    { tag: 'x00101030', keyword: 'PatientWeight' },
    { tag: 'x001021b0', keyword: 'AdditionalPatientHistory' },
    { tag: 'x00104000', keyword: 'PatientComments' },
    { tag: 'x00080050', keyword: 'AccessionNumber' },
    { tag: 'x00200010', keyword: 'StudyID' },
    { tag: 'x00080020', keyword: 'StudyDate' },
    { tag: 'x00080021', keyword: 'SeriesDate' },
    { tag: 'x00080022', keyword: 'AcquisitionDate' },
    { tag: 'x00080023', keyword: 'ContentDate' },
    { tag: 'x00080030', keyword: 'StudyTime' },
    { tag: 'x00080031', keyword: 'SeriesTime' },
    { tag: 'x00080032', keyword: 'AcquisitionTime' },
    { tag: 'x00080033', keyword: 'ContentTime' },
    { tag: 'x00080080', keyword: 'InstitutionName' },
    { tag: 'x00080081', keyword: 'InstitutionAddress' },
    { tag: 'x00080090', keyword: 'ReferringPhysicianName' },
    { tag: 'x00081050', keyword: 'PerformingPhysicianName' },
    { tag: 'x00081070', keyword: 'OperatorsName' },
    { tag: 'x00081010', keyword: 'StationName' },
    { tag: 'x00181000', keyword: 'DeviceSerialNumber' },
    { tag: 'x00081030', keyword: 'StudyDescription' },
    { tag: 'x0008103e', keyword: 'SeriesDescription' },
    { tag: 'x0020000d', keyword: 'StudyInstanceUID' },
    { tag: 'x0020000e', keyword: 'SeriesInstanceUID' },
    { tag: 'x00080018', keyword: 'SOPInstanceUID' },
    { tag: 'x00020003', keyword: 'MediaStorageSOPInstanceUID' },
  ].map((t) => Object.freeze(t)),
);
