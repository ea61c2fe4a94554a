// Which folder may import which: `npm run lint` (dependency-cruiser) fails on any import these rules forbid.
// The layers, bottom up: electron/contract (pure, shared) <- electron/services <- electron/{cli,server,shell};
// renderer/src/model (pure) <- renderer/src/{canvas,store,transport} <- renderer/src/views, playground, App, main.
// The renderer reaches electron/ only through the contract; the CLI reaches renderer/ only through its pure model. electron/agent/ is Python and not scanned here.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'contract-imports-only-itself',
      comment:
        'electron/contract is shared by main and renderer: it may import only electron/contract (no node:, no ' +
        'electron, no react, no npm package, no other folder). Move the code that needs more into services or renderer.',
      severity: 'error',
      from: { path: '^electron/contract/' },
      to: { pathNot: '^electron/contract/' },
    },
    {
      name: 'renderer-reaches-electron-only-through-contract',
      comment: 'The renderer may import from electron/ only electron/contract; ask the services through the client.',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: '^electron/', pathNot: '^electron/contract/' },
    },
    {
      name: 'renderer-no-node',
      comment: 'renderer/src runs in a browser: no Node built-ins, no native addon. Ask the services through the client.',
      severity: 'error',
      from: { path: '^renderer/src/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'renderer-no-native',
      comment: 'renderer/src runs in a browser: it never loads the native addon or its types.',
      severity: 'error',
      from: { path: '^renderer/src/' },
      to: { path: '^native/' },
    },
    {
      name: 'cli-reaches-renderer-only-through-model',
      comment:
        'The CLI draws the pictures the app draws (`convert --to svg`) from their one home, renderer/src/model/svg.ts. ' +
        'renderer/src/model is pure (model-is-pure: no React, DOM, store or canvas), so it runs under Node as it is; ' +
        'copying it into electron/ would make two pictures drift apart. Nothing else of renderer/ may be imported.',
      severity: 'error',
      from: { path: '^electron/cli/' },
      to: { path: '^renderer/', pathNot: '^renderer/src/model/' },
    },
    {
      name: 'only-the-cli-imports-renderer-code',
      comment:
        'The server and the shell serve the built renderer (dist/renderer), never its sources; the services and the ' +
        'contract have their own rules. Only the CLI draws with the renderer\'s pure model.',
      severity: 'error',
      from: { path: '^electron/(server|shell)/' },
      to: { path: '^renderer/' },
    },
    {
      name: 'services-no-electron',
      comment:
        'electron/services runs under plain Node (CLI, serve, tests): never the Electron package, never the shell, ' +
        'never the renderer. What needs Electron goes in electron/shell and calls the services.',
      severity: 'error',
      from: { path: '^electron/services/' },
      to: { path: ['^node_modules/electron/', '^electron$', '^electron/shell/', '^renderer/'] },
    },
    {
      name: 'services-below-their-hosts',
      comment: 'The CLI, the server and the shell use the services, not the other way round.',
      severity: 'error',
      from: { path: '^electron/services/' },
      to: { path: '^electron/(cli|server|shell)/' },
    },
    {
      name: 'electron-package-only-in-shell',
      comment: 'Only electron/shell (and its tests) may import the Electron package; the rest runs under plain Node.',
      severity: 'error',
      // electron/services has its own rule above, with its own message.
      from: { path: '^(electron|renderer)/', pathNot: '^electron/(shell|services)/' },
      to: { path: ['^node_modules/electron/', '^electron$'] },
    },
    {
      name: 'native-types-only-in-services',
      comment: 'The addon is loaded by electron/services/native.ts; everything else uses its wrappers.',
      severity: 'error',
      from: { path: '^(electron|renderer)/', pathNot: '^electron/services/' },
      to: { path: '^native/' },
    },
    {
      name: 'model-is-pure',
      comment:
        'renderer/src/model is pure, React-free code tested without a DOM: it imports only itself and ' +
        'electron/contract (no react, zustand, views, store, canvas, transport).',
      severity: 'error',
      from: { path: '^renderer/src/model/' },
      to: { pathNot: '^(renderer/src/model/|electron/contract/)' },
    },
    {
      name: 'nothing-imports-tests',
      comment: 'Only tests import from test/; shipped code and benchmarks keep their own helpers.',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
    {
      name: 'app-never-imports-tools',
      comment: 'The app (electron/, renderer/) never imports benchmarks or build scripts.',
      severity: 'error',
      from: { path: '^(electron|renderer)/' },
      to: { path: '^(bench|build)/' },
    },
    {
      name: 'no-circular',
      comment: 'Import cycles make load order matter and layers meaningless: move the shared part into a module both import.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'This import resolves to no file: a typo, a moved file, or a package missing from package.json.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Build output, fixture data (some of it is JavaScript that tests only read), Python. Not node_modules: an
    // excluded module vanishes as an import target too, and `react` in the model must still be seen (not followed).
    exclude: {
      path: '^(dist|native/target|test/fixtures|test/artifacts|bench/generated|electron/agent)/',
    },
    // Unanchored, and by type too: a symlinked node_modules resolves to a path outside the repository.
    doNotFollow: {
      path: 'node_modules',
      dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-bundled', 'npm-no-pkg'],
    },
    // Type-only imports are dependencies too: `import type { Stats } from 'node:fs'` in the contract is still Node.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.d.ts', '.mts', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
