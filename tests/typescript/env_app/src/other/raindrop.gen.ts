// Written by `python -m runtime generate` from raindrop.manifest; do not edit.
// The bindings service "other" reaches (type-only: never run).
import type { Ai, Annotation, App, KvCache, Logger, ServiceStub, Tracer } from '@liquidmetal-ai/raindrop-framework';

type Instance<T> = T extends abstract new (...args: any) => infer I ? I : T;

export interface Env {
  _raindrop: { app: App }; // built in
  AI: Ai; // built in
  annotation: Annotation; // built in
  API: ServiceStub<Instance<typeof import('../api/index')['default']>>; // service "api"
  APP_SECRET: string; // secret "APP_SECRET"
  APP_VAR: string; // env "APP_VAR"
  logger: Logger; // built in
  mem: KvCache; // built in
  NEVER_SET: string; // secret "NEVER_SET"
  OTHER: ServiceStub<Instance<typeof import('./index')['default']>>; // service "other"
  tracer: Tracer; // built in
  WITH_DEFAULT: string; // env "WITH_DEFAULT"
}
