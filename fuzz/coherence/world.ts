// The coherence fuzzer's world: one engine, several Mms (forks of each other), two devices with
// distinct owners and, for every Mm, one mirror per device (owner = the device's owner, like
// dmirror), two files, hugetlb pools, pending folio migrations. A step is plain data
// ({ op, m, a, b, c, d }: an op name and small integers) decoded against the current state, so
// any subsequence of a recorded sequence replays (a step whose target is gone does nothing).
import {
  CallbackError,
  Device,
  Engine,
  ErrnoError,
  HmmsimError,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  Mirror,
  Mm,
  SimFile,
  brk,
  clearRefs,
  collapseHugePage,
  fork,
  khugepagedScan,
  ksmMerge,
  madvise,
  makeDeviceExclusiveRange,
  migratePages,
  mremap,
  oomReap,
  punchHole,
  reclaimPages,
  truncateFile,
  uffdRegisterWp,
  uffdWriteprotect,
  writebackFile,
  type FolioMigration,
  type EngineOptions,
} from "../../src/index.js";

export const PAGE = 4096;
export const PMD = 2 ** 21;

/** One step of a sequence: an op and integers the op decodes against the state. */
export interface Step {
  op: string;
  m: number;
  a: number;
  b: number;
  c: number;
  d: number;
}

const MADVICES = [4, 8, 21, 9, 10, 11, 14, 15, 18, 19, 25, 0];

/** The simulated machine a sequence runs on. */
export class World {
  readonly engine: Engine;
  readonly mms: Mm[] = [];
  readonly devices: Device[];
  readonly mirrors = new Map<Mm, Mirror[]>();
  readonly files: SimFile[];
  readonly pending: FolioMigration[] = [];
  /** While set, a subscription of every Mm throws from its invalidate callback (all-or-nothing checks). */
  throwing = false;

  constructor(engineOpts: EngineOptions = {}) {
    this.engine = new Engine({ ramFrames: 1 << 16, ...engineOpts });
    this.engine.setHugetlbPages(21, 8);
    this.devices = [
      new Device(this.engine, { pages: 256, owner: { name: "gpu0" } }),
      new Device(this.engine, { pages: 256, owner: { name: "gpu1" } }),
      new Device(this.engine, { pages: 128, owner: { name: "cxl2" }, coherent: true }),
    ];
    this.files = [new SimFile("data", 64 * PAGE, "regular"), new SimFile("tmp", 64 * PAGE, "shmem")];
    this.addMm(new Mm(this.engine, { thp: "always" }));
  }

  addMm(mm: Mm): void {
    this.mms.push(mm);
    mm.intervalNotifierInsert(0, mm.taskSize + PAGE, {
      invalidate: (sub, _r, seq) => {
        mm.notifiers.setSeq(sub, seq);
        if (this.throwing) throw new Error("fuzzer's throwing callback");
        return true;
      },
    });
    this.mirrors.set(
      mm,
      this.devices.map((d) => new Mirror(mm, { owner: d.owner, maxRetries: 50 })),
    );
  }

  liveMirrors(): Mirror[] {
    return this.mms.filter((m) => !m.exited).flatMap((m) => this.mirrors.get(m) ?? []);
  }

  /** The live Mm a step names (null when none is live). */
  mmOf(s: Step): Mm | null {
    const live = this.mms.filter((m) => !m.exited);
    return live.length ? live[s.m % live.length] : null;
  }

  /** A page-aligned range inside (or slightly around) some VMA of mm, decoded from a, b, c. */
  range(mm: Mm, s: Step): { start: number; len: number } | null {
    if (mm.vmas.length === 0) return null;
    const v = mm.vmas[s.a % mm.vmas.length];
    const pages = v.pages;
    const off = (s.b % (pages + 2)) - 1; // may start one page before the VMA
    const n = 1 + (s.c % Math.min(pages + 2, 1100));
    const start = Math.max(0, v.start + off * PAGE);
    return { start, len: n * PAGE };
  }

