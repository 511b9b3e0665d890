// The replicas behind a fake cluster API: a requested count becomes tasks that run after startMs, and
// surplus tasks (newest first) that stop after stopMs. Shared by the Nomad, Marathon and ECS fakes, which
// keep a peak of tasks existing at once across all their sets (what capacity is about).
export type TaskState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface FakeTask {
  readonly id: string;
  state: TaskState;
  readonly createdAt: number;
}

export interface Timing {
  startMs: number;
  stopMs: number;
}

let nextId = 1;

export class ReplicaSet {
  readonly tasks: FakeTask[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly timing: Timing,
    private readonly onChange: () => void,
  ) {}

  /** Tasks not yet stopped. */
  live(): FakeTask[] {
    return this.tasks.filter((t) => t.state !== 'stopped');
  }

  setDesired(n: number): void {
    const wanted = this.tasks.filter((t) => t.state === 'starting' || t.state === 'running');
    for (let i = wanted.length; i < n; i++) this.start();
    for (const t of wanted.slice(n).reverse()) this.stop(t); // newest first
    this.onChange();
  }

  /** A task that dies on its own (the orchestrator replaces it when the count says so). */
  crash(id: string): void {
    const t = this.tasks.find((x) => x.id === id);
    if (t) t.state = 'stopped';
    this.onChange();
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private start(): void {
    const task: FakeTask = { id: `task-${nextId++}`, state: 'starting', createdAt: Date.now() };
    this.tasks.push(task);
    this.after(this.timing.startMs, () => {
      if (task.state === 'starting') task.state = 'running';
    });
  }

  private stop(task: FakeTask): void {
    task.state = 'stopping';
    this.after(this.timing.stopMs, () => {
      task.state = 'stopped';
    });
  }

  private after(ms: number, f: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      f();
      this.onChange();
    }, ms);
    this.timers.add(timer);
  }
}

/** Answers after ms, for slow-response cases. */
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
