// VM hosts: Python processes the main process starts, supervises, samples and hot-reloads (issue 7). The services
// expose them through the contract's `…VmHost` requests (`vmRequests` below); the CLI's `emberscope vm` drives a
// VmHostManager directly.
//
// Life of a host: spawn the agent (vm-process.ts) -> `hello` -> a live sampling session attached to its pid (the
// SessionManager's public API; it is our child, so no privilege is needed) -> `run` -> the script's first line runs
// already sampled. A ping every second finds a host stuck in C holding the GIL ('unresponsive', with where it is, from
// the sampler's last stack). When the process ends, its cause is reported (vm-process.ts classifies it) with the last
// output, and the sampling session ends by itself, its recording opened as a trace.
//
// Generations: every ok reload bumps it; each sample gets a generation beside it (vm-attribution.ts says how), so
// `getVmProfile({generation})` gives the samples of one version of the code.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type {
  EmberscopeEvents,
  EmberscopeRequests,
  LiveBatch,
  VmExample,
  VmHostEnd,
  VmHostInfo,
  VmOldFrame,
  VmReloadReport,
  VmStartArgs,
} from '../contract/api';
import { ContractError } from '../contract/api';
import type { Profile } from '../contract/profile';
import { validateRequestArg } from '../contract/validate';
import type { VmEvent } from '../contract/vm-protocol';
import { VM_LIMITS, VM_PROTOCOL_VERSION } from '../contract/vm-protocol';
import { getResources } from './resources';
import { prepareRecord } from './sessions';
import { ATTRIBUTION_RULE } from './vm-attribution';
import { checkInterpreter, FileWatcher, isInside, listExamples, readScript, readSource, writeScript } from './vm-files';
import { GroupGuardian } from './vm-guardian';
import { AgentProcess, type AgentProcessEvents, type ProcessEnd } from './vm-process';
import { describeEnd, summarizeReport, trimStackDump } from './vm-report';
import { HostSampling } from './vm-sampling';
import { SpareAgent, type Hello } from './vm-spare';
import { checkVmExactStarted, openVmExact, planVmExact } from './vm-exact';
import { MAX_TEXT } from './vm-wire';

import type { Emit, Host, VmHostManagerOptions, VmStartOptions } from './vm-host-types';

export type { VmHostManagerOptions, VmStartOptions } from './vm-host-types';
type VmRequestName = Extract<keyof EmberscopeRequests, `${string}Vm${string}`>;
export type VmRequests = Pick<EmberscopeRequests, VmRequestName>;

/** Time for the agent to say hello (a cold interpreter on a loaded machine takes well under a second). */
const HELLO_TIMEOUT_MS = 15_000;
/**
 * One tick for every host (pings, sample counts): one wake-up a second for the whole manager rather than two per
 * host, which matters on a loaded machine where every wake-up of the event loop waits for a core.
 */
const TICK_MS = 1000;
/** `stop`: time for the agent's own shutdown, then for SIGTERM, before SIGKILL. */
const SHUTDOWN_GRACE_MS = 2000;
const TERM_GRACE_MS = 1000;
/** A reload waits for the script's main thread to reach a safe point; longer than this, the request gives up. */
const RELOAD_TIMEOUT_MS = 30_000;
const DEFAULT_RATE_HZ = 100;
/** Generations whose full reload report stays in the host's history (older ones keep their summary). */
const REPORTS_KEPT = 50;
/** The last output kept in a host's end report. */
const END_OUTPUT_CHARS = 4096;
/** Files a host's `modules` event may have watched (a script's own local modules; the agent's word is bounded). */
const MAX_WATCHED_FILES = 1000;

export class VmHostManager {
  private readonly hosts = new Map<string, Host>();
  private counter = 0;
  private readonly maxHosts: number;
  private readonly playgroundDir: string;
  /** Files the editor opened this run: it may save them. */
  private readonly opened = new Set<string>();
  private readonly unsubscribe: () => void;
  private disposed = false;
  private readonly guardian = new GroupGuardian();
  private ticker: NodeJS.Timeout | undefined;
  /** An agent started ahead for the next host (see VmHostManagerOptions.spare). */
  private readonly spare: SpareAgent;
  /**
   * Recycles in flight. A second recycle of the same host is refused (two would each launch a process, and all but
   * the last would run on unsupervised, past the host limit); stop, kill and close wait for it.
   */
  private readonly recycling = new Map<Host, Promise<unknown>>();
  /** Playground files a start is writing and launching (reservePlaygroundPath). */
  private readonly reserved = new Set<string>();

