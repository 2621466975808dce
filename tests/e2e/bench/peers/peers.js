// The peers, run on the File objects of one folder input. Each run is
// timed from the input's change event to the peer's result, as the app is.
// `window.peers.run(name)` arms the input for one peer; the result lands in
// `window.peers.result` ({ name, ms, detail }).
import dicomParser from 'dicom-parser';
import { readImageDicomFileSeries, setPipelinesBaseUrl, setPipelineWorkerUrl } from '@itk-wasm/dicom';
import vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData.js';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray.js';
import vtkImageMarchingCubes from '@kitware/vtk.js/Filters/General/ImageMarchingCubes.js';

// Served beside this page: nothing leaves the machine.
setPipelinesBaseUrl(new URL('./pipelines', import.meta.url).href);
setPipelineWorkerUrl(new URL('./itk-wasm-pipeline.min.worker.js', import.meta.url).href);

const input = document.getElementById('folder');
const state = { armed: null, result: null, volume: null };

/**
 * What Cornerstone's loader does with dicom-parser: every file read and
 * parsed, the slices sorted along z, each slice's stored values rescaled
 * into one Int16Array volume.
 */
async function dicomParserVolume(files) {
  const parsed = await Promise.all(files.map(async (file) => {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const ds = dicomParser.parseDicom(bytes);
    const pixels = ds.elements.x7fe00010;
    const position = (ds.string('x00200032') ?? '0\\0\\0').split('\\').map(Number);
    return {
      bytes,
      offset: pixels.dataOffset,
      rows: ds.uint16('x00280010'),
      cols: ds.uint16('x00280011'),
      signed: ds.uint16('x00280103') === 1,
      slope: ds.floatString('x00281053') ?? 1,
      intercept: ds.floatString('x00281052') ?? 0,
      spacing: (ds.string('x00280030') ?? '1\\1').split('\\').map(Number),
      z: position[2],
    };
  }));
  parsed.sort((a, b) => a.z - b.z);
  const { rows, cols } = parsed[0];
  const frame = rows * cols;
  const voxels = new Int16Array(frame * parsed.length);
  parsed.forEach((p, k) => {
    const aligned = p.bytes.byteOffset + p.offset;
    const raw = aligned % 2 === 0
      ? (p.signed ? new Int16Array(p.bytes.buffer, aligned, frame) : new Uint16Array(p.bytes.buffer, aligned, frame))
      : (p.signed ? new Int16Array(p.bytes.slice(p.offset, p.offset + 2 * frame).buffer) : new Uint16Array(p.bytes.slice(p.offset, p.offset + 2 * frame).buffer));
    const out = voxels.subarray(k * frame, (k + 1) * frame);
    for (let i = 0; i < frame; i++) out[i] = raw[i] * p.slope + p.intercept;
  });
  const dz = parsed.length > 1 ? (parsed[parsed.length - 1].z - parsed[0].z) / (parsed.length - 1) : 1;
  return { voxels, dims: [cols, rows, parsed.length], spacing: [parsed[0].spacing[1], parsed[0].spacing[0], dz] };
}

async function itkWasm(files) {
  const { outputImage, webWorkerPool } = await readImageDicomFileSeries({ inputImages: files });
  webWorkerPool?.terminateWorkers?.();
  return `${outputImage.size.join('x')} ${outputImage.imageType.componentType}`;
}

// Two builds: `index.js` reads uncompressed and baseline JPEG only;
// `index.jpeg.js` (the package's default export) adds JPEG-LS and JPEG 2000.
const dcm2niixBuilds = { dcm2niix: './dcm2niix/index.js', 'dcm2niix-jpeg': './dcm2niix/index.jpeg.js' };
const dcm2niix = {};
async function dcm2niixRun(name, fileList) {
  const nifti = await dcm2niix[name].input(fileList).run();
  const sizes = nifti.filter((f) => f.name.endsWith('.nii')).map((f) => f.size);
  return `${nifti.length} files, NIfTI ${sizes.join(', ')} bytes`;
}

input.addEventListener('change', async () => {
  const started = performance.now();
  const name = state.armed;
  const files = [...input.files];
  let detail;
  try {
    if (name === 'dicom-parser') {
      state.volume = await dicomParserVolume(files);
      detail = state.volume.dims.join('x');
    } else if (name === 'itk-wasm') {
      detail = await itkWasm(files);
    } else if (name in dcm2niixBuilds) {
      detail = await dcm2niixRun(name, input.files);
    } else {
      throw new Error(`no peer armed (${name})`);
    }
    state.result = { name, ms: performance.now() - started, detail };
  } catch (e) {
    state.result = { name, error: String(e?.stack ?? e) };
  }
});

window.peers = {
  /** Arms the input for `name`; dcm2niix's wasm is loaded first, outside the timing. */
  async arm(name) {
    state.result = null;
    state.armed = name;
    if (name in dcm2niixBuilds && !dcm2niix[name]) {
      // Loaded at run time (it starts its own module worker by URL).
      const { Dcm2niix } = await import(new URL(dcm2niixBuilds[name], import.meta.url).href);
      dcm2niix[name] = new Dcm2niix();
      await dcm2niix[name].init();
    }
  },
  get result() {
    return state.result;
  },
  /** vtk.js marching cubes on the dicom-parser volume (points merged, as ours are shared). */
  marchingCubes(iso) {
    const { voxels, dims, spacing } = state.volume;
    const image = vtkImageData.newInstance();
    image.setDimensions(dims);
    image.setSpacing(spacing);
    image.getPointData().setScalars(vtkDataArray.newInstance({ numberOfComponents: 1, values: voxels }));
    const mc = vtkImageMarchingCubes.newInstance({ contourValue: iso, computeNormals: false, mergePoints: true });
    mc.setInputData(image);
    const started = performance.now();
    const surface = mc.getOutputData();
    const ms = performance.now() - started;
    return { ms, triangles: surface.getPolys().getNumberOfCells() };
  },
  versions: {
    'dicom-parser': '1.8.21',
    '@itk-wasm/dicom': '7.6.4',
    '@niivue/dcm2niix': '1.2.0',
    '@kitware/vtk.js': '37.4.3',
  },
};
