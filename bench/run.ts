/** `npm run bench -- <name> [options]`: runs one benchmark, passing it the remaining arguments. */
const benchmarks: Record<string, (args: string[]) => Promise<void>> = {
  link: async (args) => (await import('./link/linkBenchmark.js')).runLinkBenchmark(args),
  mesh: async (args) => (await import('./mesh/meshBenchmark.js')).runMeshBenchmark(args),
  soak: async (args) => (await import('./soak/soakBenchmark.js')).runSoakBenchmark(args),
  burst: async (args) => (await import('./burst/burstBenchmark.js')).runBurstBenchmark(args),
  replicas: async (args) => (await import('./replicas/replicasBenchmark.js')).runReplicasBenchmark(args),
  latency: async (args) => (await import('./latency/latencyBenchmark.js')).runLatencyBenchmark(args),
  autoscale: async (args) => (await import('./autoscale/autoscaleBenchmark.js')).runAutoscaleBenchmark(args),
  refusal: async (args) => (await import('./refusal/refusalBenchmark.js')).runRefusalBenchmark(args),
  edge: async (args) => (await import('./edge/edgeBenchmark.js')).runEdgeBenchmark(args),
};

const [name, ...args] = process.argv.slice(2);
const benchmark = name === undefined ? undefined : benchmarks[name];
if (!benchmark) {
  console.error(`usage: npm run bench -- <${Object.keys(benchmarks).join('|')}> [options, e.g. --json --runs N]`);
  process.exit(2);
}
await benchmark(args);
