// Original file: proto/mesh/events/v1/events.proto


export interface DeadLetter {
  'stage'?: (string);
  'reason'?: (string);
}

export interface DeadLetter__Output {
  'stage': (string);
  'reason': (string);
}
