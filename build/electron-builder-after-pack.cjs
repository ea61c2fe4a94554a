// electron-builder's afterPack hook: flips Electron's fuses on the packed binary before it is signed or wrapped in an
// installer (@electron/fuses). A fuse is baked into the executable, so an attacker with the user's rights cannot turn
// these back on with an environment variable or a command-line switch:
// - RunAsNode off: ELECTRON_RUN_AS_NODE cannot turn the app into a plain Node (a signed interpreter for anyone);
// - NODE_OPTIONS and --inspect/--inspect-brk off: no code injected at start, no debugger attached from outside;
// - cookie encryption on (the page keeps none, but nothing else should ever be stored in the clear);
// - the app loads only from its asar, and the asar's integrity is checked where Electron supports it (macOS and
//   Windows; on Linux Electron has no integrity check, so that fuse stays off there).
// - file:// gets no extra privileges: the page is served from emberscope://app/ (electron/shell/protocol.ts).
const path = require('node:path');
const { flipFuses, FuseV1Options, FuseVersion } = require('@electron/fuses');

/** The fuses for a platform ('linux' | 'darwin' | 'mas' | 'win32'). */
function fusesFor(platform) {
  const integrity = platform === 'darwin' || platform === 'mas' || platform === 'win32';
  return {
    version: FuseVersion.V1,
    [FuseV1Options.RunAsNode]: false,
    [FuseV1Options.EnableCookieEncryption]: true,
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
    [FuseV1Options.EnableNodeCliInspectArguments]: false,
    [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: integrity,
    [FuseV1Options.OnlyLoadAppFromAsar]: true,
    [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
  };
}

/** The packed Electron executable (the .app bundle on macOS: @electron/fuses finds the framework inside). */
function executablePath(context) {
  const platform = context.electronPlatformName;
  const { packager } = context;
  if (platform === 'darwin' || platform === 'mas') return path.join(context.appOutDir, `${packager.appInfo.productFilename}.app`);
  if (platform === 'win32') return path.join(context.appOutDir, `${packager.appInfo.productFilename}.exe`);
  return path.join(context.appOutDir, packager.executableName);
}

async function afterPack(context) {
  const platform = context.electronPlatformName;
  // An ad-hoc signature on arm64 macOS must be redone after the binary changes (electron-builder signs later).
  const arm64 = context.arch === 3; // electron-builder's Arch.arm64
  await flipFuses(executablePath(context), { ...fusesFor(platform), resetAdHocDarwinSignature: platform === 'darwin' && arm64 });
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.fusesFor = fusesFor;
module.exports.executablePath = executablePath;
