export * from './control-api.js';
export * from './options.js';
