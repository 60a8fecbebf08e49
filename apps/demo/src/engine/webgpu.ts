/** The slice of the WebGPU API the page uses (not every TypeScript DOM lib declares it). */
interface GpuLike {
  requestAdapter(): Promise<unknown>;
}

/**
 * Whether this browser can give onnxruntime-web a WebGPU adapter: `navigator.gpu` alone is not enough, since
 * browsers without a usable GPU expose it and then return no adapter.
 */
export async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (typeof navigator !== 'undefined' ? (navigator as Navigator & { gpu?: GpuLike }).gpu : undefined) ?? null;
  if (gpu === null) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}
