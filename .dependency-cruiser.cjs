// Layer rules of the library (docs/architecture.md): a module imports only from its own layer or
// below, there are no cycles (type-only imports included), the core runs in any JavaScript host,
// and src/ never imports the folders outside the library. `npm run depcheck` runs this in CI.
const LAYERS = [
  ["engine", "^src/engine/"],
  ["mm", "^src/mm/"],
  ["fault", "^src/fault/"],
  ["hmm", "^src/hmm/"],
  ["ops", "^src/ops/"],
  ["drivers", "^src/(drivers|api)/"],
  ["sim", "^src/sim/"],
  ["cli", "^src/cli/"],
];
// hmm and ops share layer 4 but are independent of each other (⟂)
const RANK = { engine: 1, mm: 2, fault: 3, hmm: 4, ops: 4, drivers: 5, sim: 6, cli: 7 };

const upward = [];
for (const [name, path] of LAYERS) {
  const above = LAYERS.filter(([n]) => RANK[n] > RANK[name]).map(([, p]) => p.slice(1));
  if (above.length) {
    upward.push({
      name: `no-upward-from-${name}`,
      comment: `${name} (L${RANK[name]}) may only import its own layer or below`,
      severity: "error",
      from: { path },
      to: { path: `^(${above.join("|")})` },
    });
  }
}

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "no import cycles, type-only imports included",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: "hmm-apart-from-ops",
      comment: "src/hmm and src/ops are independent halves of layer 4",
      severity: "error",
      from: { path: "^src/hmm/" },
      to: { path: "^src/ops/" },
    },
    {
      name: "ops-apart-from-hmm",
      severity: "error",
      from: { path: "^src/ops/" },
      to: { path: "^src/hmm/" },
    },
    {
      name: "core-runs-in-any-host",
      comment: "the library outside Node-only entries imports no node: built-in",
      severity: "error",
      from: { path: "^src/", pathNot: "(\\.node\\.ts$|^src/cli/|^src/sim/sweep/)" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "core-imports-no-node-only-entry",
      severity: "error",
      from: { path: "^src/", pathNot: "(\\.node\\.ts$|^src/cli/|^src/sim/sweep/)" },
      to: { path: "(\\.node\\.ts$|^src/cli/|^src/sim/sweep/)" },
    },
    {
      name: "library-stays-inside-src",
      comment: "src/ never imports bench/, fuzz/, test/, examples/ or tools/",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(bench|fuzz|test|examples|tools)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
