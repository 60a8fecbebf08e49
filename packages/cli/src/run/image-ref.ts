import { createHash } from 'node:crypto';

/**
 * How files meant to be shared (gallery.json, report.html) name an image: `<source>-<12 hex digits of
 * SHA-256("<source>/<id>")>`, e.g. `rsna-3f2a9c0b41de`.
 *
 * Why not the id itself: the datasets' join keys are identifiers of their own (RSNA patientId is the DICOM
 * PatientID, SIIM ImageId the SOPInstanceUID), and a user training on their own hospital export in these formats
 * would otherwise publish them in a report. Whoever holds the label CSV maps a pseudonym back by hashing its ids.
 *
 * @example
 * imageRef('rsna', '0004cfab-14fd-4e49-80ba-63a80b6bddd6');   // 'rsna-' + 12 hex digits, the same every time
 */
export function imageRef(source: string, id: string): string {
  return `${source}-${createHash('sha256').update(`${source}/${id}`).digest('hex').slice(0, 12)}`;
}
