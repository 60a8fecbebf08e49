/**
 * SHA-256 of bytes as lowercase hex, through WebCrypto (Node >= 20 and browsers alike): the checksum of weight files,
 * checkpoints, imported checkpoints and ONNX models.
 *
 * @example
 * await sha256Hex(new TextEncoder().encode('abc'));   // 'ba7816bf...'
 */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
