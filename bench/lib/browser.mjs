// The viewer half of `bench:open`: the real `emberscope serve`, Debian's Chromium driven by playwright-core, and an
// init script that timestamps what the page does (WebSocket messages, store changes, draws, long tasks) so the time
// from Enter to the first drawn flame graph can be split into phases.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CHROMIUM_PATH, launchChromium } from '../../build/chromium.mjs';
import { repoRoot } from './addon.mjs';
import { findDescendants, readMemory } from './proc.mjs';

export { CHROMIUM_PATH };

/** Runs `node bin/emberscope.mjs serve --port 0` and resolves with its URL and pid once it prints the URL. */
export function startServe(env = {}) {
  const cli = path.join(repoRoot, 'bin/emberscope.mjs');
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0'], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emberscope serve printed no URL in 30 s:\n${out}`)), 30_000);
    const onData = (d) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\S*token=[0-9a-f]+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      resolve({
        url: m[1],
        pid: child.pid,
        output: () => out,
        stop: () =>
          new Promise((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            child.once('exit', () => res());
            child.kill('SIGINT');
            setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
          }),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emberscope serve exited with ${code} before printing a URL:\n${out}`));
    });
  });
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`);
  }
  return launchChromium();
}

/**
 * Runs in the page before its own scripts. Everything it records uses the page's performance.now() clock.
 * - WebSocket: every frame in and out, with its size and the `t`/`id`/`method` read from the JSON head of the codec
 *   frame ([u32 LE json length][json]...), so requests and their responses can be paired.
 * - Enter in the open-path field starts a watcher that checks the store and the draw counters after every frame
 *   (a MessageChannel task posted from requestAnimationFrame runs after that frame's rendering update, so a draw done
 *   by the renderer's own rAF callback is seen in the same frame, not one frame late).
 * - Long tasks (> 50 ms on the main thread), to see where the main thread was busy.
 */
