// The Redis keys one distributed self-play run uses, all under one prefix (several runs can share a server):
//   <prefix>:weights     hash {version, config (JSON), params (F32 bytes)}: the network workers play with
//   <prefix>:games       list of finished games (workers LPUSH, the trainer BLMOVEs from the right)
//   <prefix>:processing  list of games the trainer has claimed but not yet checkpointed
//   <prefix>:consumed    set of game ids the trainer has trained on and checkpointed (dedupes re-sent games)
export interface Keys { weights: string; games: string; processing: string; consumed: string }

export const DEFAULT_PREFIX = "move37:selfplay";

export function keysFor(prefix: string): Keys {
  return { weights: `${prefix}:weights`, games: `${prefix}:games`, processing: `${prefix}:processing`, consumed: `${prefix}:consumed` };
}
