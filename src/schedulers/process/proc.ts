// Reading /proc: a process's stat (state, group, start time), its environment and children, whether a replica's
// group is stopped, and finding this instance's replicas by their environment. The one /proc stat reader.
//
// A replica is its whole process group (it is spawned as the leader of a session of its own): children it
// started in the background outlive it unless they are stopped too. After the leader exits, its group id
// stays valid as long as one member lives, and the kernel reuses no pid that is still a group's id, so the
// group can be signalled safely until it is empty.
import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from '../../core/ports.js';

/** State, process group and start time of a process, from /proc/<pid>/stat; undefined when there is none. */
export function readProcStat(pid: number): { state: string; startTime: number; pgrp: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) may hold spaces and parentheses: the fixed fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = Number(fields[19]); // field 22
  const pgrp = Number(fields[2]); // field 5
  if (!state || !Number.isInteger(startTime)) return undefined;
  return { state, startTime, pgrp };
}

/** Children of a process (all its threads'), from /proc/<pid>/task/<tid>/children. */
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((tid) => {
    try {
      return readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
        .split(' ')
        .filter((x) => x !== '')
        .map(Number);
    } catch {
      return [];
    }
  });
}

/**
 * Whether a replica (the leader of its process group) is stopped by SIGSTOP, as /proc tells: its state is
 * 'T'; or it is 'D' waiting for a vfork child that was stopped before its exec (what a shell such as dash
 * does), i.e. a process of its group below it is 'T'.
 */
export function isGroupStopped(pid: number): boolean {
  const stat = readProcStat(pid);
  if (stat?.state === 'T') return true;
  if (stat?.state !== 'D') return false;
  const queue = childrenOf(pid);
  for (let seen = 0; queue.length > 0 && seen < 64; seen++) {
    const child = queue.shift() as number;
    const s = readProcStat(child);
    if (s?.pgrp !== pid) continue;
    if (s.state === 'T') return true;
    if (s.state === 'D') queue.push(...childrenOf(child));
  }
  return false;
}

/** This microscaler process, as pending records name their writer. */
export const SELF = ((stat) => (stat ? { pid: process.pid, startTime: stat.startTime } : undefined))(
  readProcStat(process.pid),
);

export function isAlive(pid: number, startTime: number | undefined): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === startTime;
}

export function readEnviron(pid: number): Set<string> | undefined {
  try {
    return new Set(readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0'));
  } catch {
    return undefined;
  }
}

/** A live replica process found by the variables in its environment. */
export interface FoundProcess {
  readonly pid: number;
  readonly startTime: number;
  readonly service: string;
}

/**
 * Every live process whose environment says it is a replica of this instance, by replica id. A replica's
 * own children inherit its environment: the group leader (the replica itself, spawned detached) wins,
 * else the oldest.
 */
export function replicasInProc(instance: string): Map<string, FoundProcess> {
  const found = new Map<string, FoundProcess & { leader: boolean }>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return new Map();
  }
  const mark = `MICROSCALER_INSTANCE=${instance}`;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const env = readEnviron(pid);
    if (!env?.has(mark)) continue;
    let id: string | undefined;
    let service: string | undefined;
    for (const v of env) {
      if (v.startsWith('MICROSCALER_REPLICA=')) id = v.slice(20);
      else if (v.startsWith('MICROSCALER_SERVICE=')) service = v.slice(20);
    }
    const stat = readProcStat(pid);
    if (!id || !service || !stat || stat.state === 'Z') continue;
    const leader = stat.pgrp === pid;
    const seen = found.get(id);
    if (seen && (seen.leader || (!leader && seen.startTime <= stat.startTime))) continue;
    found.set(id, { pid, startTime: stat.startTime, service, leader });
  }
  return new Map([...found].map(([id, { pid, startTime, service }]) => [id, { pid, startTime, service }]));
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
    const s = readProcStat(Number(entry));
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
  const leader = readProcStat(pgid);
  if (leader && leader.state !== 'Z' && leader.startTime !== leaderStartTime) return false;
  try {
    process.kill(-pgid, 0);
  } catch {
    return false; // ESRCH: empty; EPERM: not ours to signal, so not ours to wait for
  }
  // Zombies only (their parent, a member that exited, is reaped by init): nothing left to stop.
  return groupMembers(pgid).length > 0;
}

/** Polls /proc until the replica is stopped (isGroupStopped): true, or false once gone or after `ms`. */
export async function waitStopped(
  pid: number,
  startTime: number | undefined,
  ms: number,
  clock: Clock,
): Promise<boolean> {
  const deadline = clock.now() + ms;
  for (;;) {
    const stat = readProcStat(pid);
    if (!stat || stat.state === 'Z' || stat.startTime !== startTime) return false;
    if (isGroupStopped(pid)) return true;
    if (clock.now() > deadline) return false;
    await clock.sleep(1);
  }
}