  constructor(private readonly opts: VmHostManagerOptions) {
    this.maxHosts = opts.maxHosts ?? VM_LIMITS.defaultMaxHosts;
    this.playgroundDir = join(opts.dataDir, 'playground');
    this.spare = new SpareAgent((interpreter) => ({ interpreter, agentDir: opts.agentDir, cwd: opts.dataDir, guardian: this.guardian }));
    this.unsubscribe = opts.subscribe((event, payload) => {
      if (event === 'onDidSessionBatch') this.onBatch(payload as EmberscopeEvents['onDidSessionBatch']);
    });
  }

  list(): VmHostInfo[] {
    return [...this.hosts.values()].map((h) => this.snapshot(h));
  }

  info(hostId: string): VmHostInfo {
    return this.snapshot(this.get(hostId));
  }

  async start(args: VmStartArgs, options: VmStartOptions = {}): Promise<VmHostInfo> {
    const problem = validateRequestArg('startVmHost', args);
    if (problem) throw new ContractError('bad-request', problem);
    if (this.disposed) throw new ContractError('bad-request', 'the services are shutting down');
    this.checkCapacity();
    if (args.source === undefined) return this.startHost(args, options, resolve(args.script!));
    const script = this.reservePlaygroundPath(args.name!);
    try {
      await this.authorizeWrite(script);
      await writeScript(script, args.source, () => true);
      return await this.startHost(args, options, script);
    } finally {
      this.reserved.delete(script);
    }
  }

  /**
   * The playground file for a new script named `name`: that name, unless a host that has not ended runs or watches
   * that file, or another start is writing it (two "untitled.py" tabs run one after the other): then name-2.py, … .
   * Writing over such a file had hot-reloaded the first tab's host with the second tab's code.
   */
  private reservePlaygroundPath(name: string): string {
    const busy = new Set(this.reserved);
    for (const h of this.hosts.values()) if (h.info.state !== 'ended') for (const f of [h.info.script, ...h.info.watchedFiles]) busy.add(f);
    const stem = name.slice(0, -'.py'.length);
    let path = join(this.playgroundDir, name);
    for (let n = 2; busy.has(path); n++) path = join(this.playgroundDir, `${stem}-${n}.py`);
    this.reserved.add(path);
    return path;
  }

  private async startHost(args: VmStartArgs, options: VmStartOptions, script: string): Promise<VmHostInfo> {
    // The same checks and interpreter lookup as a recorded script's; argv is exactly what the user is asked about.
    const { argv, cwd } = prepareRecord({ kind: 'record', script, args: args.args ?? [], ...(args.cwd ? { cwd: args.cwd } : {}), ...(args.interpreter ? { interpreter: args.interpreter } : {}) });
    await this.opts.authorize?.({ kind: 'vm-host', argv, cwd });
    const { version: pythonVersion, executable: interpreter } = await checkInterpreter(argv[0]!);
    this.checkCapacity(); // again: others may have started while the version was checked
    const hostId = `vm-${++this.counter}`;
    const host: Host = {
      info: {
        hostId,
        script,
        name: basename(script),
        args: args.args ?? [],
        interpreter,
        pythonVersion,
        cwd,
        pid: 0,
        state: 'starting',
        startedAt: Date.now(),
        generation: 0,
        generations: [],
        rateHz: args.rateHz ?? DEFAULT_RATE_HZ,
        attribution: ATTRIBUTION_RULE,
        watchedFiles: [script],
        staleClasses: 0,
        recycles: 0,
      },
      options,
      ...(args.exact ? { exact: { options: args.exactOptions ?? {} } } : {}),
      sampling: new HostSampling(this.opts.sessions),
      watcher: new FileWatcher((files) => void this.reloadFiles(hostId, files).catch(() => undefined)),
      pingInFlight: false,
      samplesDirty: false,
      reloadChain: Promise.resolve(),
      lastReportKey: '',
      lastGood: new Map(),
      ended: Promise.resolve(),
      settleEnded: () => undefined,
    };
    this.hosts.set(hostId, host);
    await this.launchOrEnd(host, false);
    return this.snapshot(host);
  }

  async stop(hostId: string): Promise<VmHostInfo> {
    const h = this.get(hostId);
    await this.recycled(h);
    await this.stopHost(h);
    return this.snapshot(h);
  }

  interrupt(hostId: string): VmHostInfo {
    const h = this.running(hostId, 'interrupt');
    h.proc!.interrupt();
    return this.snapshot(h);
  }

