// Editor documents and the playground's place in the window: show/hide (the tab beside the viewer), open a file on
// disk, save as, the bundled examples, new and closed tabs.
import { unpackError, requireClient } from '../store/client';
import { useStore } from '../store/store';
import { connectPlayground, forgetHost } from './hosts';
import { createDoc, getPlayground, isHostActive, setPlayground, updateDoc, type PlaygroundDoc } from './store';

/** A new script's starting text: a loop with a hot function, so Run then an edit shows a reload straight away. */
export const STARTER_SCRIPT = `# A playground script: press Run (F5), then edit a function and save (Ctrl+S).
# The loop keeps running; the next call of the function runs the new code.
import time


def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def main():
    tick = 0
    while True:
        work(20_000)
        tick += 1
        if tick % 50 == 0:
            print("tick", tick)
        time.sleep(0.001)


if __name__ == "__main__":
    main()
`;

/** Shows the playground (the toolbar tab, the welcome card, the File menu entry the shell wires). */
export function showPlayground(): void {
  connectPlayground();
  const s = getPlayground();
  if (!s.docs.length) {
    const doc = createDoc({ name: 'untitled.py', text: STARTER_SCRIPT });
    setPlayground({ docs: [doc], activeDocId: doc.docId });
  }
  useStore.setState({ home: false, liveShown: false });
  setPlayground({ shown: true, comparing: false });
}

/** Back to the viewer (the playground and a comparison both give way). */
export function hidePlayground(): void {
  setPlayground({ shown: false, comparing: false });
}

export function selectDoc(docId: string): void {
  setPlayground({ activeDocId: docId, selected: null });
}

export function setDocText(docId: string, text: string): void {
  updateDoc(docId, { text });
}

export function newDoc(): void {
  const names = new Set(getPlayground().docs.map((d) => d.name));
  let name = 'untitled.py';
  for (let i = 2; names.has(name); i++) name = `untitled-${i}.py`;
  const doc = createDoc({ name, text: STARTER_SCRIPT });
  setPlayground((s) => ({ docs: [...s.docs, doc], activeDocId: doc.docId }));
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() || path;
}

function addDoc(doc: PlaygroundDoc): void {
  setPlayground((s) => {
    // An untouched starter tab is replaced rather than kept beside the opened file.
    const active = s.docs.find((d) => d.docId === s.activeDocId);
    const replace = active && !active.hostId && !active.path && active.text === STARTER_SCRIPT;
    const docs = replace ? s.docs.map((d) => (d.docId === active.docId ? doc : d)) : [...s.docs, doc];
    return { docs, activeDocId: doc.docId, error: null };
  });
}

/** Opens a Python file on the services' machine in a new tab (or shows its tab if open already). */
export async function openScript(path: string): Promise<void> {
  const open = getPlayground().docs.find((d) => d.path === path);
  if (open) return selectDoc(open.docId);
  try {
    const { path: real, text } = await requireClient().readVmScript({ path });
    addDoc(createDoc({ name: baseName(real), path: real, text, savedText: text }));
  } catch (err) {
    setPlayground({ error: `Could not open ${path}: ${unpackError(err).message}` });
  }
}

/** An example as a new unsaved script: Run writes it to the playground folder, so the bundled file stays intact. */
export async function openExample(id: string): Promise<void> {
  const ex = getPlayground().examples.find((e) => e.id === id);
  if (!ex) return;
  try {
    const { text } = await requireClient().readVmScript({ path: ex.path });
    addDoc(createDoc({ name: baseName(ex.path), text }));
  } catch (err) {
    setPlayground({ error: `Could not open the example ${ex.title}: ${unpackError(err).message}` });
  }
}

/** Writes the active tab to `path` and binds the tab to it (a running host keeps its own script). */
export async function saveActiveAs(path: string): Promise<void> {
  const s = getPlayground();
  const doc = s.docs.find((d) => d.docId === s.activeDocId);
  if (!doc) return;
  try {
    const saved = await requireClient().writeVmScript({ path, text: doc.text });
    const host = doc.hostId ? s.hosts[doc.hostId] : null;
    // A tab whose host runs another file keeps following that host; the copy is just written.
    if (host && isHostActive(host.info) && host.info.script !== saved.path) return;
    updateDoc(doc.docId, { path: saved.path, name: baseName(saved.path), savedText: doc.text });
  } catch (err) {
    setPlayground({ error: `Could not save ${path}: ${unpackError(err).message}` });
  }
}

/** Closes a tab; its host is stopped and forgotten by the services (the recording stays open as a trace). */
export function closeDoc(docId: string): void {
  const s = getPlayground();
  const doc = s.docs.find((d) => d.docId === docId);
  if (!doc) return;
  if (doc.hostId) {
    const hostId = doc.hostId;
    forgetHost(hostId);
    void requireClient().closeVmHost({ hostId }).catch((err) => setPlayground({ error: `Could not close the host: ${unpackError(err).message}` }));
  }
  setPlayground((st) => {
    const docs = st.docs.filter((d) => d.docId !== docId);
    const hosts = { ...st.hosts };
    if (doc.hostId) delete hosts[doc.hostId];
    const index = st.docs.findIndex((d) => d.docId === docId);
    const activeDocId = st.activeDocId === docId ? docs[Math.min(index, docs.length - 1)]?.docId ?? null : st.activeDocId;
    return { docs, hosts, activeDocId };
  });
}
