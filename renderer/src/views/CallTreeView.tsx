// Call tree and inverted call tree (Firefox Profiler's): expandable rows with total and self and their bars, `*`
// expands the hot path, arrows navigate, and the selection is the store's selected function, shared with the flame
// views, the table and the sandwich. Derived rows come from model/calltreeview.ts.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { CallTree } from '../model/calltree';
import { computeAncestors, computeHotPath, computeInvertedTree, computeVisibleRows, findHeaviestNode, firstChild, hasChildren } from '../model/calltreeview';
import { computeFuncColors } from '../model/colors';
import { formatPercent, formatWeight } from '../model/format';
import { formatFuncLocation } from '../model/details';
import { computeFuncTable } from '../model/functions';
import { selectCallTree, selectProfile, selectSearch } from '../store/selectors';
import { selectFunction, useStore } from '../store/store';
import { useDefinitionLines } from '../store/sources';
import { EmptyNotice } from './EmptyNotice';
import { useElementHeight } from './useElementHeight';
import { setSelectedInstance } from './selection';

const ROW_PX = 22;
const INDENT_PX = 14;

/** The initial expansion: the hot path from the heaviest root, as Firefox opens a profile. */
function initialExpansion(tree: CallTree): Set<number> {
  return new Set(tree.length ? computeHotPath(tree, 0).slice(0, 40) : []);
}