  async kill(hostId: string): Promise<VmHostInfo> {
    const h = this.get(hostId);
    await this.recycled(h);
    if (h.proc && !h.proc.hasExited) {
      h.proc.kill('SIGKILL', 'killed');
      await h.ended;
    }
    return this.snapshot(h);
  }

  /** A fresh process for the same script: state gone, generations from 0, the last code that loaded. */
  async recycle(hostId: string): Promise<VmHostInfo> {
    const h = this.get(hostId);
    if (this.recycling.has(h)) throw new ContractError('bad-request', `${h.info.name} (${hostId}) is being recycled already: wait for it`);
    if (h.info.state === 'starting') throw new ContractError('bad-request', `cannot recycle ${h.info.name} (${hostId}) yet: it is starting`);
    const done = this.recycleHost(h);
    this.recycling.set(h, done);
    try {
      return await done;
    } finally {
      this.recycling.delete(h);
    }
  }

  private async recycleHost(h: Host): Promise<VmHostInfo> {
    await this.stopHost(h);
    const current = await readSource(h.info.script).catch(() => undefined);
    const good = h.lastGood.get(h.info.script);
    if (h.failed && good !== undefined && current !== undefined && current === h.failed.text) {
      // The script on disk is the edit that failed. Ours (a playground script): put the last good text back. The
      // user's own file is theirs: we do not overwrite it, we say what to do.
      if (!isInside(h.info.script, this.playgroundDir)) {
        throw new ContractError(
          'bad-request',
          `${h.info.name} on disk holds the edit that failed to reload (${h.failed.why}): fix or undo it, then recycle`,
        );
      }
      await writeScript(h.info.script, good, () => true);
    }
    this.checkCapacity();
    h.info.recycles += 1;
    Object.assign(h.info, { state: 'starting', pid: 0, generation: 0, generations: [], staleClasses: 0, startedAt: Date.now() });
    delete h.info.end;
    delete h.info.traceId;
    delete h.info.sessionId;
    delete h.info.stuck;
    delete h.info.oldFrames;
    h.sampling = new HostSampling(this.opts.sessions);
    h.lastReportKey = '';
    h.failed = undefined;
    await this.launchOrEnd(h, true);
    return this.snapshot(h);
  }

  async close(hostId: string): Promise<void> {
    const h = this.get(hostId);
    await this.recycled(h);
    await this.stopHost(h);
    h.watcher.close();
    this.hosts.delete(hostId);
  }

  /** Reloads the host's changed files; with `source`, writes it to the script first (the editor's save). */
  async reload(hostId: string, source?: string): Promise<VmReloadReport> {
    const h = this.running(hostId, 'reload');
    if (source !== undefined) {
      await writeScript(h.info.script, source, () => true);
      h.watcher.remember(h.info.script, source);
      // The text goes with the request when an agent's string can hold it (1 Mi characters: 6 MB as JSON at worst,
      // within a line); a longer one (the editor allows 4 Mi) is read by the agent from the file just written.
      return this.queueReload(h, [h.info.script], source.length <= MAX_TEXT ? source : undefined);
    }
    const changed = await h.watcher.changed();
    return this.queueReload(h, changed.length > 0 ? changed : [h.info.script]);
  }

  async readScript(path: string): Promise<{ path: string; text: string }> {
    const result = await readScript(path);
    this.opened.add(result.path);
    return result;
  }

  /**
   * The editor's save: to a file it opened or a host runs or watches, anywhere in the playground folder, or a new
   * file (Save As) beside one of those. Writing a .py file elsewhere could plant code that Python runs on its own
   * (a sitecustomize.py in site-packages): a renderer must not be able to.
   */
  async writeScript(path: string, text: string): Promise<{ path: string }> {
    await this.authorizeWrite(resolve(path));
    return writeScript(path, text, (abs) => {
      if (this.opened.has(abs) || isInside(abs, this.playgroundDir) || this.isHostFile(abs) || this.opts.chosenByUser?.(abs)) return true;
      if (existsSync(abs)) return false;
      const folder = dirname(abs);
      return [...this.opened, ...this.hostFiles()].some((f) => dirname(f) === folder);
    }).then((result) => {
      this.opened.add(result.path);
      return result;
    });
  }

  getProfile(hostId: string, generation?: number): Profile {
    const h = this.get(hostId);
    const profile = h.sampling.profile({ vm_host: hostId, vm_generation: String(h.info.generation) }, generation);
    if (!profile) {
      throw new ContractError('not-found', `host ${hostId} has no samples${h.sampling.problem ? ` (${h.sampling.problem})` : h.info.state === 'starting' ? ' yet (it is starting)' : ''}`);
    }
    return profile;
  }

