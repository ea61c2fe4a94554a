// A script's output as it came: stdout plain, stderr tinted, following the tail unless the user scrolled up to read.
// Shared by the live view (recorded scripts) and the playground's console (VM hosts).
import { useEffect, useRef, type ReactNode } from 'react';

export interface OutputChunkView {
  stream: 'stdout' | 'stderr';
  text: string;
}

export function OutputText({ chunks, className, testId, empty }: { chunks: OutputChunkView[]; className: string; testId: string; empty: ReactNode }) {
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [chunks]);
  return (
    <pre
      ref={box}
      className={className}
      data-testid={testId}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
      }}
    >
      {chunks.length === 0 && <span className="dim">{empty}</span>}
      {chunks.map((c, i) => (
        <span key={i} className={c.stream === 'stderr' ? 'stderr' : undefined} data-stream={c.stream}>{c.text}</span>
      ))}
    </pre>
  );
}

/** A self-share cell: a small bar and the percentage (the top tables of the live view and the playground). */
export function ShareBarCell({ part, whole, label }: { part: number; whole: number; label: string }) {
  const pct = whole > 0 ? (part / whole) * 100 : 0;
  return (
    <span className="num bar-cell">
      <span className="bar-track" aria-hidden><i style={{ width: `${Math.min(100, pct)}%` }} /></span>
      <span>{label}</span>
    </span>
  );
}
