// vmf_insert_pfn / vm_insert_page never replace an occupied PTE (docs/semantics.md §3.5, P14):
// insert_pfn() leaves it (VM_FAULT_NOPAGE) unless its mkwrite form finds the same pfn, which it
// makes young, dirty and writable in place; insert_page() refuses with -EBUSY.
import { describe, expect, it } from "vitest";
import {
  Device,
  EBUSY,
  Engine,
  ErrnoError,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  Mm,
  PROT_READ,
  VM,
  insertPage,
  insertPfn,
} from "../src/index.js";
import { PTE_LO } from "../src/engine/layout.js";
import * as pte from "../src/engine/pte.js";
import { ENGINE_OPTS } from "./env.js";
import { PAGE, RW } from "./helpers.js";

function setup(prot = RW) {
  const engine = new Engine(ENGINE_OPTS);
  const mm = new Mm(engine);
  const dev = new Device(engine);
  const a = dev.mmap(mm, 2 * PAGE, prot, "mixedmap");
  const entry = (addr: number): pte.Entry => engine.readEntry(mm.entryPtr(addr, 0, false));
  return { engine, mm, a, entry };
}

describe("insertPfn (insert_pfn)", () => {
  it("a second read-only insert of another pfn leaves the PTE as the first insert made it", () => {
    const { mm, a, entry } = setup();
    insertPfn(mm, a, 0x7001, false);
    const first = entry(a);
    expect(pte.pfnOf(first)).toBe(0x7001);
    insertPfn(mm, a, 0x7002, false);
    expect(entry(a)).toEqual(first);
    insertPfn(mm, a, 0x7002, true); // mkwrite, but a different pfn: untouched as well
    expect(entry(a)).toEqual(first);
  });

  it("mkwrite on the same pfn makes the read-only PTE young, dirty and writable in place", () => {
    const { mm, a, entry } = setup();
    insertPfn(mm, a, 0x7001, false);
    const before = entry(a);
    expect(before.lo & PTE_LO.RW).toBe(0);
    insertPfn(mm, a, 0x7001, true);
    const after = entry(a);
    expect(pte.pfnOf(after)).toBe(0x7001);
    expect(after.lo).toBe((before.lo | PTE_LO.RW | PTE_LO.DIRTY | PTE_LO.ACCESSED) >>> 0);
    expect(after.hi).toBe(before.hi);
    expect(pte.isSpecial(after)).toBe(true);
  });

  it("mkwrite in a VMA without VM_WRITE dirties the entry but keeps it read-only", () => {
    const { mm, a, entry } = setup(PROT_READ);
    insertPfn(mm, a, 0x7001, false);
    insertPfn(mm, a, 0x7001, true);
    const e = entry(a);
    expect(e.lo & PTE_LO.RW).toBe(0);
    expect(e.lo & PTE_LO.DIRTY).toBe(PTE_LO.DIRTY);
  });
});

describe("insertPage (vm_insert_page)", () => {
  it("an occupied PTE: -EBUSY, the page's references and the entry unchanged", () => {
    const { engine, mm, a, entry } = setup();
    const p1 = engine.allocFrames(0, 0);
    const p2 = engine.allocFrames(0, 0);
    insertPage(mm, a, p1);
    const before = entry(a);
    const refs = [engine.refcount(p1), engine.mapcount(p1), engine.refcount(p2), engine.mapcount(p2)];
    let err: unknown;
    try {
      insertPage(mm, a, p2);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ErrnoError);
    expect((err as ErrnoError).errno).toBe(EBUSY);
    expect((err as Error).message).toBe(`-EBUSY: vm_insert_page at 0x${a.toString(16)}: the PTE is already occupied`);
    expect(entry(a)).toEqual(before);
    expect([engine.refcount(p1), engine.mapcount(p1), engine.refcount(p2), engine.mapcount(p2)]).toEqual(refs);
    // a special PTE from insertPfn counts as occupied too
    insertPfn(mm, a + PAGE, 0x7003, false);
    expect(() => insertPage(mm, a + PAGE, p2)).toThrow(/already occupied/);
  });

  it("a refused insert into a plain VMA does not mark it VM_MIXEDMAP", () => {
    const engine = new Engine(ENGINE_OPTS);
    const mm = new Mm(engine);
    const a = mm.mmap({ length: PAGE, prot: RW, flags: MAP_PRIVATE | MAP_ANONYMOUS });
    mm.cpuWrite(a, new Uint8Array([1]));
    expect(() => insertPage(mm, a, engine.allocFrames(0, 0))).toThrow(/already occupied/);
    expect(mm.vmaLookup(a)!.flags & VM.MIXEDMAP).toBe(0);
  });
});
