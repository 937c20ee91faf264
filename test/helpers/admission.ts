import { Registry } from 'prom-client';
import { Environment } from '../../lib/config.js';
import { Admission, type IntakeCredit } from '../../gateway/admission/Admission.js';
import { FairShares, readKeyWeights } from '../../gateway/admission/FairShares.js';
import { readPriorityPolicy } from '../../gateway/admission/priorityClasses.js';
import { readWaitingRoom } from '../../gateway/admission/WaitingRoom.js';

/** The gateway's admission as configured by `variables` (the defaults without), for `keys`, on `credit`. */
export function testAdmission(credit: () => IntakeCredit, keys: string[] = ['anonymous'], variables: Record<string, string> = {}, now?: () => number): Admission {
  const env = new Environment(variables);
  const policy = readPriorityPolicy(env, keys);
  return new Admission(policy, new FairShares(readKeyWeights(env, keys), now), readWaitingRoom(env, policy.classes.length), credit, new Registry(), now);
}

/** Credit to spare: nothing is refused for want of it. */
export const plentyOfCredit = (): IntakeCredit => ({ free: 1_000_000, window: 1_000_000, drainPerSecond: 10_000 });
