// The transform stack, visible above the views: one chip per transform, in the order applied, each removable.
// Transforms are added from the details panel (TransformButtons).
import { computeFuncTable } from '../model/functions';
import { describeTransform, type Transform } from '../model/transforms';
import { selectFullProfile } from '../store/selectors';
import { getState, setTransforms, useStore } from '../store/store';

export function addTransform(t: Transform): void {
  const current = getState().transforms;
  if (current.some((x) => JSON.stringify(x) === JSON.stringify(t))) return;
  setTransforms([...current, t]);
}

export function TransformBar() {
  const transforms = useStore((s) => (s.liveShown || s.home ? null : s.transforms));
  const profile = useStore(selectFullProfile);
  if (!transforms?.length || !profile) return null;
  const names = computeFuncTable(profile).name;
  return (
    <div className="transform-bar" data-testid="transform-bar" aria-label="Transforms">
      <span className="dim">Transforms</span>
      {transforms.map((t, i) => (
        <span key={i} className="transform-chip" data-testid="transform-chip" data-kind={t.kind}>
          <span className="num dim">{i + 1}</span> {describeTransform(t, (f) => names[f] ?? `#${f}`)}
          <button type="button" className="ghost small" aria-label={`Remove transform ${i + 1}`} data-testid="transform-remove" onClick={() => setTransforms(transforms.filter((_, k) => k !== i))}>×</button>
        </span>
      ))}
      <button type="button" className="ghost small" onClick={() => setTransforms([])} data-testid="transform-clear">Clear all</button>
    </div>
  );
}

/** The transforms the selected function offers (in the details panel). */
export function TransformButtons({ func, file }: { func: number; file: string }) {
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
  const item = (label: string, title: string, t: Transform, testId: string) => (
    <button type="button" className="ghost small" title={title} onClick={() => addTransform(t)} data-testid={testId}>{label}</button>
  );
  return (
    <div className="transform-buttons">
      {item('Focus on function', 'Only stacks through it, rooted at it', { kind: 'focus-function', func }, 'transform-focus')}
      {item('Merge into caller', 'Remove it from every stack; its time goes to its callers', { kind: 'merge-function', func }, 'transform-merge')}
      {item('Drop samples with it', 'Remove every sample (and call) that has it on the stack: the calls around it lose that time too', { kind: 'drop-function', func }, 'transform-drop')}
      {item('Collapse recursion', 'Direct recursive calls fold into the outer one', { kind: 'collapse-recursion', func }, 'transform-recursion')}
      {file && item('Hide module', `Merge every frame of ${file} into its callers`, { kind: 'hide-module', path: file }, 'transform-hide-module')}
      {dir && item('Hide package', `Merge every frame under ${dir}/ into its callers`, { kind: 'hide-module', path: dir }, 'transform-hide-package')}
      {dir && item('Collapse package', `Each run of frames under ${dir}/ becomes one frame`, { kind: 'collapse-library', path: dir }, 'transform-collapse-library')}
    </div>
  );
}
