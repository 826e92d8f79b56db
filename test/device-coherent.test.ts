import { describe, expect, it } from "vitest";
import {
  Device,
  Engine,
  HMM_PFN_REQ_FAULT,
  HMM_PFN_REQ_WRITE,
  HMM_PFN_VALID,
  HMM_PFN_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  MMU_NOTIFY_MIGRATE,
  Mm,
  PROT_READ,
  PROT_WRITE,
  hmmRangeFault,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  migratePfn,
  migratePfnToPfn,
} from "../src/index.js";
import { FRAME } from "../src/engine/layout.js";
import {
  Mirror,
  HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL,
  HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE,
  HMM_DMIRROR_PROT_WRITE,
} from "../src/drivers/mirror.js";
import { ENGINE_OPTS } from "./env.js";

const PAGE = 4096;
const base = 0x7f00_0000_0000;

describe("P15: device-coherent pages (MEMORY_DEVICE_COHERENT)", () => {
  it("are mapped by present PTEs that HMM reports like normal pages, whoever asks", () => {
    const engine = new Engine(ENGINE_OPTS);
    const baseline = engine.framesInUse();
    const dev = new Device(engine, { pages: 8, coherent: true });
    const mm = new Mm(engine);
    mm.mmap({
      addr: base,
      length: 4 * PAGE,
      prot: PROT_READ | PROT_WRITE,
      flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
    });
    for (let i = 0; i < 4; i++) mm.cpuWriteU32(base + i * PAGE, 7 + i);
    const events: [number, unknown][] = [];
    const sub = mm.intervalNotifierInsert(base, 4 * PAGE, {
      invalidate(s, r, seq) {
        events.push([r.event, r.owner]);
        mm.notifiers.setSeq(s, seq);
        return true;
      },
    });
    expect(dev.migrateToDevice(mm, base, base + 4 * PAGE)).toBe(4);
    expect(dev.freePages).toBe(4);
    expect(events).toEqual([[MMU_NOTIFY_MIGRATE, dev.owner]]);
    const pfns = new BigUint64Array(4);
    for (const owner of [undefined, dev.owner, {}]) {
      const seq = mm.notifiers.readBegin(sub);
      const ret = mm.withReadLock(() =>
        hmmRangeFault({
          notifier: sub,
          notifierSeq: seq,
          start: base,
          end: base + 4 * PAGE,
          hmmPfns: pfns,
          defaultFlags: HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
          devPrivateOwner: owner,
        }),
      );
      expect(ret).toBe(0);
      pfns.forEach((w, i) => {
        const pfn = mm.translate(base + i * PAGE, true)!.pfn;
        expect(engine.isDeviceCoherent(pfn)).toBe(true);
        expect(w).toBe(BigInt(pfn) | HMM_PFN_VALID | HMM_PFN_WRITE);
      });
    }
    // the CPU reads device-coherent memory in place: no migrate_to_ram
    for (let i = 0; i < 4; i++) expect(mm.cpuReadU32(base + i * PAGE)).toBe(7 + i);
    expect(dev.migrateToRamCalls).toBe(0);
    // dmirror's snapshot tells local from remote coherent memory
    const local = new Mirror(mm, { owner: dev.owner, start: base, length: 4 * PAGE });
    const remote = new Mirror(mm, { owner: {}, start: base, length: 4 * PAGE });
    expect([...(local.snapshot(base, base + PAGE) as Uint8Array)]).toEqual([
      HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL | HMM_DMIRROR_PROT_WRITE,
    ]);
    expect([...(remote.snapshot(base, base + PAGE) as Uint8Array)]).toEqual([
      HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE | HMM_DMIRROR_PROT_WRITE,
    ]);
    local.release();
    remote.release();
    // back to system memory: SELECT_DEVICE_COHERENT with the owner
    const m = migrateVmaSetup(mm, {
      start: base,
      end: base + 2 * PAGE,
      pgmapOwner: dev.owner,
      flags: MIGRATE_VMA_SELECT_DEVICE_COHERENT,
    });
    if (typeof m === "number") throw new Error(`setup ${m}`);
    expect(m.cpages).toBe(2);
    for (let i = 0; i < 2; i++) {
      const d = engine.allocFrames(0, FRAME.ANON | FRAME.ANON_EXCLUSIVE);
      engine.copyFrame(migratePfnToPfn(m.src[i]), d);
      m.dst[i] = migratePfn(d);
    }
    migrateVmaPages(m);
    migrateVmaFinalize(m);
    expect(dev.freePages).toBe(6);
    for (let i = 0; i < 4; i++) expect(mm.cpuReadU32(base + i * PAGE)).toBe(7 + i);
    mm.exit();
    expect(dev.freePages).toBe(8);
    expect(engine.framesInUse()).toBe(baseline);
  });
});