  /** The generation of each sample of each thread (in `getProfile()` order), for exports that keep generations. */
  generationColumns(hostId: string): Uint32Array[] {
    return this.get(hostId).sampling.columns();
  }

  listExamples(): Promise<VmExample[]> {
    return listExamples(this.opts.examplesDir);
  }

  /** Resolves once the host's current process has ended and been reported (with its trace when sampled). */
  whenEnded(hostId: string): Promise<void> {
    return this.get(hostId).ended;
  }

  /** Ends every host (SIGKILL to each process group after a short grace) and stops watching. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.unsubscribe();
    clearInterval(this.ticker);
    this.ticker = undefined;
    await this.spare.close();
    await Promise.all([...this.hosts.values()].map((h) => this.stopHost(h, 500)));
    for (const h of this.hosts.values()) h.watcher.close();
    this.guardian.close();
  }

  // ---- internals ----

  private checkCapacity(): void {
    const running = [...this.hosts.values()].filter((h) => h.info.state !== 'ended').length;
    if (running >= this.maxHosts) {
      throw new ContractError(
        'bad-request',
        `${running} VM hosts are running, the most allowed at once is ${this.maxHosts}: stop or close one first`,
      );
    }
  }

  /** Asks the policy before a Python file is written (one a program would run is as good as a program start). */
  private async authorizeWrite(abs: string): Promise<void> {
    await this.opts.authorize?.({ kind: 'script-write', argv: [abs], cwd: dirname(abs) });
  }

  /** Waits for a recycle of `h` in flight, whatever its outcome. */
  private async recycled(h: Host): Promise<void> {
    await this.recycling.get(h)?.catch(() => undefined);
  }

  private get(hostId: string): Host {
    const h = this.hosts.get(hostId);
    if (!h) throw new ContractError('not-found', `no VM host '${hostId}': it was closed or never existed in this app run`);
    return h;
  }

  private running(hostId: string, verb: string): Host {
    const h = this.get(hostId);
    if (h.info.state === 'ended' || !h.proc || h.proc.hasExited) {
      throw new ContractError('bad-request', `cannot ${verb} ${h.info.name} (${hostId}): it has ended (${h.info.end?.message ?? 'stopped'}); recycle it to run again`);
    }
    if (h.info.state === 'starting') throw new ContractError('bad-request', `cannot ${verb} ${h.info.name} (${hostId}) yet: it is starting`);
    return h;
  }

  private hostFiles(): string[] {
    return [...this.hosts.values()].flatMap((h) => [h.info.script, ...h.info.watchedFiles]);
  }

  private isHostFile(abs: string): boolean {
    return this.hostFiles().includes(abs);
  }

  /** Launches a new process for `h`; when that fails, nothing is left running and the error is thrown. */
  private async launchOrEnd(h: Host, keep: boolean): Promise<void> {
    h.ended = new Promise<void>((r) => (h.settleEnded = r));
    try {
      await this.launch(h);
    } catch (err) {
      // Stopped or killed by the user while starting: said as such, not as an agent that failed to start.
      const asked = h.proc?.endRequested;
      await this.forceEnd(h, keep);
      if (asked) throw new ContractError('cancelled', `${h.info.name} was ${asked} before it started running`);
      throw err;
    }
  }