function installPageProbes() {
  const B = (window.__bench = { ws: [], marks: [], longtasks: [], loafs: [], events: [], open: null });
  const decoder = new TextDecoder();
  const peek = (data) => {
    try {
      let u8 = null;
      if (data instanceof ArrayBuffer) u8 = new Uint8Array(data);
      else if (ArrayBuffer.isView(data)) u8 = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (!u8 || u8.byteLength < 4) return {};
      const len = new DataView(u8.buffer, u8.byteOffset, 4).getUint32(0, true);
      const head = decoder.decode(u8.subarray(4, 4 + Math.min(len, 300)));
      const id = /"id":(\d+)/.exec(head);
      return {
        kind: /"t":"(\w+)"/.exec(head)?.[1],
        id: id ? Number(id[1]) : undefined,
        method: /"method":"(\w+)"/.exec(head)?.[1] ?? /"event":"(\w+)"/.exec(head)?.[1],
      };
    } catch {
      return {};
    }
  };
  const Original = window.WebSocket;
  class ProbedWebSocket extends Original {
    constructor(...args) {
      super(...args);
      // Registered before the app sets onmessage, so it runs first: the time is the arrival, before decoding.
      this.addEventListener('message', (e) => {
        const bytes = e.data?.byteLength ?? e.data?.size ?? e.data?.length ?? 0;
        B.ws.push({ dir: 'in', t: performance.now(), bytes, ...peek(e.data) });
      });
    }
    send(data) {
      B.ws.push({ dir: 'out', t: performance.now(), bytes: data?.byteLength ?? data?.length ?? 0, ...peek(data) });
      return super.send(data);
    }
  }
  window.WebSocket = ProbedWebSocket;

  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) B.longtasks.push({ start: e.startTime, dur: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    // No long task API: the breakdown goes without it.
  }
  try {
    // Long animation frames (Chromium 123+) name the scripts that made a frame long: the breakdown's "why".
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        B.loafs.push({
          start: e.startTime,
          dur: e.duration,
          renderStart: e.renderStart,
          styleAndLayoutStart: e.styleAndLayoutStart,
          scripts: (e.scripts ?? []).map((s) => ({
            invoker: s.invoker,
            fn: s.sourceFunctionName,
            src: (s.sourceURL ?? '').split('/').pop(),
            at: s.sourceCharPosition,
            start: s.startTime,
            dur: s.duration,
          })),
        });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch {
    // Older Chromium: no attribution.
  }
  try {
    // Input events that took > 16 ms from dispatch to the next paint (Event Timing API).
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        B.events.push({
          name: e.name,
          start: e.startTime,
          dur: e.duration,
          processing: e.processingEnd - e.processingStart,
          delay: e.processingStart - e.startTime,
        });
      }
    }).observe({ type: 'event', durationThreshold: 16, buffered: true });
  } catch {
    // No Event Timing API.
  }

  const watchOpen = (enterAt) => {
    const o = (B.open = { enterAt, phases: [], profileAt: null, firstDrawAt: null, firstDrawMs: null, frames: 0 });
    let lastPhase;
    const channel = new MessageChannel();
    const check = () => {
      const api = window.__emberscope;
      const now = performance.now();
      const s = api?.getState?.();
      const phase = s?.progress ? s.progress.phase : null;
      if (phase !== lastPhase) {
        o.phases.push({ phase, t: now });
        lastPhase = phase;
      }
      if (o.profileAt === null && s && Object.keys(s.profiles ?? {}).length > 0) o.profileAt = now;
      const stats = api?.getDrawStats?.();
      if (stats && stats.rects > 0) {
        o.firstDrawAt = now;
        o.firstDrawMs = stats.drawMs;
        o.rects = stats.rects;
        return;
      }
      o.frames++;
      requestAnimationFrame(() => channel.port2.postMessage(0));
    };
    channel.port1.onmessage = check;
    check();
  };
  window.addEventListener(
    'keydown',
    (e) => {
      const t = e.target;
      if (e.key === 'Enter' && t && t.getAttribute && t.getAttribute('data-testid') === 'open-path-input') {
        watchOpen(e.timeStamp || performance.now());
      }
    },
    true,
  );

  // Zoom recorder: every frame, the rAF interval and, when the renderer drew since the last frame, its draw ms.
  B.startFrameRecorder = () => {
    const rec = (B.frameRec = { intervals: [], draws: [], running: true, t0: performance.now() });
    const api = window.__emberscope;
    let lastFrames = api.getDrawStats().frames;
    let lastT = null;
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      const s = api.getDrawStats();
      if (s.frames !== lastFrames) {
        rec.draws.push({ ms: s.drawMs, rects: s.rects, skipped: s.frames - lastFrames - 1 });
        lastFrames = s.frames;
      }
      if (rec.running) requestAnimationFrame(tick);
    };
    const tick = (t) => {
      if (lastT !== null) rec.intervals.push(t - lastT);
      lastT = t;
      channel.port2.postMessage(0);
    };
    requestAnimationFrame(tick);
  };
  B.stopFrameRecorder = () => {
    const rec = B.frameRec;
    rec.running = false;
    // Frames over 50 ms in this phase, with the script that took longest in each (long animation frame API).
    const longFrames = B.loafs
      .filter((l) => l.start >= rec.t0)
      .map((l) => {
        const top = [...l.scripts].sort((a, b) => b.dur - a.dur)[0];
        return { dur: l.dur, script: top ? `${top.invoker} ${Math.round(top.dur)} ms` : '' };
      });
    return { intervals: rec.intervals, draws: rec.draws, longFrames };
  };

  // One wheel event per animation frame over the visible flame canvas, as a trackpad delivers them: `steps` in
  // (deltaY < 0), then `steps` out. Returns the synchronous handler time of each event.
  B.runWheelZoom = (steps) =>
    new Promise((resolve, reject) => {
      const canvas = [...document.querySelectorAll('[data-testid="flame-canvas"]')]
        .map((el) => (el instanceof HTMLCanvasElement ? el : el.querySelector('canvas')))
        .find((c) => c && c.getBoundingClientRect().width > 0);
      if (!canvas) return reject(new Error('no visible flame canvas'));
      const r = canvas.getBoundingClientRect();
      const x = r.left + r.width * 0.37;
      const y = r.top + Math.min(r.height / 2, 120);
      const handlerMs = [];
      let i = 0;
      const step = () => {
        if (i >= 2 * steps) return resolve(handlerMs);
        const deltaY = i < steps ? -100 : 100;
        const t0 = performance.now();
        canvas.dispatchEvent(
          new WheelEvent('wheel', { deltaY, deltaMode: 0, clientX: x, clientY: y, bubbles: true, cancelable: true }),
        );
        handlerMs.push(performance.now() - t0);
        i++;
        requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
}

/** A fresh context and page on the served URL with the probes installed, plus a CDP session for heap metrics. */
export async function openPage(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  await context.addInitScript(installPageProbes);
  const page = await context.newPage();
  page.on('pageerror', (e) => process.stderr.write(`[page error] ${e.message}\n`));
  await page.goto(url);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  return { context, page, cdp };
}

/** The page's JS heap (used, total) in bytes, from CDP Performance.getMetrics. */
export async function readPageHeap(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name) => metrics.find((m) => m.name === name)?.value ?? NaN;
  return { used: get('JSHeapUsedSize'), total: get('JSHeapTotalSize') };
}

/** Peak RSS (VmHWM) of each Chromium renderer process started by this Node process, by pid. */
export function readRendererPeaks() {
  const out = new Map();
  for (const p of findDescendants(process.pid)) {
    if (!p.cmdline.includes('--type=renderer')) continue;
    const m = readMemory(p.pid);
    if (m) out.set(p.pid, m.hwm);
  }
  return out;
}

/**
 * Splits the page's record of one open into phases (ms, page clock). `openTrace` is the request that imports the
 * file on the server; `getProfile` is the one that carries the columns to the page.
 */
export function splitOpenPhases(bench) {
  const o = bench.open;
  const ws = bench.ws.filter((m) => m.t >= o.enterAt);
  const req = (method) => ws.find((m) => m.dir === 'out' && m.kind === 'req' && m.method === method);
  const res = (r) => r && ws.find((m) => m.dir === 'in' && m.kind === 'res' && m.id === r.id);
  const openReq = req('openTrace');
  const openRes = res(openReq);
  const profReq = req('getProfile');
  const profRes = res(profReq);
  const d = (a, b) => (a !== undefined && a !== null && b !== undefined && b !== null ? b - a : NaN);
  const longAfter = (t0, t1) =>
    bench.longtasks.filter((l) => l.start >= t0 - 1 && l.start < t1).reduce((n, l) => n + l.dur, 0);
  // The onmessage that delivered the columns: decoding the frame and putting the profile in the store.
  const onmessage = profRes
    ? bench.loafs.flatMap((l) => l.scripts).find((x) => x.invoker === 'DOMWebSocket.onmessage' && x.start >= profRes.t - 1)
    : undefined;
  const afterMessage = onmessage ? onmessage.start + onmessage.dur : NaN;
  return {
    totalMs: d(o.enterAt, o.firstDrawAt),
    uiToRequestMs: d(o.enterAt, openReq?.t),
    serverImportMs: d(openReq?.t, openRes?.t),
    requestProfileMs: d(openRes?.t, profReq?.t),
    transferMs: d(profReq?.t, profRes?.t),
    profileBytes: profRes?.bytes ?? NaN,
    decodeToStoreMs: onmessage ? onmessage.dur : NaN,
    renderAndLayoutMs: d(afterMessage, o.firstDrawAt) - (o.firstDrawMs ?? 0),
    messageToDrawMs: d(profRes?.t, o.firstDrawAt),
    firstDrawMs: o.firstDrawMs ?? NaN,
    longTaskMsAfterProfile: profRes ? longAfter(profRes.t, o.firstDrawAt ?? Infinity) : NaN,
    longTasksAfterProfile: profRes
      ? bench.longtasks.filter((l) => l.start >= profRes.t - 1).map((l) => Math.round(l.dur))
      : [],
    phases: o.phases.map((p) => ({ phase: p.phase, atMs: Math.round(p.t - o.enterAt) })),
    rects: o.rects ?? 0,
  };
}
