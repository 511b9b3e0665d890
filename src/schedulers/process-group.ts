// A replica is its whole process group (it is spawned as the leader of a session of its own): children it
// started in the background outlive it unless they are stopped too. After the leader exits, its group id
// stays valid as long as one member lives, and the kernel reuses no pid that is still a group's id, so the
// group can be signalled safely until it is empty.
import { readdirSync, readFileSync } from 'node:fs';

interface Stat {
  readonly state: string;
  readonly pgrp: number;
  readonly startTime: number;
}

function stat(pid: number | string): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) may hold spaces and parentheses: the fixed fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgrp: Number(fields[2]), startTime: Number(fields[19]) };
}

/** Live (not zombie) members of a process group, from /proc. */
export function groupMembers(pgid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(entry);
    if (s && s.pgrp === pgid && s.state !== 'Z') members.push(Number(entry));
  }
  return members;
}

/**
 * Whether the group of a leader that has exited (pid `pgid`, started at `leaderStartTime`) still has live
 * members. A different process under the leader's pid means the pid was reused, which happens only once
 * the group is gone: then it is not ours, whatever its members.
 */
export function groupLingers(pgid: number, leaderStartTime: number | undefined): boolean {
  const leader = stat(pgid);
  if (leader && leader.state !== 'Z' && leader.startTime !== leaderStartTime) return false;
  try {
    process.kill(-pgid, 0);
  } catch {
    return false; // ESRCH: empty; EPERM: not ours to signal, so not ours to wait for
  }
  // Zombies only (their parent, a member that exited, is reaped by init): nothing left to stop.
  return groupMembers(pgid).length > 0;
}
