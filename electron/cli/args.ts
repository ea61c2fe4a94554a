// Argument parsing and usage text for the `emberscope` CLI. No dependencies: the grammar is small. Limits, defaults
// and format names in the usage text come from the contract, where the services check them.
import { basename } from 'node:path';
import { EXPORT_FORMAT_NAMES, EXPORT_FORMATS, exportFormatForFileName, type ExportFormat } from '../contract/api';
import { DEFAULT_SAMPLING_OPTIONS, LIMITS } from '../contract/validate';
import { FLAME_VIEWS } from '../../renderer/src/model/svg';
import { THEME_NAMES } from '../../renderer/src/model/theme';

/** `convert --to svg --width`: CSS px, as the app's canvas is measured. Below 100 px hardly a label fits. */
export const IMAGE_WIDTH = { default: 1200, min: 100, max: 20_000 } as const;

export class UsageError extends Error {
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An output file's format from its name, or a usage error of `command` listing the endings understood. */
export function formatForOutput(path: string, command: string): ExportFormat {
  const format = exportFormatForFileName(basename(path));
  if (format) return format;
  const endings = EXPORT_FORMAT_NAMES.map((f) => `${[EXPORT_FORMATS[f].suffix, ...EXPORT_FORMATS[f].alsoFor].join(' or ')} (${f})`);
  throw new UsageError(`cannot tell the format of '${path}' from its name: use ${endings.join(', ')}`, command);
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

/**
 * `--name value`, `--name=value`, `-o value`, `--bool`. `valued` lists the flags that take a value; anything else
 * starting with `-` is a boolean flag; `known` lists everything the command accepts.
 */
export function parseArgs(argv: string[], valued: string[], known: string[], command: string): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!known.includes(name)) throw new UsageError(`unknown option '${name}'`, command);
    if (valued.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`option '${name}' needs a value`, command);
      flags.set(name, value);
    } else {
      if (eq > 0) throw new UsageError(`option '${name}' takes no value`, command);
      flags.set(name, true);
    }
  }
  return { positionals, flags };
}

const SESSION_OPTIONS = `  --rate HZ       samples per second, ${LIMITS.minRateHz} to ${LIMITS.maxRateHz} (default ${DEFAULT_SAMPLING_OPTIONS.rateHz})
  --duration S    stop after S seconds
  --nonblocking   read without pausing the process (lower overhead, occasionally torn stacks)
  --idle          keep samples of waiting threads (sleep, I/O, locks)
  --gil           only the thread holding the GIL
  -o, --output    the file to write; the format follows its name:
${EXPORT_FORMAT_NAMES.map((f) => `                  ${[EXPORT_FORMATS[f].suffix, ...EXPORT_FORMATS[f].alsoFor].join('/')} (${f})`).join('\n')}
                  Default: emberscope-PID-DATE.speedscope.json here. The raw recording is kept under
                  $EMBERSCOPE_HOME/recordings (default ~/.config/emberscope/recordings) and opens like any profile.
  --json          print the summary as one JSON object on stdout (as \`emberscope open --json\` does)`;

