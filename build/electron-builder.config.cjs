// electron-builder's configuration: `npm run dist` (AppImage + deb here; the same file builds a macOS dmg and a Windows
// nsis installer on those systems). test/unit/shell-builder.test.ts validates it against electron-builder's schema and
// checks, by applying `files` and `asarUnpack` to the built tree, that the package holds every file the app needs at
// run time (electron/services/resources.ts says where each is looked up) without building the package.
//
// The main and preload bundles have no npm dependency at run time (esbuild inlines everything but `electron`), so the
// package carries no node_modules. What a program other than Node's patched fs reads is unpacked from the asar: the
// addon (dlopen), the samples (read by the Rust core), the VM host agent, the playground examples and exact mode's
// tracer (run or imported by Python).

/** MIME types of the formats Emberscope opens (x- types where no registered one exists). */
const fileAssociations = [
  { ext: 'speedscope.json', name: 'speedscope profile', mimeType: 'application/x-speedscope+json', role: 'Viewer' },
  { ext: 'cpuprofile', name: 'V8 CPU profile', mimeType: 'application/x-cpuprofile+json', role: 'Viewer' },
  { ext: ['prof', 'pstats'], name: 'Python cProfile stats', mimeType: 'application/x-python-pstats', role: 'Viewer' },
  { ext: 'austin', name: 'Austin samples', mimeType: 'text/x-austin', role: 'Viewer' },
  { ext: 'pb.gz', name: 'pprof profile', mimeType: 'application/x-pprof', role: 'Viewer' },
  // VizTracer and Chrome traces are plain .json: offered in "Open with", never taken as the default (rank Alternate).
  { ext: 'json', name: 'Trace (VizTracer, Chrome)', mimeType: 'application/json', role: 'Viewer', rank: 'Alternate' },
];

/** @type {import('electron-builder').Configuration} */
module.exports = {
  appId: 'dev.emberscope.app',
  productName: 'Emberscope',
  executableName: 'emberscope',
  copyright: 'Copyright © Emberscope contributors (MIT licence)',
  directories: { output: 'dist/packages', buildResources: 'build' },
  extraMetadata: { main: 'dist/electron/main.cjs' },
  files: [
    'package.json',
    'dist/electron/main.cjs',
    'dist/electron/preload.cjs',
    'dist/renderer/**/*',
    '!dist/renderer/**/*.map',
    'dist/native/*.node',
    'dist/icons/icon.png',
    'dist/icons/*x*.png',
    'dist/tracer/*',
    'electron/agent/**/*.py',
    '!**/__pycache__/**',
    'assets/samples/**/*',
    'assets/playground/**/*',
  ],
  asar: true,
  asarUnpack: ['dist/native/*.node', 'dist/tracer/**', 'electron/agent/**', 'assets/samples/**', 'assets/playground/**'],
  // The addon is N-API (ABI-stable across Node and Electron) and built by `npm run build:native`: nothing to rebuild.
  npmRebuild: false,
  nodeGypRebuild: false,
  // Electron fuses (no RunAsNode, no NODE_OPTIONS, no --inspect, cookie encryption, asar only, asar integrity where
  // the platform checks it) are flipped on the packed binary.
  afterPack: './build/electron-builder-after-pack.cjs',
  fileAssociations,
  protocols: [],
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Development',
    icon: 'dist/icons',
    synopsis: 'Profiler for Python programs: attach, record, open any trace, read it as flame graphs',
    maintainer: 'Emberscope contributors <emberscope@users.noreply.invalid>',
    vendor: 'Emberscope',
    mimeTypes: [...new Set(fileAssociations.map((a) => a.mimeType))],
    desktop: {
      entry: {
        Name: 'Emberscope',
        GenericName: 'Profiler',
        Comment: 'Read Python profiles as flame graphs; attach to and record running programs',
        Keywords: 'profiler;python;flame graph;speedscope;py-spy;',
        StartupWMClass: 'Emberscope',
        Terminal: 'false',
      },
    },
  },
  // VM hosts and the playground run the user's Python; the viewer works without it.
  deb: { recommends: ['python3'], priority: 'optional' },
  appImage: { artifactName: '${productName}-${version}-${arch}.${ext}' },
  mac: {
    target: ['dmg'],
    category: 'public.app-category.developer-tools',
    icon: 'dist/icons/icon.icns',
    hardenedRuntime: true,
  },
  dmg: { title: '${productName} ${version}' },
  win: { target: ['nsis'], icon: 'dist/icons/icon.ico' },
  nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true, installerIcon: 'dist/icons/icon.ico' },
};
