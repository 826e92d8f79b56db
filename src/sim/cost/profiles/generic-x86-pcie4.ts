// Cost profile data: a generic x86-64 host with a PCIe 4.0 x16 device. Plain data, validated by
// CostProfileSchema like a profile file; entries nobody has published are marked "unknown".
import type { CostProfile } from "../schema.js";

const UNKNOWN = "not published; placeholder until calibrated (see docs/cost-profiles.md)";

export const GENERIC_X86_PCIE4: CostProfile = {
  name: "generic-x86-pcie4",
  description: "Generic x86-64 host, PCIe 4.0 x16 device with a far-fault path like amdgpu SVM / Xe SVM",
  entries: {
    "hmm.callNs": { value: 300, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "walk.pageNs": {
      value: 10,
      unit: "ns/page",
      source: "order of hmmsim's own bench for a populated 4 KiB walk; run calibrate() for this machine",
      confidence: "unknown",
    },
    "fault.anonNs": {
      value: 1000,
      unit: "ns",
      source: "public measurement of anonymous minor faults (i7, Linux 6.6): ~1 us median",
      confidence: "low",
    },
    "fault.cowNs": { value: 2000, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "fault.thpNs": {
      value: 130000,
      unit: "ns",
      source: "kernel commit 9890ecab6ad9: 2 MiB zeroing 89-178 us",
      confidence: "medium",
    },
    "fault.swapinNs": { value: 20000, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "fault.migrateToRamNs": { value: 10000, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "fault.numaNs": { value: 3000, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "fault.minorNs": { value: 500, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "invalidate.perNotifierNs": { value: 500, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "invalidate.deviceTlbNs": { value: 5000, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "cpu.accessNs": { value: 100, unit: "ns", source: "a DRAM access, order of magnitude", confidence: "low" },
    "cpu.syscallNs": { value: 2000, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "cpu.tlbFlushPageNs": {
      value: 100,
      unit: "ns",
      source: "arch/x86/mm/tlb.c: single-page INVLPG ~100 ns, <=33 pages before a full flush",
      confidence: "medium",
    },
    "migrate.perPageNs": { value: 1000, unit: "ns/page", source: UNKNOWN, confidence: "unknown" },
    "link.bandwidthGBps": {
      value: 31.5,
      unit: "GB/s",
      source: "PCIe 4.0 x16 per direction (spec arithmetic)",
      confidence: "high",
    },
    "link.atanAGiBps": { value: 0, unit: "GiB/s", source: "flat bandwidth model (atan curve off)", confidence: "high" },
    "link.atanBPerKiB": {
      value: 0,
      unit: "1/KiB",
      source: "flat bandwidth model (atan curve off)",
      confidence: "high",
    },
    "gpu.farFaultBatchNs": { value: 20000, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "gpu.accessNs": { value: 500, unit: "ns", source: UNKNOWN, confidence: "unknown" },
    "retry.backoffNs": {
      value: 1000,
      unit: "ns",
      source: "driver policy (dmirror retries at once); placeholder",
      confidence: "unknown",
    },
    "daemon.scanPageNs": { value: 20, unit: "ns/page", source: UNKNOWN, confidence: "unknown" },
    "khugepaged.collapseNs": {
      value: 300000,
      unit: "ns",
      source: "LKML 2024-03: 95-523 us visible downtime per collapse",
      confidence: "medium",
    },
  },
};
