// A stand-in for @liquidmetal-ai/raindrop-framework: every import of it resolves here.
// The base classes hold no behaviour, as in the real package: the runtime supplies the rest.
export const VERSION = '0.12.0-local';

export class Service {
  constructor(ctx, env) { this.ctx = ctx; this.env = env; }
}
export class Each {
  constructor(ctx, env) { this.ctx = ctx; this.env = env; }
}
export class Batch {
  constructor(ctx, env) { this.ctx = ctx; this.env = env; }
}
export class Task {
  constructor(ctx, env) { this.ctx = ctx; this.env = env; }
}
export class Actor {
  constructor(state, env) { this.state = state; this.env = env; this.ctx = state; }
}

export var LogLevel;
(function (LogLevel) {
  LogLevel.DEBUG = 'DEBUG';
  LogLevel.INFO = 'INFO';
  LogLevel.WARN = 'WARN';
  LogLevel.ERROR = 'ERROR';
})(LogLevel || (LogLevel = {}));

// The runtime's model catalog, handed over by the host before any handler module loads.
export const MODEL_CATALOG = globalThis.__raindropModelCatalog || {};

export function getModelInfo(model) {
  return MODEL_CATALOG[model];
}

export function getModelsByCapability(capability) {
  return Object.entries(MODEL_CATALOG)
    .filter(([, info]) => Array.isArray(info.capabilities) && info.capabilities.includes(capability))
    .map(([name]) => name);
}
