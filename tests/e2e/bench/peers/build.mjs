// Bundles the peers into site/ (run by `cargo xtask bench` after `npm ci`):
// one module for dicom-parser, itk-wasm and vtk.js, itk-wasm's pipelines and
// dcm2niix's module, worker and wasm copied beside it, so the page needs
// nothing but this folder.
import { build } from 'esbuild';
import { cp, mkdir, rm } from 'node:fs/promises';

const site = new URL('./site/', import.meta.url);
await rm(site, { recursive: true, force: true });
await mkdir(site, { recursive: true });
await build({
  entryPoints: [new URL('./peers.js', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  minify: true,
  outfile: new URL('./peers.js', site).pathname,
  logLevel: 'warning',
});
await cp(new URL('./index.html', import.meta.url), new URL('./index.html', site));
await cp(new URL('./node_modules/@itk-wasm/dicom/dist/pipelines/', import.meta.url), new URL('./pipelines/', site), { recursive: true });
await cp(new URL('./node_modules/itk-wasm/dist/pipeline/web-workers/bundles/itk-wasm-pipeline.min.worker.js', import.meta.url), new URL('./itk-wasm-pipeline.min.worker.js', site));
await cp(new URL('./node_modules/@niivue/dcm2niix/dist/', import.meta.url), new URL('./dcm2niix/', site), { recursive: true });
