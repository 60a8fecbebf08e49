import type { DecodedImage } from '@multichexnet/data/decode';
import { camHeatRgba } from '@multichexnet/runtime';
import type { DemoResult } from '../engine/demo-result';
import { imageDigest } from '../image/image-digest';

/** What the overlays show. */
export interface OverlayOptions {
  boxes: boolean;
  mask: boolean;
  /** 0..1: fill opacity of the mask and the boxes (outlines and labels stay opaque). */
  opacity: number;
}

const BOX_COLOR = '245, 158, 11';
const MASK_COLOR = '236, 72, 153';

/** Gray image [H, W] in [0, maxValue] -> an offscreen canvas at the image's own size. */
function imageCanvas(image: DecodedImage): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = image.width;
  c.height = image.height;
  const ctx = c.getContext('2d')!;
  const rgba = ctx.createImageData(image.width, image.height);
  const scale = 255 / image.maxValue;
  for (let i = 0; i < image.data.length; i++) {
    const v = Math.max(0, Math.min(255, Math.round(image.data[i]! * scale)));
    rgba.data[i * 4] = v;
    rgba.data[i * 4 + 1] = v;
    rgba.data[i * 4 + 2] = v;
    rgba.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(rgba, 0, 0);
  return c;
}

/** Binary mask [H, W] -> an offscreen canvas, opaque colour where 1. */
function maskCanvas(mask: { width: number; height: number; data: Uint8Array }): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = mask.width;
  c.height = mask.height;
  const ctx = c.getContext('2d')!;
  const rgba = ctx.createImageData(mask.width, mask.height);
  const [r, g, b] = MASK_COLOR.split(',').map(Number) as [number, number, number];
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i] === 0) continue;
    rgba.data[i * 4] = r;
    rgba.data[i * 4 + 1] = g;
    rgba.data[i * 4 + 2] = b;
    rgba.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(rgba, 0, 0);
  return c;
}

/** A class activation map as an offscreen canvas at the film's own size (the runtime maps it back through the fit). */
function camCanvas(cam: NonNullable<DemoResult['cams']>[string]): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = cam.transform.width;
  c.height = cam.transform.height;
  const ctx = c.getContext('2d')!;
  const rgba = ctx.createImageData(c.width, c.height);
  rgba.data.set(camHeatRgba(cam));
  ctx.putImageData(rgba, 0, 0);
  return c;
}

/**
 * The X-ray on a canvas, fitted to its box, with the pneumonia boxes and the pneumothorax mask drawn over it.
 * Redraws on resize and when the overlay options change; reports what it drew in `data-*` attributes
 * (`data-boxes-drawn`, `data-mask-drawn`, and `data-image-digest` of the decoded image) so the end-to-end test can
 * check the image and the overlays without reading pixels.
 */
export class Viewer {
  private base: HTMLCanvasElement | null = null;
  private maskLayer: HTMLCanvasElement | null = null;
  /** The class whose activation map is shown, and that map drawn at the film's size. */
  private cam: { name: string; layer: HTMLCanvasElement | null } | null = null;
  private result: DemoResult | null = null;
  private imageSize: { width: number; height: number } | null = null;
  private options: OverlayOptions = { boxes: true, mask: true, opacity: 0.45 };

  constructor(private readonly canvas: HTMLCanvasElement) {
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  setImage(image: DecodedImage | null): void {
    this.base = image === null ? null : imageCanvas(image);
    if (image === null) delete this.canvas.dataset.imageDigest;
    else this.canvas.dataset.imageDigest = imageDigest(image);
    this.imageSize = image === null ? null : { width: image.width, height: image.height };
    this.setResult(null);
  }

  setResult(result: DemoResult | null): void {
    this.result = result;
    this.maskLayer = result?.mask ? maskCanvas(result.mask) : null;
    this.setCam(this.cam?.name ?? null);
  }

  /** Shows the class activation map of class `name` over the film (null: none); kept across results. */
  setCam(name: string | null): void {
    const map = name === null ? undefined : this.result?.cams?.[name];
    this.cam = name === null ? null : { name, layer: map === undefined ? null : camCanvas(map) };
    this.draw();
  }

  /** The class whose map is on, or null. */
  get camClass(): string | null {
    return this.cam?.name ?? null;
  }

  setOptions(options: Partial<OverlayOptions>): void {
    this.options = { ...this.options, ...options };
    this.draw();
  }

  draw(): void {
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const cssW = canvas.clientWidth;
    const cssH = canvas.clientHeight;
    canvas.width = Math.max(1, Math.round(cssW * dpr));
    canvas.height = Math.max(1, Math.round(cssH * dpr));
    const ctx = canvas.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    canvas.dataset.boxesDrawn = '0';
    canvas.dataset.maskDrawn = 'false';
    delete canvas.dataset.camDrawn;
    delete canvas.dataset.camSize;
    if (this.base === null || this.imageSize === null) return;
    const { width, height } = this.imageSize;
    const scale = Math.min(canvas.width / width, canvas.height / height);
    const dx = (canvas.width - width * scale) / 2;
    const dy = (canvas.height - height * scale) / 2;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(this.base, dx, dy, width * scale, height * scale);

    const r = this.result;
    if (r === null) return;
    const { opacity } = this.options;
    if (this.cam?.layer) {
      // the map was drawn at the film's own size, so it scales with the film
      ctx.globalAlpha = Math.max(0.35, opacity);
      ctx.drawImage(this.cam.layer, dx, dy, width * scale, height * scale);
      ctx.globalAlpha = 1;
      canvas.dataset.camDrawn = this.cam.name;
      canvas.dataset.camSize = `${this.cam.layer.width}x${this.cam.layer.height}`;
    }
    if (this.options.mask && this.maskLayer !== null && r.mask !== null && r.mask.areaFraction > 0) {
      ctx.globalAlpha = opacity;
      ctx.drawImage(this.maskLayer, dx, dy, width * scale, height * scale);
      ctx.globalAlpha = 1;
      canvas.dataset.maskDrawn = 'true';
    }
    if (this.options.boxes && r.boxes.length > 0) {
      const fontPx = Math.round(12 * dpr);
      ctx.font = `600 ${fontPx}px system-ui, sans-serif`;
      ctx.textBaseline = 'top';
      r.boxes.forEach((b, i) => {
        const x = dx + b.x * scale;
        const y = dy + b.y * scale;
        const w = b.width * scale;
        const h = b.height * scale;
        ctx.fillStyle = `rgba(${BOX_COLOR}, ${opacity * 0.35})`;
        ctx.fillRect(x, y, w, h);
        ctx.lineWidth = 2 * dpr;
        ctx.strokeStyle = `rgb(${BOX_COLOR})`;
        ctx.strokeRect(x, y, w, h);
        const label = `#${i + 1} ${b.score.toFixed(2)}`;
        const pad = 4 * dpr;
        const tw = ctx.measureText(label).width + pad * 2;
        const th = fontPx + pad * 1.5;
        const ly = y - th >= dy ? y - th : y;
        ctx.fillStyle = `rgb(${BOX_COLOR})`;
        ctx.fillRect(x - ctx.lineWidth / 2, ly, tw, th);
        ctx.fillStyle = '#111827';
        ctx.fillText(label, x - ctx.lineWidth / 2 + pad, ly + pad * 0.75);
      });
      canvas.dataset.boxesDrawn = String(r.boxes.length);
    }
  }
}
