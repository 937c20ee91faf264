import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const contractTypesDir = path.join(repositoryRoot, 'lib', 'contract', 'generated');
const protoFiles = ['mesh/flow/v1/flow.proto', 'mesh/events/v1/events.proto'];

/** Writes the TypeScript types of proto/ into outDir, with the options lib/contract/loadContract.ts loads it with. */
export function generateContractTypes(outDir: string): void {
  const require = createRequire(import.meta.url);
  const generator = require.resolve('@grpc/proto-loader/build/bin/proto-loader-gen-types.js');
  const result = spawnSync(process.execPath, [
    generator,
    '--grpcLib=@grpc/grpc-js',
    '--longs=Number', '--enums=String', '--defaults', '--oneofs', '--includeComments',
    '-I', 'proto', '-O', outDir, ...protoFiles,
  ], { cwd: repositoryRoot, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`proto-loader-gen-types failed: ${result.stderr}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  generateContractTypes(process.argv[2] ?? contractTypesDir);
}
