// The globals the contract may use: the few that every place it runs provides (Node, Chromium renderers, Electron's
// preload, vitest). tsconfig.contract.json compiles the contract against ES2022 plus this file only, so a Node global
// (`Buffer`, `process`) or a DOM one (`document`, `window`) in electron/contract fails to compile. Add a global here
// only when both Node and browsers have it with this shape.

interface TextEncoder {
  encode(input?: string): Uint8Array;
}
declare var TextEncoder: { new (): TextEncoder };

interface TextDecoder {
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string;
}
declare var TextDecoder: { new (label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean }): TextDecoder };

declare function queueMicrotask(callback: () => void): void;
declare function structuredClone<T>(value: T): T;

declare var console: {
  debug(...data: unknown[]): void;
  error(...data: unknown[]): void;
  info(...data: unknown[]): void;
  log(...data: unknown[]): void;
  warn(...data: unknown[]): void;
};
