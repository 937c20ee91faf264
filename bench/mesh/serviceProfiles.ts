import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceNames, type ServiceName } from '../../tools/launcher/Mesh.js';
import { formatSummary, summarizeCpuProfiles } from './cpuProfileSummary.js';

type ServiceEnv = Partial<Record<ServiceName, Record<string, string>>>;

const cpuProfilerPreload = fileURLToPath(new URL('./cpuProfilerPreload.js', import.meta.url));

/** The services' environment with each one profiling its CPU into `directory`/<service> (written when it exits). */
export function withProfiling(serviceEnv: ServiceEnv, directory: string | undefined): ServiceEnv {
  if (!directory) return serviceEnv;
  const nodeOptions = [process.env.NODE_OPTIONS, `--import=${cpuProfilerPreload}`].filter(Boolean).join(' ');
  const profiled: ServiceEnv = {};
  for (const name of serviceNames) {
    profiled[name] = { ...serviceEnv[name], NODE_OPTIONS: nodeOptions, CPU_PROFILE_DIR: path.resolve(directory, name) };
  }
  return profiled;
}

/** The top self time of each service's profiles. */
export async function printServiceProfiles(directory: string): Promise<void> {
  for (const name of serviceNames) {
    const summary = await summarizeCpuProfiles(path.resolve(directory, name)).catch((error: Error) => error);
    console.log(summary instanceof Error ? `${name}: no profile (${summary.message})` : formatSummary(name, summary));
  }
}
