// Control flow. If and Loop only widened what their bodies may hold; their bodies are
// upgraded with the rest of the model. Scan-8 carried a batch axis and sequence_lens that
// Scan-9 dropped: rewriting that needs the body re-wired per batch entry, which tbn does not do.

import type { Adapter } from './common.js';

const scan9: Adapter = (_n, ctx) => ctx.refuse('Scan-8 (batch axis and sequence_lens) has no conversion to Scan-9 here');

export const CONTROL_FLOW_ADAPTERS: Record<string, Adapter> = { 'Scan@9': scan9 };
