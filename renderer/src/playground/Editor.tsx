// The script editor: CodeMirror 6 with Python highlighting, line numbers, bracket matching, undo history per tab,
// and the failed reload's error as a lint diagnostic (gutter marker + underline at line and column). Ctrl+S saves
// (and reloads a running host); the rest of the playground's keys are handled by keys.ts.
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { python } from '@codemirror/lang-python';
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics } from '@codemirror/lint';
import { Compartment, EditorState, type Extension } from '@codemirror/state';
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers } from '@codemirror/view';
import { tags as t } from '@lezer/highlight';
import { useEffect, useRef } from 'react';
import type { VmSourceError } from '../../../electron/contract/api';
import type { ThemeName } from '../model/theme';
import { useTheme } from '../views/theme';
import { toDiagnostic } from './diagnostic';

// Palenight-like colours on the dark ground; on white the same roles in darker hues (GitHub-light-like), so every
// token keeps at least 4.5:1 contrast.
const HIGHLIGHT_COLORS: Record<ThemeName, Record<string, string>> = {
  dark: { keyword: '#c792ea', string: '#c3e88d', number: '#f78c6c', comment: '#6b7385', func: '#82aaff', cls: '#ffcb6b', self: '#f07178', prop: '#b2ccd6', op: '#89ddff', meta: '#ffcb6b' },
  light: { keyword: '#8e24aa', string: '#2e7d32', number: '#b5421c', comment: '#6a737d', func: '#1f57c3', cls: '#8a5a00', self: '#c62f3a', prop: '#2b5f73', op: '#0e6d80', meta: '#8a5a00' },
};

function defineHighlight(c: Record<string, string>): HighlightStyle {
  return HighlightStyle.define([
    { tag: [t.keyword, t.controlKeyword, t.operatorKeyword, t.definitionKeyword, t.moduleKeyword], color: c.keyword },
    { tag: [t.string, t.special(t.string)], color: c.string },
    { tag: [t.number, t.bool, t.null], color: c.number },
    { tag: t.comment, color: c.comment, fontStyle: 'italic' },
    { tag: [t.function(t.definition(t.variableName)), t.function(t.variableName)], color: c.func },
    { tag: [t.definition(t.className), t.className], color: c.cls },
    { tag: [t.self, t.special(t.variableName)], color: c.self },
    { tag: t.propertyName, color: c.prop },
    { tag: [t.operator, t.punctuation], color: c.op },
    { tag: t.meta, color: c.meta },
  ]);
}

/** The editor's chrome per theme; text and ground come from styles.css's variables, the rest are editor-only. */
const CHROME: Record<ThemeName, { gutter: string; activeGutter: string; activeLine: string; selection: string; bracket: string; bracketLine: string; lint: string }> = {
  dark: { gutter: '#505767', activeGutter: '#1c1f26', activeLine: '#1b1e25', selection: '#2c3b57', bracket: '#2b3444', bracketLine: '#4b5670', lint: 'rgba(240,113,120,.13)' },
  light: { gutter: '#9aa1ad', activeGutter: '#f1f3f6', activeLine: '#f5f7fa', selection: '#c9d9f7', bracket: '#dde6f6', bracketLine: '#9db3de', lint: 'rgba(198,47,58,.10)' },
};

function defineEditorTheme(name: ThemeName): Extension {
  const c = CHROME[name];
  return EditorView.theme(
    {
      '&': { height: '100%', backgroundColor: 'var(--editor-bg)', color: 'var(--fg)', fontSize: '12.5px' },
      '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.55' },
      '.cm-content': { caretColor: 'var(--warm)', padding: '6px 0' },
      '.cm-cursor': { borderLeftColor: 'var(--warm)', borderLeftWidth: '2px' },
      '.cm-gutters': { backgroundColor: 'var(--editor-bg)', color: c.gutter, border: 'none', borderRight: '1px solid var(--line-soft)' },
      '.cm-lineNumbers .cm-gutterElement': { padding: '0 10px 0 12px', minWidth: '38px' },
      '.cm-activeLineGutter': { backgroundColor: c.activeGutter, color: 'var(--fg)' },
      '.cm-activeLine': { backgroundColor: c.activeLine },
      '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': { backgroundColor: `${c.selection} !important` },
      '.cm-matchingBracket': { backgroundColor: c.bracket, outline: `1px solid ${c.bracketLine}` },
      '.cm-lintRange-error': { backgroundImage: 'none', backgroundColor: c.lint, textDecoration: 'underline wavy var(--danger)', textUnderlineOffset: '3px' },
      '.cm-gutter-lint': { width: '14px' },
      '.cm-gutter-lint .cm-gutterElement': { padding: '0 0 0 3px' },
      '.cm-tooltip': { backgroundColor: 'var(--tooltip-bg)', border: '1px solid var(--line)', color: 'var(--fg)' },
      '.cm-diagnostic-error': { borderLeft: '3px solid var(--danger)', whiteSpace: 'pre-wrap', fontFamily: 'var(--mono)', fontSize: '11.5px' },
    },
    { dark: name === 'dark' },
  );
}

const THEMES: Record<ThemeName, Extension> = {
  dark: [defineEditorTheme('dark'), syntaxHighlighting(defineHighlight(HIGHLIGHT_COLORS.dark))],
  light: [defineEditorTheme('light'), syntaxHighlighting(defineHighlight(HIGHLIGHT_COLORS.light))],
};

/** Holds the theme's extensions, so a theme toggle swaps them in place (undo history and selection stay). */
const themeSlot = new Compartment();

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
  const theme = useTheme();
  const themeRef = useRef(theme);
  themeRef.current = theme;

  const extensions = (): Extension[] => [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    drawSelection(),
    history(),
    indentOnInput(),
    bracketMatching(),
    python(),
    lintGutter(),
    themeSlot.of(THEMES[themeRef.current]),
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
    // A tab's saved state keeps the theme it was last shown in.
    v.dispatch({ effects: themeSlot.reconfigure(THEMES[themeRef.current]) });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.docId]);

  // The theme toggle (or the OS theme) changed: restyle the open editor in place.
  useEffect(() => {
    view.current?.dispatch({ effects: themeSlot.reconfigure(THEMES[theme]) });
  }, [theme]);

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

  return <div className="pg-editor" ref={host} data-testid="pg-editor" data-doc={props.docId} data-theme-applied={theme} />;
}
