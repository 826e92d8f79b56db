// A minimal device model on the public API (docs/drivers.md §2): device memory, an interval
// notifier, the retry protocol and migration. Run: npx tsx examples/device-model.ts
import {
  Engine,
  Mm,
  Device,
  PfnArray,
  hmmRangeFault,
  EBUSY,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  MMU_NOTIFY_MIGRATE,
  migrateVmaSetup,
  migrateVmaPages,
  migrateVmaFinalize,
  migratePfn,
  migratePfnToPfn,
  migratePfnHasFlag,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  ZERO_PFN,
} from "../src/index.js";

class MyDevice {
  readonly table = new Map<number, number>(); // device page table: page index -> pfn
  readonly mem: Device;
  readonly sub;
  constructor(readonly mm: Mm) {
    // 1. device memory, owned by this object (the dev_private_owner of our walks)
    this.mem = new Device(mm.engine, {
      owner: this,
      pages: 4096,
      // 4. when a page of ours moves back to the CPU, forget our mapping of it
      onMigrateToRam: (m) => {
        for (let i = 0; i < m.npages; i++)
          if (migratePfnHasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) this.table.delete(m.start / 4096 + i);
      },
    });
    // 2. an interval notifier: tear our mappings down on every change we did not start
    this.sub = mm.intervalNotifierInsert(0, mm.taskSize + 4096, {
      invalidate: (sub, range, curSeq) => {
        if (range.event === MMU_NOTIFY_MIGRATE && range.owner === this) return true; // our own migration
        mm.notifiers.setSeq(sub, curSeq);
        for (let p = range.start / 4096; p < Math.min(range.end, mm.taskSize) / 4096; p++) this.table.delete(p);
        return true;
      },
    });
  }

  /** 3. fault [start, end) into the device table with the retry protocol (§4.3). */
  fault(start: number, end: number, write: boolean): number {
    const pfns = new PfnArray(this.mm, (end - start) / 4096);
    try {
      for (;;) {
        const seq = this.mm.notifiers.readBegin(this.sub);
        const ret = this.mm.withReadLock(() =>
          hmmRangeFault({
            notifier: this.sub,
            notifierSeq: seq,
            start,
            end,
            hmmPfns: pfns,
            devPrivateOwner: this,
            defaultFlags: HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0n),
          }),
        );
        if (ret === EBUSY) continue;
        if (ret) return ret;
        // take the driver lock here; an invalidation in between means: walk again
        if (this.mm.notifiers.readRetry(this.sub, seq)) continue;
        for (let i = 0; i < pfns.length; i++) this.table.set(start / 4096 + i, pfns.pfn(i));
        return 0;
      }
    } finally {
      pfns.free();
    }
  }

  /** 5. migrate [start, end) into device memory. */
  migrateToDevice(start: number, end: number): number {
    const m = migrateVmaSetup(this.mm, { start, end, pgmapOwner: this, flags: MIGRATE_VMA_SELECT_SYSTEM });
    if (typeof m === "number") return m;
    for (let i = 0; i < m.npages; i++) {
      if (!migratePfnHasFlag(m.src[i], MIGRATE_PFN_MIGRATE)) continue;
      const dpfn = this.mem.allocPage();
      if (!dpfn) continue;
      const spfn = migratePfnToPfn(m.src[i]);
      if (spfn && spfn !== ZERO_PFN) this.mm.engine.copyFrame(spfn, dpfn);
      else this.mm.engine.clearFrame(dpfn);
      m.dst[i] = migratePfn(dpfn);
    }
    migrateVmaPages(m);
    for (let i = 0; i < m.npages; i++) if (m.dst[i]) this.table.set(start / 4096 + i, migratePfnToPfn(m.dst[i]));
    migrateVmaFinalize(m);
    return 0;
  }
}

// a small run: fault a range in, migrate it to the device, touch it from the CPU again
const engine = new Engine();
const mm = new Mm(engine);
const dev = new MyDevice(mm);
const a = mm.mmap({ length: 8 * 4096, prot: 3, flags: 0x22 });
mm.cpuWriteU32(a, 42);
console.log("fault:", dev.fault(a, a + 8 * 4096, false), "entries:", dev.table.size);
console.log("migrate:", dev.migrateToDevice(a, a + 8 * 4096), "device pages in use:", 4096 - dev.mem.freePages);
console.log("CPU reads", mm.cpuReadU32(a), "entries left:", dev.table.size);
