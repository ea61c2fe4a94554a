// The last line against orphans: a tiny `sh` process that outlives us only to kill the hosts' process groups.
//
// Why: when the main process is SIGKILLed nothing of ours runs. Each agent notices (EOF on its control channel, and
// PR_SET_PDEATHSIG), but an agent whose script is stuck in C holding the GIL cannot act on EOF, and PDEATHSIG's SIGKILL
// ends the agent alone: the script's own children live on. The guardian holds the read end of a pipe whose only
// writer is us; at EOF (our death, or `close()`), it kills every process group it was told about and not told to
// forget. It ignores the terminal's signals and leads its own group, so a Ctrl-C meant for us does not end it first.
// POSIX sh (dash's `kill` takes `-9 -PGID`, not `--`), so it starts in about a millisecond and needs nothing installed.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

const SCRIPT = `trap '' INT HUP TERM QUIT
list=' '
while read -r op pgid; do
  case "$op" in
    add) list="$list$pgid " ;;
    del) list=$(printf '%s' "$list" | sed "s/ $pgid / /") ;;
  esac
done
for p in $list; do kill -9 "-$p" 2>/dev/null; done
`;

export class GroupGuardian {
  private child: ChildProcess | undefined;
  private failed = false;

  /** From now on, the process group `pgid` is killed if we die before `forget(pgid)`. */
  watch(pgid: number): void {
    this.write(`add ${pgid}\n`);
  }

  /** The group has ended: its number may be reused by someone else's group, which must never be killed. */
  forget(pgid: number): void {
    this.write(`del ${pgid}\n`);
  }

  /** Ends the guardian (it kills what it still watches: nothing, once every host is forgotten). */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private write(line: string): void {
    if (!Number.isSafeInteger(Number(line.split(' ')[1]))) return;
    const child = this.start();
    if (!child?.stdin?.writable) return;
    child.stdin.write(line);
  }

  private start(): ChildProcess | undefined {
    if (this.child || this.failed) return this.child;
    try {
      const child = spawn('/bin/sh', ['-c', SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
      child.on('error', () => {
        // No /bin/sh: the agents' own EOF handling and PDEATHSIG remain.
        this.failed = true;
        this.child = undefined;
      });
      child.stdin!.on('error', () => undefined);
      // Never keep the process alive just for the guardian.
      child.unref();
      (child.stdin as unknown as Socket).unref?.();
      this.child = child;
    } catch {
      this.failed = true;
    }
    return this.child;
  }
}
