// Written by `python -m runtime generate` from raindrop.manifest; do not edit.
// The bindings service "api" reaches (type-only: never run).
import type { Ai, Annotation, App, KvCache, Logger, ServiceStub, SmartBucket, Tracer } from '@liquidmetal-ai/raindrop-framework';

type Instance<T> = T extends abstract new (...args: any) => infer I ? I : T;

export interface Env {
  _raindrop: { app: App }; // built in
  AI: Ai; // built in
  annotation: Annotation; // built in
  API: ServiceStub<Instance<typeof import('./index')['default']>>; // service "api"
  logger: Logger; // built in
  LOGS: SmartBucket; // smartbucket "logs"
  mem: KvCache; // built in
  tracer: Tracer; // built in
}
