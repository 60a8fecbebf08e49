import Papa from 'papaparse';
import { DataError } from '@multichexnet/core';

/**
 * CSV text → rows of string cells (RFC 4180: quoted fields with commas, doubled quotes and line breaks), header
 * included, blank lines dropped. Papa Parse does the parsing; malformed quoting becomes a DataError.
 *
 * Header handling is left to each loader because the real files have unquoted commas inside column names
 * (`OriginalImage[Width,Height]`) and trailing empty columns.
 */
export function parseCsvRows(text: string, file: string): string[][] {
  const result = Papa.parse<string[]>(text, { header: false, skipEmptyLines: true, dynamicTyping: false });
  const bad = result.errors.find((e) => e.type === 'Quotes');
  if (bad !== undefined) {
    throw new DataError('CSV quoting is malformed', {
      file,
      row: (bad.row ?? 0) + 1,
      expected: 'RFC 4180 quoting',
      found: bad.message,
    });
  }
  return result.data;
}
