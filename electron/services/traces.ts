// Opened traces by traceId: the native handle (which owns the columnar data) and the TraceInfo the UI lists.
import type { TraceInfo } from '../contract/api';
import { ContractError } from '../contract/api';
import type { NativeProfile } from './native';

interface Entry {
  info: TraceInfo;
  handle: NativeProfile;
}

/** What the UI lists of an opened trace: `fields` are the caller's, the rest the handle's (its summary's top `topN`). */
export function toTraceInfo(
  traceId: string,
  handle: NativeProfile,
  fields: { name: string; path: string; sizeBytes: number },
  topN: number,
): TraceInfo {
  return {
    traceId,
    name: fields.name,
    path: fields.path,
    format: handle.format,
    sizeBytes: fields.sizeBytes,
    hasTimeline: handle.hasTimeline,
    summary: handle.summary(topN),
  };
}

export class TraceRegistry {
  private readonly traces = new Map<string, Entry>();
  private counter = 0;

  add(handle: NativeProfile, fields: { name: string; path: string; sizeBytes: number }): TraceInfo {
    const traceId = `trace-${++this.counter}`;
    const info = toTraceInfo(traceId, handle, fields, 50);
    this.traces.set(traceId, { info, handle });
    return info;
  }

  get(traceId: string): Entry {
    const entry = this.traces.get(traceId);
    if (!entry) {
      throw new ContractError('not-found', `no open trace '${traceId}': it was closed or never opened; open the file again`);
    }
    return entry;
  }

  /** Returns whether something was closed. The handle's memory goes when JS collects it. */
  close(traceId: string): boolean {
    return this.traces.delete(traceId);
  }

  list(): TraceInfo[] {
    return [...this.traces.values()].map((e) => e.info);
  }
}