  /** Runs one step. Kernel refusals (ErrnoError) are fine; anything else propagates. */
  apply(s: Step): void {
    try {
      this.run(s);
    } catch (e) {
      if (e instanceof ErrnoError) return;
      // the armed callback's exception comes back once the operation has completed
      if (this.throwing && e instanceof CallbackError && (e.cause as Error)?.message === "fuzzer's throwing callback") {
        // the operation completed: keep what it returned (deferred migrations)
        if (s.op === "migrate" && Array.isArray(e.result))
          for (const m of e.result as FolioMigration[]) if (m.state === "pending") this.pending.push(m);
        return;
      }
      throw e;
    }
  }

  /** A call with a bad argument: it must be refused with a typed error and change nothing. */
  private badCall(mm: Mm, s: Step): void {
    const a = mm.vmas[0]?.start ?? 0x10000;
    const bad = [NaN, Infinity, -4096, "3", null, 2 ** 64, 4096.5][s.b % 7] as number;
    const calls: (() => unknown)[] = [
      () => mm.mmap({ length: bad, prot: 3, flags: MAP_PRIVATE | MAP_ANONYMOUS }),
      () => mm.munmap(bad, PAGE),
      () => mm.mprotect(a, bad, 1),
      () => madvise(mm, bad, PAGE, 4),
      () => mremap(mm, a, bad, PAGE),
      () => brk(mm, bad),
      () => mm.cpuWriteU32(bad, 1),
      () => this.mirrors.get(mm)![0].fault(bad, a + PAGE),
      () => this.devices[0].migrateToDevice(mm, a, bad),
      () => migratePages(mm, bad, PAGE),
      () => reclaimPages(mm, a, bad),
      () => new Mirror(mm, { maxRetries: bad }),
    ];
    const before = this.engine.stateDigest();
    try {
      calls[s.c % calls.length]();
    } catch (e) {
      if (!(e instanceof HmmsimError) || e instanceof ErrnoError || e instanceof CallbackError) {
        // an ErrnoError is fine too for a well-typed value (a negative prot, a huge but exact address)
        if (!(e instanceof ErrnoError)) throw e;
      }
      const after = this.engine.stateDigest();
      if (after !== before) throw new Error(`refused call ${s.c % calls.length} with ${String(bad)} changed the state`);
      return;
    }
    throw new Error(`call ${s.c % calls.length} with ${String(bad)} was accepted`);
  }

