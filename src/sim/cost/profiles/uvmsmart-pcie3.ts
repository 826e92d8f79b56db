// Cost profile data: a UVMSmart-like GTX 1080 Ti on PCIe 3.0 (GPGPU-Sim UVMSmart configuration):
// 45 us far-fault latency, 256-fault batches, the atan transfer-size curve. Plain data.
import type { CostProfile } from "../schema.js";
import { GENERIC_X86_PCIE4 } from "./generic-x86-pcie4.js";

const UVMSMART = "UVMSmart configs/GeForceGTX1080Ti/gpgpusim.config";

export const UVMSMART_PCIE3: CostProfile = {
  name: "uvmsmart-pcie3",
  description: "UVMSmart-like GPU on PCIe 3.0 x16: 45 us far faults, 256-fault batches, atan transfer curve",
  entries: {
    ...GENERIC_X86_PCIE4.entries,
    "link.bandwidthGBps": {
      value: 15.75,
      unit: "GB/s",
      source: "PCIe 3.0 x16 per direction (spec arithmetic)",
      confidence: "high",
    },
    "link.atanAGiBps": {
      value: 12,
      unit: "GiB/s",
      source: "UVMSmart gpu-sim.cc calculate_transfer_time: bw = 2a/pi*atan(b*KiB)",
      confidence: "medium",
    },
    "link.atanBPerKiB": {
      value: 0.07292,
      unit: "1/KiB",
      source: "UVMSmart gpu-sim.cc calculate_transfer_time",
      confidence: "medium",
    },
    "gpu.farFaultBatchNs": {
      value: 45000,
      unit: "ns",
      source: `${UVMSMART}: 66,645 cycles @ 1481 MHz`,
      confidence: "medium",
    },
    "gpu.accessNs": {
      value: 68,
      unit: "ns",
      source: `${UVMSMART}: GPU page walk 100 cycles @ 1481 MHz`,
      confidence: "low",
    },
  },
};
