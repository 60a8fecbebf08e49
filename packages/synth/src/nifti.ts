import { gzipSync } from 'fflate';

/*
 * A minimal NIfTI-1 single-file writer (header + uint8 voxels, gzipped) for the few CT volume rows of the
 * synthetic COVID-19 collection, which lists `folder = volumes` rows of `.nii.gz` files that image loaders must
 * skip. Hand-written: the fixed 348-byte header is all that is needed, and no maintained npm package writes
 * NIfTI without pulling in a full imaging stack.
 */

/** A uint8 volume [Z, Y, X] (x fastest), voxel size in mm. */
export interface Volume {
  nx: number;
  ny: number;
  nz: number;
  voxels: Uint8Array;
  spacing: [number, number, number];
}

/** Encodes a volume as `.nii.gz` bytes (gzip mtime 0, so the bytes depend only on the volume). */
export function encodeNiftiGz(vol: Volume): Uint8Array {
  const header = new ArrayBuffer(352);
  const v = new DataView(header);
  v.setInt32(0, 348, true); // sizeof_hdr
  const dims = [3, vol.nx, vol.ny, vol.nz, 1, 1, 1, 1];
  dims.forEach((d, i) => v.setInt16(40 + 2 * i, d, true));
  v.setInt16(70, 2, true); // datatype: DT_UNSIGNED_CHAR
  v.setInt16(72, 8, true); // bitpix
  const pixdim = [1, vol.spacing[0], vol.spacing[1], vol.spacing[2], 0, 0, 0, 0];
  pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, true));
  v.setFloat32(108, 352, true); // vox_offset
  v.setFloat32(112, 1, true); // scl_slope
  v.setUint8(123, 2); // xyzt_units: millimetres
  const descrip = 'SYNTH CT volume (multichexnet)';
  for (let i = 0; i < descrip.length; i++) v.setUint8(148 + i, descrip.charCodeAt(i));
  const magic = 'n+1\0';
  for (let i = 0; i < 4; i++) v.setUint8(344 + i, magic.charCodeAt(i));
  const file = new Uint8Array(352 + vol.voxels.length);
  file.set(new Uint8Array(header), 0);
  file.set(vol.voxels, 352);
  return gzipSync(file, { level: 6, mtime: 0 });
}
