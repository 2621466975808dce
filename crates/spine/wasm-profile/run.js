// Times the spine analysis of the wasm build in Node: `node run.js` (the
// demo spine at 512x512x300) or `node run.js <dicom folder>`; `RUNS=n`
// analyses n times in one process (the first run is what the browser's
// user waits for: V8 optimises a function only for its later calls).
const fs = require('fs');
const path = require('path');
const wasm = require('./pkg/insitu_spine_wasm_profile.js');

const folder = process.argv[2];
if (folder) {
  for (const name of fs.readdirSync(folder).sort()) {
    const file = path.join(folder, name);
    if (fs.statSync(file).isFile()) wasm.add_file(name, fs.readFileSync(file));
  }
  console.log(`loaded ${wasm.load_files()} from ${folder}`);
} else {
  wasm.make_demo_512();
  console.log('made the demo spine at 512x512x300');
}
for (let run = 1; run <= Number(process.env.RUNS || 1); run++) {
  const started = performance.now();
  const found = wasm.analyse();
  console.log(`run ${run}: ${(performance.now() - started).toFixed(0)} ms, ${found}`);
}
