import { packageDefinition } from './loadContract.js';

/**
 * The contract's messages as the batch encoder and decoder write and read them, field by field in
 * field-number order (each named in their code, so that every property access is of one name).
 */
const asWritten: Record<string, string> = {
  'mesh.flow.v1.Upstream': 'open:1:Open batch:2:Batch close:3:Close',
  'mesh.flow.v1.Batch': 'offset:1:uint64 repeated events:2:Event repeated traceContext:3:TraceContext',
  'mesh.events.v1.Event': 'id:1:string userId:2:string itemId:3:string kind:4:string eventTimeMs:5:int64 priceCents:6:int64 acceptedAtMs:7:int64 intakeId:8:string profile:9:Profile product:10:Product deadLetter:11:DeadLetter priorityClass:12:string producerKey:13:string',
  'mesh.events.v1.Profile': 'found:1:bool segment:2:string country:3:string degraded:4:bool',
  'mesh.events.v1.Product': 'found:1:bool name:2:string category:3:string listPriceCents:4:int64',
  'mesh.events.v1.DeadLetter': 'stage:1:string reason:2:string',
};

interface Descriptor { type: { field: { name: string; number: number; type: string; typeName: string; label: string }[] } }

/** Throws unless the contract's descriptor has every message as written above: a change to the .proto files cannot go unnoticed by the batch codec. */
export function assertFramesAsWritten(): void {
  for (const [name, fields] of Object.entries(asWritten)) {
    const definition = packageDefinition[name] as unknown as Descriptor | undefined;
    const described = definition?.type.field
      .map((field) => `${field.label === 'LABEL_REPEATED' ? 'repeated ' : ''}${field.name}:${field.number}:${field.type === 'TYPE_MESSAGE' ? field.typeName.split('.').at(-1) : field.type.replace('TYPE_', '').toLowerCase()}`)
      .join(' ');
    if (described !== fields) throw new Error(`the batch codec (lib/contract/batch*.ts) reads and writes ${name} as "${fields}", but the contract has "${described}": update the codec with the contract`);
  }
}
