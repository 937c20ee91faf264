import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { stageNames } from '../../lib/service/stages.js';
import { projectRoot, type Mesh } from '../launcher/Mesh.js';
import { PrometheusServer } from './PrometheusServer.js';

const shippedFolder = path.join(projectRoot, 'deploy', 'prometheus');

interface ScrapeJob { job_name: string; dns_sd_configs?: unknown; static_configs?: Array<{ targets: string[] }> }
interface PrometheusConfig { global: { scrape_interval: string; evaluation_interval: string }; rule_files: string[]; scrape_configs: ScrapeJob[] }

export interface MeshPrometheusOptions {
  /** How often it scrapes and evaluates the rules (the shipped configuration: 5s). */
  interval?: string;
  /** The range of every range selector in the rules, in place of the shipped 1m. */
  ruleRange?: string;
}

/**
 * The shipped rule files (deploy/prometheus/rules) as Prometheus is to load them, every `[1m]`
 * range selector given `range` instead: the rules unchanged but for the window they look back over.
 */
export function shippedRules(range = '1m'): Record<string, string> {
  const folder = path.join(shippedFolder, 'rules');
  return Object.fromEntries(readdirSync(folder).filter((file) => file.endsWith('.rules.yml')).map((file) => [file, readFileSync(path.join(folder, file), 'utf8').replaceAll('[1m]', `[${range}]`)]));
}

/**
 * The Compose project's Prometheus configuration (deploy/prometheus/prometheus.yml) pointed at a
 * launcher's mesh: the same jobs and relabelling, each job's DNS discovery replaced by the
 * addresses of that service's replicas.
 */
export function meshScrapeConfig(mesh: Mesh, ruleFiles: string[], interval?: string): string {
  const config = parse(readFileSync(path.join(shippedFolder, 'prometheus.yml'), 'utf8')) as PrometheusConfig;
  const targets: Record<string, string[]> = {
    gateway: [`127.0.0.1:${mesh.ports.gateway}`],
    ...Object.fromEntries(stageNames.map((stage) => [stage, mesh.replicas[stage].map(({ adminPort }) => `127.0.0.1:${adminPort}`)])),
  };
  for (const job of config.scrape_configs) {
    if (!targets[job.job_name]) throw new Error(`deploy/prometheus/prometheus.yml: job ${job.job_name} is no service of the mesh`);
    delete job.dns_sd_configs;
    job.static_configs = [{ targets: targets[job.job_name]! }];
  }
  if (interval) config.global = { ...config.global, scrape_interval: interval, evaluation_interval: interval };
  config.rule_files = ruleFiles;
  return stringify(config);
}

/** Debian's Prometheus scraping `mesh` with the shipped configuration and rules. */
export function startMeshPrometheus(mesh: Mesh, options: MeshPrometheusOptions = {}): Promise<PrometheusServer> {
  const rules = shippedRules(options.ruleRange);
  return PrometheusServer.start(meshScrapeConfig(mesh, Object.keys(rules), options.interval), rules);
}
