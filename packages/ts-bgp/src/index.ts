// Public surface of @bgp/ts-bgp.
export * from './types.js';
export * from './codec/index.js';