export function CallTreeView() {
  const profile = useStore(selectProfile);
  const forward = useStore(selectCallTree);
  const search = useStore(selectSearch);
  const selectedFunc = useStore((s) => s.selectedFunc);
  const lineOf = useDefinitionLines();
  const [inverted, setInverted] = useState(false);
  const tree = useMemo(() => (forward ? (inverted ? computeInvertedTree(forward) : forward) : null), [forward, inverted]);
  const [expanded, setExpanded] = useState<Set<number>>(() => (tree ? initialExpansion(tree) : new Set()));
  const [selected, setSelected] = useState(-1);
  const [scrollTop, setScrollTop] = useState(0);
  const scroller = useRef<HTMLDivElement>(null);
  const height = useElementHeight(scroller, 600);

  // A new tree (thread, file, inversion) starts from its hot path.
  const seenTree = useRef(tree);
  if (seenTree.current !== tree) {
    seenTree.current = tree;
    setExpanded(tree ? initialExpansion(tree) : new Set());
    setSelected(-1);
  }

  const rows = useMemo(() => (tree ? computeVisibleRows(tree, expanded) : new Int32Array(0)), [tree, expanded]);
  const rowOf = useMemo(() => {
    const m = new Map<number, number>();
    rows.forEach((node, i) => m.set(node, i));
    return m;
  }, [rows]);

  // A function selected elsewhere (flame views, table, search steps) shows here as its heaviest node.
  useEffect(() => {
    if (!tree || selectedFunc < 0) return;
    if (selected >= 0 && selected < tree.length && tree.func[selected] === selectedFunc) return;
    const node = findHeaviestNode(tree, selectedFunc);
    if (node < 0) return;
    setExpanded((e) => new Set([...e, ...computeAncestors(tree, node)]));
    setSelected(node);
  }, [tree, selectedFunc, selected]);

  // Keep the selected row on screen.
  useEffect(() => {
    const i = rowOf.get(selected);
    const el = scroller.current;
    if (i === undefined || !el) return;
    const top = i * ROW_PX;
    if (top < el.scrollTop || top + ROW_PX > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, top - el.clientHeight / 3);
  }, [selected, rowOf]);

  if (!profile || !tree) return null;
  if (tree.length === 0) return <EmptyNotice title="No stacks in this selection" detail="Pick another thread, or open a file with samples or spans." />;
  const funcs = computeFuncTable(profile);
  const colors = computeFuncColors(funcs);
  const whole = tree.rootTotal || 1;
  const unit = profile.unit;

  const select = (node: number) => {
    setSelected(node);
    if (node < 0) return;
    selectFunction(tree.func[node]);
    // An inverted node is a caller chain, not an instance of the call tree the details panel reads.
    setSelectedInstance(inverted ? null : { kind: 'node', node, func: tree.func[node] });
  };
  const toggle = (node: number, open?: boolean) => {
    setExpanded((e) => {
      const next = new Set(e);
      if (open ?? !next.has(node)) next.add(node);
      else next.delete(node);
      return next;
    });
  };
  const onKeyDown = (e: React.KeyboardEvent) => {
    const i = rowOf.get(selected) ?? -1;
    let handled = true;
    if (e.key === 'ArrowDown') select(rows[Math.min(rows.length - 1, i + 1)] ?? rows[0]);
    else if (e.key === 'ArrowUp') select(rows[Math.max(0, i - 1)] ?? rows[0]);
    else if (e.key === 'ArrowRight' && selected >= 0) {
      if (hasChildren(tree, selected) && !expanded.has(selected)) toggle(selected, true);
      else if (firstChild(tree, selected) >= 0) select(firstChild(tree, selected));
    } else if (e.key === 'ArrowLeft' && selected >= 0) {
      if (expanded.has(selected)) toggle(selected, false);
      else if (tree.parent[selected] >= 0) select(tree.parent[selected]);
    } else if ((e.key === 'Enter' || e.key === ' ') && selected >= 0) toggle(selected);
    else if (e.key === '*') {
      const from = selected >= 0 ? selected : 0;
      setExpanded((ex) => new Set([...ex, ...computeHotPath(tree, from)]));
    } else handled = false;
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  };

  const first = Math.max(0, Math.floor(scrollTop / ROW_PX) - 5);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_PX) + 5);
  const columns = '150px 64px 150px 64px minmax(240px, 1fr) minmax(140px, 0.6fr)';
  const bar = (v: number) => <span className="ct-track"><i style={{ width: `${Math.max(0, Math.min(1, v / whole)) * 100}%` }} /></span>;

  return (
    <div className="view calltree" data-testid="call-tree" data-inverted={inverted}>
      <div className="calltree-tools">
        <label className="opt-check" title="Leaf functions first (where time is spent), their callers below">
          <input type="checkbox" checked={inverted} onChange={(e) => setInverted(e.target.checked)} data-testid="calltree-invert" /> Invert call stack
        </label>
        <span className="dim">↑/↓ select · ←/→ collapse/expand · Enter toggle · <kbd>*</kbd> expand the hot path</span>
      </div>
      <div className="ftable view" tabIndex={0} onKeyDown={onKeyDown} aria-label="Call tree" role="treegrid" data-testid="call-tree-grid">
        <div className="ftable-head" style={{ gridTemplateColumns: columns }} role="row">
          <span className="num">Total</span>
          <span className="num">%</span>
          <span className="num">Self</span>
          <span className="num">%</span>
          <span>{inverted ? 'Function ← callers' : 'Function → callees'}</span>
          <span>File</span>
        </div>
        <div className="ftable-body" ref={scroller} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
          <div style={{ height: rows.length * ROW_PX, position: 'relative' }}>
            {Array.from(rows.subarray(first, last), (node, k) => {
              const func = tree.func[node];
              const open = expanded.has(node);
              const kids = hasChildren(tree, node);
              // Inverted: a root's self is its total (time spent in it); deeper rows are callers, with no self of their own here.
              const self = inverted ? (tree.parent[node] < 0 ? tree.total[node] : NaN) : tree.self[node];
              const dim = search && !search.matches[func];
              return (
                <div
                  key={node}
                  role="row"
                  aria-expanded={kids ? open : undefined}
                  aria-selected={node === selected}
                  className={`ftable-row ct-row${node === selected ? ' selected' : func === selectedFunc ? ' same-func' : ''}${dim ? ' dimmed' : ''}`}
                  data-testid="call-tree-row"
                  data-func-name={funcs.name[func]}
                  data-depth={tree.depth[node]}
                  style={{ top: (first + k) * ROW_PX, gridTemplateColumns: columns }}
                  onClick={() => select(node)}
                  onDoubleClick={() => kids && toggle(node)}
                >
                  <span className="num ct-figure">{bar(tree.total[node])}<b>{formatWeight(tree.total[node], unit)}</b></span>
                  <span className="num dim">{formatPercent(tree.total[node], whole)}</span>
                  <span className="num ct-figure">{Number.isNaN(self) ? '' : <>{bar(self)}<b>{formatWeight(self, unit)}</b></>}</span>
                  <span className="num dim">{Number.isNaN(self) ? '' : formatPercent(self, whole)}</span>
                  <span className="fname" style={{ paddingLeft: tree.depth[node] * INDENT_PX }}>
                    <button
                      type="button"
                      className="ct-twisty"
                      tabIndex={-1}
                      aria-label={open ? 'Collapse' : 'Expand'}
                      data-testid="call-tree-twisty"
                      style={{ visibility: kids ? 'visible' : 'hidden' }}
                      onClick={(e) => {
                        e.stopPropagation();
                        toggle(node);
                      }}
                    >
                      {open ? '▾' : '▸'}
                    </button>
                    <i className="swatch" style={{ background: colors.normal[func] }} />
                    {funcs.name[func]}
                  </span>
                  <span className="ffile" title={funcs.file[func]}><bdi dir="ltr">{formatFuncLocation(funcs, func, lineOf(funcs, func)) || '—'}</bdi></span>
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </div>
  );
}
