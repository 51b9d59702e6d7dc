// Written by `python -m runtime generate` from raindrop.manifest; do not edit.
// The bindings service "api" reaches (type-only: never run).
import type { Ai, Annotation, App, KvCache, Logger, ServiceStub, Tracer } from '@liquidmetal-ai/raindrop-framework';

type Instance<T> = T extends abstract new (...args: any) => infer I ? I : T;

export interface Env {
  _raindrop: { app: App }; // built in
  AI: Ai; // built in
  annotation: Annotation; // built in
  API: ServiceStub<Instance<typeof import('./index')['default']>>; // service "api"
  APP_SECRET: string; // secret "APP_SECRET"
  APP_VAR: string; // env "APP_VAR" of service "api"
  logger: Logger; // built in
  mem: KvCache; // built in
  NEVER_SET: string; // secret "NEVER_SET"
  OTHER: ServiceStub<Instance<typeof import('../other/index')['default']>>; // service "other"
  tracer: Tracer; // built in
  WITH_DEFAULT: string; // env "WITH_DEFAULT"
  WORKOS_CLIENT_ID: string; // env "WORKOS_CLIENT_ID" of service "api"
  WORKOS_CLIENT_SECRET: string; // secret "WORKOS_CLIENT_SECRET" of service "api"
}