  /** Spawns the agent, waits for hello, starts sampling, runs the script. */
  private async launch(h: Host): Promise<void> {
    const { info } = h;
    let helloResolve!: (e: Hello) => void;
    let helloReject!: (err: Error) => void;
    const hello = new Promise<Hello>((res, rej) => ((helloResolve = res), (helloReject = rej)));
    // The script's first line is about to run (or it ended before): only then may reloads be asked for.
    let startedResolve!: () => void;
    const started = new Promise<void>((res) => (startedResolve = res));
    const events: AgentProcessEvents = {
      onEvent: (event) => {
        if (event.event === 'hello') helloResolve(event);
        else if (event.event === 'started' || event.event === 'ended') startedResolve();
        if (event.event !== 'hello') this.onAgentEvent(h, event);
      },
      onOutput: (stream, text) => this.opts.emit('onDidVmOutput', { hostId: info.hostId, stream, text }),
      onExit: (end) => {
        helloReject(new Error(end.agentError ?? 'exited'));
        startedResolve();
        this.onExit(h, proc, end);
      },
    };
    // Exact mode: a fresh agent with the tracer's environment (a spare one started without it); each process
    // records into its own folder.
    const plan = h.exact ? planVmExact(this.opts.dataDir, this.opts.agentDir, info.pythonVersion, h.exact.options) : undefined;
    if (h.exact && plan) {
      h.exact.dir = plan.dir;
      info.exact = plan.info;
    }
    const spare = plan?.env ? undefined : this.spare.take(info.interpreter);
    const spawnWith = { interpreter: info.interpreter, agentDir: this.opts.agentDir, cwd: info.cwd, guardian: this.guardian, ...(plan?.env ? { env: plan.env } : {}) };
    const proc = spare?.proc ?? new AgentProcess(spawnWith, events);
    if (spare) {
      proc.rebind(events);
      helloResolve(spare.hello);
    }
    h.proc = proc;
    info.pid = proc.pid;
    this.changed(h);
    const timer = setTimeout(() => helloReject(new Error(`no hello in ${HELLO_TIMEOUT_MS} ms`)), HELLO_TIMEOUT_MS);
    let greeting: Hello;
    try {
      greeting = await hello;
    } catch (err) {
      const stderr = proc.recentOutput('stderr').trim().split('\n').slice(-5).join('\n');
      proc.kill('SIGKILL');
      throw new ContractError(
        'spawn-failed',
        `the Emberscope agent did not start under ${info.interpreter} (${(err as Error).message})${stderr ? `:\n${stderr}` : ''}`,
      );
    } finally {
      clearTimeout(timer);
    }
    h.stackSignal = greeting.stackSignal;
    if (greeting.protocol !== VM_PROTOCOL_VERSION) {
      proc.kill('SIGKILL');
      throw new ContractError('spawn-failed', `the agent speaks protocol ${greeting.protocol}, this Emberscope ${VM_PROTOCOL_VERSION}: reinstall Emberscope`);
    }
    const sampling = h.sampling;
    sampling.start(proc.pid, info.rateHz, info.name, info.hostId, (trace) => {
      if (h.sampling !== sampling) return; // recycled meanwhile: this recording is an older process's
      h.info.traceId = trace.traceId;
      this.changed(h);
    });
    if (h.sampling.sessionId) info.sessionId = h.sampling.sessionId;
    if (h.sampling.problem) info.attribution = h.sampling.problem;
    h.lastGood.set(info.script, await readSource(info.script).catch(() => ''));
    if (h.options.watch !== false) await h.watcher.set([info.script]);
    const reply = await proc.request({ cmd: 'run', script: info.script, args: info.args, cwd: info.cwd }, HELLO_TIMEOUT_MS).catch((err: Error) => {
      throw new ContractError('spawn-failed', `the host did not run ${info.name}: ${err.message}`);
    });
    if (!reply.ok) throw new ContractError('spawn-failed', `the host did not run ${info.name}: ${reply.error}`);
    const timer2 = setTimeout(startedResolve, HELLO_TIMEOUT_MS);
    await started;
    clearTimeout(timer2);
    if (this.opts.spare !== false && !this.disposed) this.spare.refill(info.interpreter);
    if (proc.hasExited) return; // a script that ended at once is reported by onExit
    const exactDir = h.exact?.dir;
    if (exactDir) {
      void checkVmExactStarted(exactDir, () => proc.recentOutput('stderr'), () => proc.hasExited).then((off) => {
        if (!off || h.proc !== proc || h.exact?.dir !== exactDir || proc.hasExited) return;
        h.exact.dir = undefined;
        info.exact = off;
        this.changed(h);
      });
    }
    info.state = 'running';
    info.generations = [{ generation: 0, at: Date.now(), summary: 'start', samples: 0 }];
    this.startTicking();
    this.changed(h);
  }

  private onBatch(payload: { sessionId: string; batch: LiveBatch }): void {
    for (const h of this.hosts.values()) {
      if (h.sampling.sessionId !== payload.sessionId) continue;
      h.sampling.apply(payload.batch);
      if (h.sampling.problem) h.info.attribution = h.sampling.problem;
      // Counted and reported on the next tick (host events for sample counts: at most one a second).
      h.samplesDirty = true;
      return;
    }
  }

  private updateCounts(h: Host): void {
    const counts = h.sampling.counts();
    for (const g of h.info.generations) g.samples = counts.get(g.generation) ?? 0;
  }

