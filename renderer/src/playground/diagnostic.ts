// A failed reload's error as a CodeMirror diagnostic. DOM-free (only @codemirror/state), so it is unit-tested.
import type { Diagnostic } from '@codemirror/lint';
import type { EditorState } from '@codemirror/state';
import type { VmSourceError } from '../../../electron/contract/api';

/**
 * From the error's column to the end of its line (the whole line when the column is unknown or past the end); the
 * line is clamped into the document, since the text may have changed since the reload.
 */
export function toDiagnostic(state: EditorState, error: VmSourceError): Diagnostic {
  const lineNo = Math.min(Math.max(1, error.line || 1), state.doc.lines);
  const line = state.doc.line(lineNo);
  let from = error.col > 0 ? Math.min(line.from + error.col - 1, line.to) : line.from;
  if (from >= line.to) from = line.from;
  return { from, to: line.to, severity: 'error', message: error.message, source: 'reload' };
}