export const USAGE: Record<string, string> = {
  main: `Emberscope: a profiler for Python programs.

Usage:
  emberscope [FILE]                      open the desktop app (falls back to the browser UI)
  emberscope open FILE [--json]          print a summary of a profile
  emberscope convert IN --to FORMAT -o OUT
                                         convert a profile (${EXPORT_FORMAT_NAMES.join(', ')}), or draw it (svg)
  emberscope serve [--port N] [--host H [--allow-remote-exec]] [FILE]
                                         serve the UI to a browser
  emberscope ps [--json]                 list running Python processes
  emberscope attach PID [OPTIONS]        sample a running Python process until Ctrl-C
  emberscope record [OPTIONS] -- CMD ARGS…
                                         run a program and sample it from the start
  emberscope vm [OPTIONS] SCRIPT [ARGS…]
                                         run a script in a VM host: sampled, hot-reloaded on save
  emberscope COMMAND --help              help for one command
  emberscope --version

Reads Chrome/Perfetto trace JSON, VizTracer, py-spy (speedscope, raw), Austin, speedscope, V8 .cpuprofile,
pprof, cProfile/pstats and folded stacks, gzip-compressed or not.`,
  open: `Usage: emberscope open FILE [--json] [--sample-type NAME]

Opens a profile and prints its summary: format, unit, duration, threads and the top functions by self time.
  --json               print one JSON object {format, unit, threads, durationNs, totalWeight, top} (top 50) instead,
                       with warnings [...] when the file says its recording is incomplete
  --sample-type NAME   pprof: read this sample type (e.g. alloc_space) instead of the file's default`,
  convert: `Usage: emberscope convert IN --to ${EXPORT_FORMAT_NAMES.join('|')} -o OUT
       emberscope convert IN --to svg [--view ${FLAME_VIEWS.join('|')}] [--width PX] [--theme ${THEME_NAMES.join('|')}] -o OUT

Converts a profile in any format Emberscope reads to speedscope JSON, Chrome trace JSON or collapsed stacks, or
draws it as an SVG picture: the whole profile, every thread merged, as the app first shows it (same colours and
labels as its Export → Image).
  --to FORMAT   ${EXPORT_FORMAT_NAMES.join(', ')}, svg
  -o, --output  the file to write
  --view V      svg: flame-graph (default, heaviest first) or flame-chart (time order, one lane per thread)
  --width PX    svg: the picture's width, ${IMAGE_WIDTH.min} to ${IMAGE_WIDTH.max} (default ${IMAGE_WIDTH.default}); its height follows from the rows
  --theme T     svg: light (default) or dark`,
  serve: `Usage: emberscope serve [--port N] [--host H [--allow-remote-exec]] [FILE]

Serves the Emberscope UI over HTTP for a browser; prints the URL (with its access token). Ctrl-C stops it.
Whoever has the URL can open any file you can read and, on loopback, run programs as you (record, attach).
  --port N              port to listen on (default: a free port)
  --host H              interface to bind (default 127.0.0.1; anything else exposes your files to the network)
  --allow-remote-exec   on a non-loopback --host, let clients record and attach to programs (off by default)
  FILE                  a profile to open when the page loads`,
  ps: `Usage: emberscope ps [--json]

Lists running Python processes: pid, user, Python version, whether you may attach, command line.
  --json   print a JSON array of {pid, ppid, commandLine, exe, pythonVersion, uid, user, freeThreaded,
           canAttach, reason} instead`,
  attach: `Usage: emberscope attach PID [--rate HZ] [--duration S] [--nonblocking] [--idle] [--gil] [--subprocesses]
                         [-o OUT] [--json]

Samples the Python process PID until Ctrl-C, the duration, or its exit; then writes OUT. The process is never
signalled. Attaching to a process you did not start needs the same user and Yama ptrace_scope 0, or root /
CAP_SYS_PTRACE (see \`emberscope ps\`).
${SESSION_OPTIONS}
  --subprocesses  also sample Python processes it starts`,
  record: `Usage: emberscope record [--rate HZ] [--duration S] [--nonblocking] [--idle] [--gil] [--no-subprocesses]
                         [-o OUT] [--json] -- CMD ARGS…

Runs CMD (its output goes to this terminal; to stderr with --json) and samples it from its first moments until it exits, then writes OUT.
Child Python processes (subprocess, multiprocessing) are sampled too, each as its own process. Exits with CMD's
exit code (128+N when a signal N ended it). Ctrl-C interrupts CMD as well; sampling goes on for up to 2 s while it
handles the KeyboardInterrupt, then CMD is ended and the profile saved (a second Ctrl-C ends it at once).
--duration ends CMD when the time is up.
${SESSION_OPTIONS}
  --no-subprocesses  sample CMD's own process only

  emberscope record --exact [--min-duration US] [--max-depth N] [--include P]… [--exclude P]… [--c-calls]
                            [--ring S] [--max-size MB] [-o OUT] [--json] -- CMD ARGS…
Exact mode: records every Python call of CMD and of the Python processes it starts (fork, spawn, forkserver,
subprocess), each in its own crash-safe file: nothing that finished is lost, however CMD ends. The recording stays
in $EMBERSCOPE_HOME/recordings/exact-*/ (open its manifest.json); OUT is written as for record.
  --min-duration US  keep only calls of at least US microseconds
  --max-depth N      keep only calls less than N levels deep
  --include P        keep only code under the path prefix P (repeatable); --exclude P leaves it out
  --c-calls          also record calls of C functions (builtins)
  --ring S           keep only the last S seconds (long-running programs)
  --max-size MB      stop recording (the program goes on) when a process's file reaches MB (default 2048)`,
  vm: `Usage: emberscope vm [--watch] [--json] [--python PATH] [--rate HZ] [-o PROFILE] SCRIPT [ARGS…]

Runs SCRIPT (with ARGS) in a VM host: a Python process Emberscope supervises and samples from its first line. Its
output goes to this terminal. Ctrl-C stops it and writes the profile with its generations (a second Ctrl-C kills it).
Exits with the script's exit code.
  --watch        hot-reload the script and the local modules it imported on every save: the program keeps its
                 state and runs the new code; a broken edit changes nothing and its error is shown
  --json         print one JSON object per line per event on stdout: {"event":"output",…}, {"event":"reload",…},
                 {"event":"exit",…}
  --python PATH  the interpreter (default: python3 on PATH; a virtualenv's python works; 3.9 or later)
  --rate HZ      samples per second, 1 to 1000 (default 100)
  -o, --output   the profile to write, speedscope JSON: per thread all samples, then one profile per generation
                 (default: emberscope-vm-SCRIPT-DATE.speedscope.json here)`,
};
