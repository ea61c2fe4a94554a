// Renders every icon the app and its installers need from the one source, assets/icon.svg, into dist/icons/:
// NxN.png for Linux (electron-builder's icon folder and the window icon), icon.png (512), icon.icns (macOS) and
// icon.ico (Windows). resvg draws the SVG (no browser, same pixels on every machine); png2icons packs icns/ico.
// The outputs are generated, not checked in: the SVG is the only thing to edit, and nothing can drift from it.
// Run by `npm run build:icons` (part of `npm run build:js` and `npm run dist`); about a second.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import png2icons from 'png2icons';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'assets', 'icon.svg');
const out = join(root, 'dist', 'icons');

/** The sizes desktop environments ask for (hicolor theme), plus 1024 for macOS's icns. */
export const ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512, 1024];

export function renderIcon(svg, size) {
  return new Resvg(svg, { fitTo: { mode: 'width', value: size }, background: 'rgba(0,0,0,0)' }).render().asPng();
}

export function generateIcons(outDir = out) {
  const svg = readFileSync(source);
  mkdirSync(outDir, { recursive: true });
  const pngs = new Map();
  for (const size of ICON_SIZES) {
    const png = renderIcon(svg, size);
    pngs.set(size, png);
    writeFileSync(join(outDir, `${size}x${size}.png`), png);
  }
  writeFileSync(join(outDir, 'icon.png'), pngs.get(512));
  const icns = png2icons.createICNS(pngs.get(1024), png2icons.BICUBIC, 0);
  const ico = png2icons.createICO(pngs.get(256), png2icons.BICUBIC, 0, true, true);
  if (!icns || !ico) throw new Error('icons: png2icons could not pack icon.icns/icon.ico from the 1024/256 px renders');
  writeFileSync(join(outDir, 'icon.icns'), icns);
  writeFileSync(join(outDir, 'icon.ico'), ico);
  return [...ICON_SIZES.map((s) => `${s}x${s}.png`), 'icon.png', 'icon.icns', 'icon.ico'];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const written = generateIcons();
  console.error(`icons: assets/icon.svg -> dist/icons/ (${written.length} files)`);
}
