import * as dicomParserNs from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { DataError } from '@multichexnet/core/base';
import { boundedInflater, DEFAULT_MAX_INFLATED_BYTES } from './dicom-inflate';

/*
 * dicom-parser ships a UMD bundle: Node's ESM loader exposes it only as the default export, bundlers sometimes
 * as the namespace itself. Normalise once here.
 */
type DicomParserModule = typeof dicomParserNs;
const ns = dicomParserNs as unknown as DicomParserModule & { default?: DicomParserModule };
export const dicomParser: DicomParserModule = ns.default ?? ns;

export type { DataSet, Element } from 'dicom-parser';

/** The 128-byte preamble is followed by `DICM` in every Part 10 file. */
export function hasDicmMagic(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d
  );
}

/**
 * Parses a DICOM file (Part 10, or a bare implicit-VR little-endian data set as some old exports are) and
 * wraps parser failures in a {@link DataError} naming the file. A deflated data set is inflated up to
 * `maxInflatedBytes` (default {@link DEFAULT_MAX_INFLATED_BYTES}).
 */
export function parseDicomBytes(
  bytes: Uint8Array,
  file: string,
  untilTag?: string,
  maxInflatedBytes = DEFAULT_MAX_INFLATED_BYTES,
): DataSet {
  try {
    const options = {
      ...(hasDicmMagic(bytes) ? {} : { TransferSyntaxUID: '1.2.840.10008.1.2' }),
      ...(untilTag !== undefined ? { untilTag } : {}),
      inflater: boundedInflater(maxInflatedBytes, file),
    };
    return dicomParser.parseDicom(bytes, options);
  } catch (err) {
    // the inflater's own error already names the file and the limit
    if (err instanceof DataError) throw err;
    throw new DataError(
      'DICOM file cannot be parsed',
      { file, expected: 'a DICOM Part 10 file', found: parserMessage(err) },
      { cause: err },
    );
  }
}

/**
 * The words of a dicom-parser failure. It throws `{ exception, dataSet }` objects whose data set holds every byte
 * of the file: printing that object made a one-line error megabytes long, with the patient's tags in it as byte
 * values. Only the exception text is kept.
 */
function parserMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  const exception = (err as { exception?: unknown } | null)?.exception;
  return typeof exception === 'string' ? exception : 'unreadable data';
}