  private onAgentEvent(h: Host, event: VmEvent): void {
    switch (event.event) {
      case 'reload':
        this.applyReport(h, event.report);
        break;
      case 'live-frames':
        h.sampling.addLiveFrames(event.generation, event.threads);
        h.info.oldFrames = { generation: event.generation, frames: event.threads.flatMap((t) => t.frames.map((f) => ({ tid: t.tid, ...f }))) };
        this.changed(h);
        break;
      case 'frames-returned': {
        h.sampling.addReturned(event.generation, event.t, event.frames);
        const old = h.info.oldFrames;
        if (old && old.generation === event.generation) {
          const gone = (f: VmOldFrame) => event.frames.some((r) => r.tid === f.tid && r.name === f.name && r.file === f.file && r.depth === f.depth);
          h.info.oldFrames = { generation: old.generation, frames: old.frames.filter((f) => !gone(f)) };
          // The playground's "not in effect" notice for a function that was running follows this.
          this.changed(h);
        }
        break;
      }
      case 'modules': {
        const files = [...new Set([h.info.script, ...event.files.map((f) => resolve(f))])].slice(0, MAX_WATCHED_FILES);
        h.info.watchedFiles = files;
        if (h.options.watch !== false) void h.watcher.set(files);
        for (const f of files) if (!h.lastGood.has(f)) void readSource(f).then((t) => h.lastGood.set(f, t), () => undefined);
        this.changed(h);
        break;
      }
      case 'started':
      case 'ended':
      case 'hello':
        break;
    }
  }

  /** Records a reload's report once (it comes as the reply and as an event). */
  private applyReport(h: Host, report: VmReloadReport): void {
    const key = JSON.stringify(report);
    if (key === h.lastReportKey) return;
    h.lastReportKey = key;
    if (report.ok) h.failed = undefined;
    else {
      const e = report.error;
      const why = e ? `${basename(e.file)}:${e.line}: ${e.message}` : 'the reload failed';
      h.failed = { text: undefined, why };
      // The text it tried: what the script holds now (the editor's save wrote it just before).
      if (report.files.includes(h.info.script)) {
        const failed = h.failed;
        void readSource(h.info.script).then((t) => (failed.text = t), () => undefined);
      }
    }
    if (report.ok && report.generation > h.info.generation) {
      // Applied `ms` after the agent got the request (its own clock), which is about when we sent it: a better
      // time than the reply's arrival, which the agent's threads may delay by tens of ms on a busy machine.
      h.sampling.addReload(report.generation, h.reloadSentAt !== undefined ? h.reloadSentAt + report.ms : undefined);
      h.info.generation = report.generation;
      h.info.staleClasses = report.staleClasses;
      h.info.generations.push({ generation: report.generation, at: Date.now(), summary: summarizeReport(report), report, samples: 0 });
      // Every host event carries the history: older entries keep their summary, not their whole report.
      const old = h.info.generations.length - REPORTS_KEPT;
      if (old > 0) delete h.info.generations[old - 1]!.report;
      for (const f of report.files) void readSource(f).then((t) => h.lastGood.set(resolve(f), t), () => undefined);
    }
    this.opts.emit('onDidVmReload', { hostId: h.info.hostId, report });
    this.changed(h);
  }

  private async reloadFiles(hostId: string, files: string[]): Promise<void> {
    const h = this.hosts.get(hostId);
    if (!h || h.info.state === 'ended' || h.info.state === 'starting') return;
    await this.queueReload(h, files);
  }

  private queueReload(h: Host, files: string[], source?: string): Promise<VmReloadReport> {
    const run = async (): Promise<VmReloadReport> => {
      const proc = h.proc;
      if (!proc || proc.hasExited) throw new ContractError('bad-request', `${h.info.name} has ended: recycle it to run again`);
      let reply;
      try {
        h.reloadSentAt = performance.timeOrigin + performance.now();
        reply = await proc.request({ cmd: 'reload', files, ...(source !== undefined ? { source } : {}) }, RELOAD_TIMEOUT_MS);
      } catch (err) {
        if (proc.hasExited) {
          // The new code may have ended it (sys.exit or os._exit at the top level, a crash): not a stuck script.
          throw new ContractError('bad-request', `${h.info.name} ended during the reload (its end report says how): recycle it to run again`);
        }
        throw new ContractError(
          'internal',
          `${h.info.name} did not apply the reload: ${(err as Error).message} (a script stuck in C code reaches no safe point: interrupt or kill it)`,
        );
      }
      if (!reply.ok) throw new ContractError('internal', `the host refused the reload: ${reply.error}`);
      if (!('report' in reply)) throw new ContractError('internal', 'the host answered the reload without a report');
      this.applyReport(h, reply.report);
      return reply.report;
    };
    const next = h.reloadChain.then(run, run);
    h.reloadChain = next.catch(() => undefined);
    return next;
  }

  private startTicking(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
  }

