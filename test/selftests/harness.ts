// The hmm-tests.c harness on the simulator: the hmm / hmm2 fixtures (device-private and
// device-coherent variants), struct hmm_buffer, hmm_dmirror_cmd() and the int-array helpers the
// kernel tests use ("init i" = int i at int index i).
import { Engine, Mm, type Profile } from "../../src/index.js";
import { DmirrorDriver, type DmirrorFile } from "../../src/drivers/dmirror/index.js";
import { ENGINE_OPTS } from "../env.js";

export const PAGE = 4096;
/** HMM_BUFFER_SIZE: 1024 pages. */
export const HMM_BUFFER_SIZE = 1024 << 12;
export const PMD = 2 << 20;

export interface Variant {
  name: "device_private" | "device_coherent";
  /** Device numbers of the fixture's files (hmm: one, hmm2: two). */
  devices: [number, number];
}
export const VARIANTS: Variant[] = [
  { name: "device_private", devices: [0, 1] },
  { name: "device_coherent", devices: [2, 3] },
];

export interface Fixture {
  engine: Engine;
  mm: Mm;
  driver: DmirrorDriver;
  fd: DmirrorFile;
  fd0: DmirrorFile;
  fd1: DmirrorFile;
  variant: Variant;
  profile: Profile;
}

/** FIXTURE_SETUP(hmm) and (hmm2): one process, the variant's device(s) opened. */
export function setup(profile: Profile, variant: Variant, opts: { ramFrames?: number } = {}): Fixture {
  const engine = new Engine({ ...ENGINE_OPTS, ...opts });
  const mm = new Mm(engine, { profile });
  const driver = new DmirrorDriver(engine, { profile });
  const fd0 = driver.open(variant.devices[0], mm);
  const fd1 = driver.open(variant.devices[1], mm);
  return { engine, mm, driver, fd: fd0, fd0, fd1, variant, profile };
}

/** FIXTURE_TEARDOWN: close(fd) == 0 for every file. */
export function teardown(f: Fixture): number[] {
  return [f.fd0.close(), f.fd1.close()];
}

/** struct hmm_buffer: the mapping (ptr), the host-side mirror buffer and the last counters. */
export interface HmmBuffer {
  ptr: number;
  size: number;
  mirror: Uint8Array;
  cpages: number;
  faults: number;
}

export function buffer(ptr: number, size: number, mirrorSize = size): HmmBuffer {
  return { ptr, size, mirror: new Uint8Array(mirrorSize), cpages: 0, faults: 0 };
}

/** hmm_dmirror_cmd(): -errno on failure (counters untouched), else 0 with cpages/faults copied. */
export function hmmDmirrorCmd(fd: DmirrorFile, request: number, b: HmmBuffer, npages: number, addr = b.ptr): number {
  const cmd = { addr, ptr: b.mirror, npages, cpages: 0, faults: 0 };
  const ret = fd.ioctl(request, cmd);
  if (ret) return ret;
  b.cpages = cmd.cpages;
  b.faults = cmd.faults;
  return 0;
}

/** The ints of a byte array (a view; little endian like x86). */
export function ints(bytes: Uint8Array): Int32Array {
  return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
}

/** Bytes whose int at index i is f(i), for n bytes. */
export function intPattern(n: number, f: (i: number) => number): Uint8Array {
  const out = new Uint8Array(n);
  const v = ints(out);
  for (let i = 0; i < v.length; i++) v[i] = f(i);
  return out;
}

/** CPU stores f(i) at every int of [addr, addr + n) (page by page, as the loop would fault them). */
export function cpuInit(mm: Mm, addr: number, n: number, f: (i: number) => number, firstInt = 0): void {
  mm.cpuWrite(
    addr,
    intPattern(n, (i) => f(i + firstInt)),
  );
}

/** Index of the first int of [addr, addr + n) whose CPU value is not f(i), or -1. */
export function cpuMismatch(mm: Mm, addr: number, n: number, f: (i: number) => number, firstInt = 0): number {
  const v = ints(mm.cpuRead(addr, n));
  for (let i = 0; i < v.length; i++) if (v[i] !== f(i + firstInt)) return i;
  return -1;
}

/** Index of the first int of the mirror whose value is not f(i), or -1. */
export function mirrorMismatch(b: HmmBuffer, f: (i: number) => number, nInts = b.mirror.byteLength >> 2): number {
  const v = ints(b.mirror);
  for (let i = 0; i < nInts; i++) if (v[i] !== f(i)) return i;
  return -1;
}

export const ALIGN = (x: number, a: number): number => Math.ceil(x / a) * a;
