// The script editor: CodeMirror 6 with Python highlighting, line numbers, bracket matching, undo history per tab,
// and the failed reload's error as a lint diagnostic (gutter marker + underline at line and column). Ctrl+S saves
// (and reloads a running host); the rest of the playground's keys are handled by keys.ts.
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { python } from '@codemirror/lang-python';
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics } from '@codemirror/lint';
import { EditorState, type Extension } from '@codemirror/state';
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers } from '@codemirror/view';
import { tags as t } from '@lezer/highlight';
import { useEffect, useRef } from 'react';
import type { VmSourceError } from '../../../electron/contract/api';
import { toDiagnostic } from './diagnostic';

const highlight = HighlightStyle.define([
  { tag: [t.keyword, t.controlKeyword, t.operatorKeyword, t.definitionKeyword, t.moduleKeyword], color: '#c792ea' },
  { tag: [t.string, t.special(t.string)], color: '#c3e88d' },
  { tag: [t.number, t.bool, t.null], color: '#f78c6c' },
  { tag: t.comment, color: '#6b7385', fontStyle: 'italic' },
  { tag: [t.function(t.definition(t.variableName)), t.function(t.variableName)], color: '#82aaff' },
  { tag: t.definition(t.className), color: '#ffcb6b' },
  { tag: t.className, color: '#ffcb6b' },
  { tag: [t.self, t.special(t.variableName)], color: '#f07178' },
  { tag: t.propertyName, color: '#b2ccd6' },
  { tag: [t.operator, t.punctuation], color: '#89ddff' },
  { tag: t.meta, color: '#ffcb6b' },
]);

const theme = EditorView.theme(
  {
    '&': { height: '100%', backgroundColor: '#15171c', color: '#d6dae2', fontSize: '12.5px' },
    '.cm-scroller': { fontFamily: "ui-monospace, 'SF Mono', 'JetBrains Mono', Menlo, Consolas, monospace", lineHeight: '1.55' },
    '.cm-content': { caretColor: '#f0a35e', padding: '6px 0' },
    '.cm-cursor': { borderLeftColor: '#f0a35e', borderLeftWidth: '2px' },
    '.cm-gutters': { backgroundColor: '#15171c', color: '#505767', border: 'none', borderRight: '1px solid #23272f' },
    '.cm-lineNumbers .cm-gutterElement': { padding: '0 10px 0 12px', minWidth: '38px' },
    '.cm-activeLineGutter': { backgroundColor: '#1c1f26', color: '#aab2c0' },
    '.cm-activeLine': { backgroundColor: '#1b1e25' },
    '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': { backgroundColor: '#2c3b57 !important' },
    '.cm-matchingBracket': { backgroundColor: '#2b3444', outline: '1px solid #4b5670' },
    '.cm-lintRange-error': { backgroundImage: 'none', backgroundColor: 'rgba(240,113,120,.13)', textDecoration: 'underline wavy #f07178', textUnderlineOffset: '3px' },
    '.cm-gutter-lint': { width: '14px' },
    '.cm-gutter-lint .cm-gutterElement': { padding: '0 0 0 3px' },
    '.cm-tooltip': { backgroundColor: '#1e2128', border: '1px solid #2f3440', color: '#d6dae2' },
    '.cm-diagnostic-error': { borderLeft: '3px solid #f07178', whiteSpace: 'pre-wrap', fontFamily: "ui-monospace, Menlo, monospace", fontSize: '11.5px' },
  },
  { dark: true },
);

/** Editor states per tab, so switching tabs keeps each one's undo history, selection and scroll. */
const states = new Map<string, EditorState>();

export interface EditorProps {
  docId: string;
  text: string;
  /** The failed reload's error when it points into this document; null clears the marker. */
  error: VmSourceError | null;
  onChange: (text: string) => void;
  onSave: () => void;
  onRun: () => void;
}

export function Editor(props: EditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const callbacks = useRef(props);
  callbacks.current = props;

  const extensions = (): Extension[] => [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    drawSelection(),
    history(),
    indentOnInput(),
    bracketMatching(),
    python(),
    syntaxHighlighting(highlight),
    lintGutter(),
    theme,
    EditorState.tabSize.of(4),
    keymap.of([
      { key: 'Mod-s', preventDefault: true, run: () => (callbacks.current.onSave(), true) },
      { key: 'Mod-Enter', preventDefault: true, run: () => (callbacks.current.onRun(), true) },
      indentWithTab,
      ...defaultKeymap,
      ...historyKeymap,
    ]),
    EditorView.updateListener.of((u) => {
      if (u.docChanged) callbacks.current.onChange(u.state.doc.toString());
    }),
  ];

  const stateFor = (docId: string, text: string) => states.get(docId) ?? EditorState.create({ doc: text, extensions: extensions() });

  useEffect(() => {
    const v = new EditorView({ state: stateFor(props.docId, props.text), parent: host.current! });
    view.current = v;
    (host.current as HTMLDivElement & { cmView?: EditorView }).cmView = v;
    return () => {
      states.set(callbacks.current.docId, v.state);
      v.destroy();
      view.current = null;
    };
    // The view is created once; tab switches swap its state below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Switching tabs: keep the old tab's state, show the new one's.
  const shownDoc = useRef(props.docId);
  useEffect(() => {
    const v = view.current;
    if (!v || shownDoc.current === props.docId) return;
    states.set(shownDoc.current, v.state);
    shownDoc.current = props.docId;
    v.setState(stateFor(props.docId, props.text));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.docId]);

  // Text set from outside (a file read after the tab opened, an adopted host's script): replace the document.
  useEffect(() => {
    const v = view.current;
    if (!v || v.state.doc.toString() === props.text) return;
    if (shownDoc.current !== props.docId) return;
    v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.text } });
  }, [props.text, props.docId]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const diagnostic = props.error ? toDiagnostic(v.state, props.error) : null;
    v.dispatch(setDiagnostics(v.state, diagnostic ? [diagnostic] : []));
    // The marked line comes into view, so a failed save shows where it failed.
    if (diagnostic) v.dispatch({ effects: EditorView.scrollIntoView(diagnostic.from, { y: 'center' }) });
  }, [props.error, props.docId]);

  return <div className="pg-editor" ref={host} data-testid="pg-editor" data-doc={props.docId} />;
}