  /** Pings every running host and reports new sample counts; stops when no host runs. */
  private tick(): void {
    let running = 0;
    for (const h of this.hosts.values()) {
      if (h.info.state === 'ended' || h.info.state === 'starting' || !h.proc || h.proc.hasExited) continue;
      running++;
      this.ping(h, h.proc);
      if (h.samplesDirty) {
        h.samplesDirty = false;
        this.updateCounts(h);
        this.changed(h);
      }
    }
    if (running === 0) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  private ping(h: Host, proc: AgentProcess): void {
    if (h.pingInFlight || proc.hasExited) return;
    h.pingInFlight = true;
    const sent = Date.now();
    proc.request({ cmd: 'ping' }, VM_LIMITS.pingTimeoutMs).then(
      () => {
        h.pingInFlight = false;
        if (h.info.state === 'unresponsive' && h.proc === proc) {
          h.info.state = 'running';
          delete h.info.stuck;
          this.changed(h);
        }
      },
      () => {
        h.pingInFlight = false;
        if (proc.hasExited || h.proc !== proc || h.info.state === 'ended') return;
        h.info.state = 'unresponsive';
        const was = h.info.stuck;
        h.info.stuck = {
          since: was?.since ?? sent,
          stack: h.sampling.stuckStack(proc.pid, (file) => file.startsWith(this.opts.agentDir)),
          ...(was?.dump ? { dump: was.dump } : {}),
        };
        this.changed(h);
        // Once per stuck spell: the signal interrupts a C-level sleep (system calls restart), so it is not repeated.
        if (!was?.dump) void this.dumpStacks(h, proc);
      },
    );
  }

  /**
   * faulthandler's stacks of every thread of a host that stopped answering, beside the sampler's stack (which is
   * empty for a main thread sleeping in C: idle samples are not kept).
   */
  private async dumpStacks(h: Host, proc: AgentProcess): Promise<void> {
    if (h.stackSignal === undefined) return;
    const text = await proc.dumpStacks(h.stackSignal);
    if (h.proc !== proc || !h.info.stuck || !text.trim()) return;
    h.info.stuck.dump = trimStackDump(text, (file) => file.startsWith(this.opts.agentDir));
    this.changed(h);
  }

  private onExit(h: Host, proc: AgentProcess, end: ProcessEnd): void {
    if (h.proc !== proc) return;
    h.samplesDirty = false;
    h.watcher.close();
    h.watcher = new FileWatcher((files) => void this.reloadFiles(h.info.hostId, files).catch(() => undefined));
    const report: VmHostEnd = {
      ...describeEnd(end),
      lastStdout: tail(proc.recentOutput('stdout')),
      lastStderr: tail(proc.recentOutput('stderr')),
      at: Date.now(),
    };
    h.info.state = 'ended';
    h.info.end = report;
    delete h.info.stuck;
    delete h.info.oldFrames;
    this.updateCounts(h);
    this.changed(h);
    // The session ends by itself (the process is gone); its trace arrives via whenEnded. Wait a little for it, so
    // `ended` resolves with the trace id set when the sampler is quick (it usually is).
    const sessionId = h.info.sessionId;
    const exactDone = this.finishExact(h, proc);
    const settle = () => void exactDone.finally(() => h.settleEnded());
    if (!sessionId) settle();
    else {
      const timer = setTimeout(settle, 3000);
      void this.opts.sessions
        .whenEnded(sessionId)
        .catch(() => undefined)
        .finally(() => {
          clearTimeout(timer);
          this.updateCounts(h);
          settle();
        });
    }
  }

  /** The ended process's exact recording, opened as a trace (or why there is none); `ended` waits for it. */
  private async finishExact(h: Host, proc: AgentProcess): Promise<void> {
    const dir = h.exact?.dir;
    if (!dir || h.info.exact?.state !== 'recording') return;
    h.exact!.dir = undefined;
    const open = this.opts.openExactTrace;
    const off = await checkVmExactStarted(dir, () => proc.recentOutput('stderr'), () => true);
    const next = off ?? (open
      ? await openVmExact(h.info.exact, dir, (manifest) => open(manifest, `exact ${h.info.name} (${h.info.hostId})`))
      : { ...h.info.exact, state: 'failed' as const, message: `The exact recording is kept at ${join(dir, 'manifest.json')} (open it from File → Open).` });
    if (h.proc !== proc) return; // recycled meanwhile: the host shows the new process
    h.info.exact = next;
    this.changed(h);
  }

  /** shutdown -> SIGTERM -> SIGKILL, each after a grace, until the process is gone. */
  private async stopHost(h: Host, grace = SHUTDOWN_GRACE_MS): Promise<void> {
    const proc = h.proc;
    if (!proc || proc.hasExited) return;
    proc.expectEnd('stopped');
    void proc.request({ cmd: 'shutdown' }).catch(() => undefined);
    const exited = proc.exitedPromise;
    const wait = (ms: number) => new Promise<boolean>((r) => {
      const t = setTimeout(() => r(false), ms);
      void exited.then(() => {
        clearTimeout(t);
        r(true);
      });
    });
    if (!(await wait(grace))) {
      proc.kill('SIGTERM');
      if (!(await wait(TERM_GRACE_MS))) proc.kill('SIGKILL');
    }
    await h.ended;
  }

  /** A launch that failed: nothing is left running; the host reads as ended (`keep`) or is forgotten. */
  private async forceEnd(h: Host, keep: boolean): Promise<void> {
    if (h.proc && !h.proc.hasExited) {
      h.proc.kill('SIGKILL');
      await Promise.race([h.ended, new Promise((r) => setTimeout(r, 2000))]);
    }
    if (h.info.sessionId) await this.opts.sessions.stop(h.info.sessionId).catch(() => undefined);
    h.watcher.close();
    if (h.info.state !== 'ended') {
      h.info.state = 'ended';
      this.changed(h);
    }
    h.settleEnded();
    if (!keep) this.hosts.delete(h.info.hostId);
  }

  private snapshot(h: Host): VmHostInfo {
    return {
      ...h.info,
      args: [...h.info.args],
      generations: h.info.generations.map((g) => ({ ...g })),
      ...(h.info.oldFrames ? { oldFrames: { generation: h.info.oldFrames.generation, frames: [...h.info.oldFrames.frames] } } : {}),
      watchedFiles: [...h.info.watchedFiles],
    };
  }

  private changed(h: Host): void {
    if (!this.hosts.has(h.info.hostId)) return;
    this.opts.emit('onDidChangeVmHost', this.snapshot(h));
  }
}

function tail(text: string): string {
  return text.length <= END_OUTPUT_CHARS ? text : text.slice(text.length - END_OUTPUT_CHARS);
}

/** The contract's VM requests over a manager; `guard` turns anything thrown into a ContractError. */
export function vmRequests(
  vm: VmHostManager,
  guard: <A extends unknown[], R>(fn: (...args: A) => Promise<R> | R) => (...args: A) => Promise<R>,
): VmRequests {
  return {
    startVmHost: guard((args: VmStartArgs) => vm.start(args)),
    stopVmHost: guard(({ hostId }: { hostId: string }) => vm.stop(hostId)),
    interruptVmHost: guard(({ hostId }: { hostId: string }) => vm.interrupt(hostId)),
    killVmHost: guard(({ hostId }: { hostId: string }) => vm.kill(hostId)),
    recycleVmHost: guard(({ hostId }: { hostId: string }) => vm.recycle(hostId)),
    closeVmHost: guard(({ hostId }: { hostId: string }) => vm.close(hostId)),
    listVmHosts: guard(() => vm.list()),
    reloadVmHost: guard(({ hostId, source }: { hostId: string; source?: string }) => vm.reload(hostId, source)),
    readVmScript: guard(({ path }: { path: string }) => vm.readScript(path)),
    writeVmScript: guard(({ path, text }: { path: string; text: string }) => vm.writeScript(path, text)),
    getVmProfile: guard(({ hostId, generation }: { hostId: string; generation?: number }) => vm.getProfile(hostId, generation)),
    listVmExamples: guard(() => vm.listExamples()),
  };
}


/**
 * A manager with the app's agent (shipped as plain Python source in electron/agent/; $EMBERSCOPE_AGENT_DIR overrides
 * it, for developing the agent) and bundled examples.
 */
export function createVmHostManager(opts: Omit<VmHostManagerOptions, 'agentDir' | 'examplesDir'>): VmHostManager {
  const resources = getResources();
  // $EMBERSCOPE_MAX_VM_HOSTS raises or lowers the limit of hosts at once (1–256) where the caller set none.
  const fromEnv = Number(process.env.EMBERSCOPE_MAX_VM_HOSTS);
  const maxHosts = opts.maxHosts ?? (Number.isInteger(fromEnv) && fromEnv >= 1 && fromEnv <= 256 ? fromEnv : undefined);
  return new VmHostManager({
    ...opts,
    ...(maxHosts ? { maxHosts } : {}),
    agentDir: resources.agentDir,
    examplesDir: resources.playgroundDir,
  });
}
