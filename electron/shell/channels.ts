// IPC channels between the preload and main that the page must not reach. They lack the `emberscope:` prefix, so the
// preload's page-facing invoke/on refuse them. No imports: the sandboxed preload may load nothing from Node.
export const GRANT_DROP_CHANNEL = 'emberscope-preload:grant-drop';
