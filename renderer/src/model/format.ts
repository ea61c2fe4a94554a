// Number formatting lives in the contract (one home for the renderer, the CLI and the services' messages); this
// path stays for the renderer's existing imports.
export { formatBytes, formatCount, formatNs, formatPercent, formatWeight } from '../../../electron/contract/format';