  private run(s: Step): void {
    const mm = this.mmOf(s);
    if (!mm) {
      if (s.op === "newmm") this.addMm(new Mm(this.engine, { thp: s.a % 2 ? "always" : "madvise" }));
      return;
    }
    const r = this.range(mm, s);
    const dev = this.devices[s.d % 3];
    switch (s.op) {
      case "newmm":
        if (this.mms.length < 6) this.addMm(new Mm(this.engine, { thp: s.a % 2 ? "always" : "madvise" }));
        return;
      case "mmap": {
        const kind = s.a % 6;
        const pages = [1, 8, 64, 512, 1024, 3][s.b % 6];
        const flags =
          kind === 1
            ? MAP_SHARED | MAP_ANONYMOUS
            : kind >= 4
              ? kind === 4
                ? MAP_PRIVATE
                : MAP_SHARED
              : MAP_PRIVATE | MAP_ANONYMOUS;
        const prot = s.c % 4 === 0 ? 1 : 3;
        const file = kind === 4 ? this.files[0] : kind === 5 ? this.files[s.c % 2] : undefined;
        if (kind === 2) {
          mm.mmap({
            length: 2 * PMD,
            prot: 3,
            flags: (s.c % 2 ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_HUGETLB,
          });
          return;
        }
        if (kind === 3 && mm.vmas.length > 0) {
          const at = this.range(mm, s);
          if (at)
            mm.mmap({
              addr: at.start,
              length: Math.min(at.len, 64 * PAGE),
              prot,
              flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
            });
          return;
        }
        mm.mmap({ length: (file ? Math.min(pages, 64) : pages) * PAGE, prot, flags, file, offset: 0 });
        return;
      }
      case "munmap":
        if (r) mm.munmap(r.start, r.len);
        return;
      case "mprotect":
        if (r) mm.mprotect(r.start, r.len, s.d % 8);
        return;
      case "madvise":
        if (r) madvise(mm, r.start, r.len, MADVICES[s.d % MADVICES.length]);
        return;
      case "mremap": {
        if (!r) return;
        const flags = [0, 1, 3, 5][s.d % 4];
        const newLen = flags === 5 ? r.len : Math.max(PAGE, r.len + (((s.d >> 2) % 5) - 2) * PAGE * 7);
        const newAddr =
          flags & 2 ? mm.vmas[(s.a + 1) % mm.vmas.length].end + PMD * (s.b % 3) + PAGE * (s.c % 3) : undefined;
        mremap(mm, r.start, r.len, newLen, flags, newAddr);
        return;
      }
      case "brk":
        brk(mm, 0x5555_5600_0000 + (s.a % 300) * 1000);
        return;
      case "write":
        if (r) mm.cpuWriteU32(r.start + ((s.d % 1024) & ~3), s.d);
        return;
      case "read":
        if (r) mm.cpuReadU32(r.start + ((s.d % 1024) & ~3));
        return;
      case "populate":
        if (r) mm.populate(r.start, Math.min(r.len, 16 * PAGE), s.d % 2 === 1);
        return;
      case "devfault": {
        if (!r) return;
        const m = this.mirrors.get(mm)![s.d % 3];
        const len = Math.min(r.len, 32 * PAGE);
        m.fault(r.start, r.start + len, (s.d >> 1) % 2 === 1);
        return;
      }
      case "snapshot": {
        if (!r) return;
        this.mirrors.get(mm)![s.d % 3].snapshot(r.start, r.start + Math.min(r.len, 32 * PAGE));
        return;
      }
      case "todevice":
        if (r) dev.migrateToDevice(mm, r.start, r.start + Math.min(r.len, 32 * PAGE));
        return;
      case "evict":
        dev.evictAll();
        return;
      case "exclusive":
        if (r) makeDeviceExclusiveRange(mm, r.start, r.start + Math.min(r.len, 8 * PAGE), dev.owner);
        return;
      case "migrate": {
        if (!r) return;
        const ms = migratePages(mm, r.start, Math.min(r.len, 64 * PAGE), { defer: s.d % 3 === 0 });
        for (const m of ms) if (m.state === "pending") this.pending.push(m);
        return;
      }
      case "finish": {
        const m = this.pending.splice(s.a % Math.max(1, this.pending.length), 1)[0];
        if (!m) return;
        if (s.d % 2) m.finish();
        else m.abort();
        return;
      }
      case "reclaim":
        if (r) reclaimPages(mm, r.start, Math.min(r.len, 64 * PAGE));
        return;
      case "ksm": {
        if (!r) return;
        const addrs: number[] = [];
        for (let i = 0; i < Math.min(r.len / PAGE, 16); i++) addrs.push(r.start + i * PAGE);
        ksmMerge(mm, addrs);
        return;
      }
      case "numa":
        if (r) mm.numaHintingScan(r.start, r.start + r.len);
        return;
      case "khugepaged":
        khugepagedScan(mm, { maxPages: 4096 });
        return;
      case "collapse":
        if (r) collapseHugePage(mm, r.start - (r.start % PMD));
        return;
      case "fork":
        if (this.mms.filter((m) => !m.exited).length < 5) this.addMm(fork(mm));
        return;
      case "exit": {
        if (this.mms.filter((m) => !m.exited).length < 2) return;
        mm.exit();
        return;
      }
      case "oomreap":
        if (s.d % 4 === 0) oomReap(mm);
        return;
      case "truncate":
        truncateFile(this.engine, this.files[s.d % 2], (s.a % 65) * PAGE);
        return;
      case "punch":
        punchHole(this.engine, this.files[s.d % 2], (s.a % 64) * PAGE, (1 + (s.b % 8)) * PAGE);
        return;
      case "uffdreg":
        if (r) uffdRegisterWp(mm, r.start, r.len);
        return;
      case "uffdwp":
        if (r) uffdWriteprotect(mm, r.start, r.len, s.d % 2 === 0);
        return;
      case "clearrefs":
        clearRefs(mm, [1, 2, 3, 4][s.d % 4]);
        return;
      case "writeback":
        writebackFile(this.engine, this.files[0]);
        return;
      case "hookfault": {
        // a device fault during which page-lock-only work races with the walk (mm.hooks)
        if (!r) return;
        const m = this.mirrors.get(mm)![s.d % 3];
        const at = r.start;
        mm.hooks.betweenFaults = () => {
          mm.hooks.betweenFaults = undefined;
          if (s.b % 3 === 0) reclaimPages(mm, at, PAGE);
          else if (s.b % 3 === 1) migratePages(mm, at, PAGE);
          else mm.cpuWriteU32(at, 5);
        };
        try {
          m.fault(r.start, r.start + Math.min(r.len, 8 * PAGE), s.c % 2 === 1);
        } finally {
          mm.hooks.betweenFaults = undefined;
        }
        return;
      }
      case "bad":
        this.badCall(mm, s);
        return;
      case "throwing":
        this.throwing = !this.throwing;
        return;
      case "plant": {
        // never generated: a deliberate defect (an extra reference) for testing the harness
        mm.forEachLeaf(0, mm.taskSize, (_a, _l, _p, e) => {
          const pfn = e.lo & 1 ? Math.floor(e.lo / PAGE) + e.hi * 2 ** 20 : 0;
          if (pfn && this.engine.hasStructPage(pfn) && this.engine.refcount(pfn) > 0 && s.d === 0) {
            this.engine.setRefcount(pfn, this.engine.refcount(pfn) + 1);
            s = { ...s, d: 1 };
          }
        });
        return;
      }
      default:
        throw new Error(`unknown op ${s.op}`);
    }
  }

  /** Ends the world: finishes pending migrations and exits every Mm (for the teardown check). */
  teardown(): void {
    this.throwing = false;
    for (const m of this.pending.splice(0)) if (m.state === "pending") m.finish();
    for (const m of [...this.engine.pendingMigrations.values()]) m.finish();
    for (const mm of this.mms) if (!mm.exited) mm.exit();
    for (const d of this.devices) d.evictAll();
  }
}

/** Op names with their relative weights. */
export const OPS: readonly [string, number][] = [
  ["mmap", 10],
  ["munmap", 5],
  ["mprotect", 5],
  ["madvise", 6],
  ["mremap", 3],
  ["brk", 1],
  ["write", 12],
  ["read", 5],
  ["populate", 3],
  ["devfault", 10],
  ["snapshot", 2],
  ["todevice", 6],
  ["evict", 1],
  ["exclusive", 3],
  ["migrate", 4],
  ["finish", 3],
  ["reclaim", 3],
  ["ksm", 2],
  ["numa", 3],
  ["khugepaged", 2],
  ["collapse", 2],
  ["fork", 3],
  ["exit", 1],
  ["oomreap", 1],
  ["truncate", 1],
  ["punch", 1],
  ["uffdreg", 1],
  ["uffdwp", 2],
  ["clearrefs", 1],
  ["writeback", 1],
  ["hookfault", 3],
  ["newmm", 1],
  ["bad", 3],
  ["throwing", 2],
];

/** Whether an exception is a finding (anything but the library's deliberate, typed refusals). */
export function isFinding(e: unknown): boolean {
  return !(e instanceof ErrnoError) || !(e instanceof HmmsimError);
}
