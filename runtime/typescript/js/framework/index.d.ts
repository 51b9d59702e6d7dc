// Types of the stand-in for @liquidmetal-ai/raindrop-framework, as the platform's package
// declares them: the base classes and every binding a generated `Env` names. Type-only.

export declare const VERSION: string;

export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}

export declare abstract class Service<Env = unknown> {
  protected ctx: ExecutionContext;
  protected env: Env;
  constructor(ctx: ExecutionContext, env: Env);
  fetch?(request: Request, env?: Env, ctx?: ExecutionContext): Promise<Response> | Response;
}

export interface Message<Body = unknown> {
  readonly id: string;
  readonly timestamp: Date;
  readonly body: Body;
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

export interface MessageBatch<Body = unknown> {
  readonly queue: string;
  readonly messages: readonly Message<Body>[];
  ackAll(): void;
  retryAll(options?: { delaySeconds?: number }): void;
}

export declare abstract class Each<Body = unknown, Env = unknown> {
  protected ctx: ExecutionContext;
  protected env: Env;
  constructor(ctx: ExecutionContext, env: Env);
  abstract process(message: Message<Body>): Promise<void>;
}

export declare abstract class Batch<Body = unknown, Env = unknown> {
  protected ctx: ExecutionContext;
  protected env: Env;
  constructor(ctx: ExecutionContext, env: Env);
  abstract process(batch: MessageBatch<Body>): Promise<void>;
}

export interface Event {
  cron: string;
  type: string;
  scheduledTime: number;
}

export declare abstract class Task<Env = unknown> {
  protected ctx: ExecutionContext;
  protected env: Env;
  constructor(ctx: ExecutionContext, env: Env);
  abstract handle(event: Event): Promise<void>;
}

export interface BucketEventNotification {
  account: string;
  action: string;
  bucket: string;
  object: { key: string; size: number; eTag: string };
  eventTime: string;
}

// -- actors ------------------------------------------------------------------------------------
export interface ActorId {
  readonly name?: string;
  toString(): string;
  equals(other: ActorId): boolean;
}

export interface ActorStorage {
  get<T = any>(key: string): Promise<T | undefined>;
  get<T = any>(keys: string[]): Promise<Map<string, T>>;
  put<T>(key: string, value: T): Promise<void>;
  put<T>(entries: Record<string, T>): Promise<void>;
  delete(key: string): Promise<boolean>;
  delete(keys: string[]): Promise<number>;
  deleteAll(): Promise<void>;
  list<T = any>(options?: { prefix?: string; start?: string; end?: string; reverse?: boolean; limit?: number }): Promise<Map<string, T>>;
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number | Date): Promise<void>;
  deleteAlarm(): Promise<void>;
}

export interface ActorState {
  readonly id: ActorId;
  readonly storage: ActorStorage;
  waitUntil(promise: Promise<unknown>): void;
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
}

export declare abstract class Actor<Env = unknown> {
  protected state: ActorState;
  protected ctx: ActorState;
  protected env: Env;
  constructor(state: ActorState, env: Env);
  fetch?(request: Request): Promise<Response> | Response;
  alarm?(): Promise<void>;
}

type Methods<T> = { [K in keyof T as T[K] extends (...args: any[]) => any ? K : never]: T[K] };
type Remote<T> = {
  [K in keyof Methods<T>]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

export type ActorStub<T = any> = Remote<T> & { fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> };

export interface ActorNamespace<T = any> {
  idFromName(name: string): ActorId;
  idFromString(id: string): ActorId;
  newUniqueId(): ActorId;
  get(id: ActorId): ActorStub<T>;
}

export type ServiceStub<T = any> = Remote<Omit<T, 'fetch'>> & {
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
};

// -- stores ------------------------------------------------------------------------------------
export interface KvCacheGetOptions<T extends string = string> { type: T; cacheTtl?: number }
export interface KvCachePutOptions { expiration?: number; expirationTtl?: number; metadata?: unknown }
export interface KvCacheListKey<M = unknown> { name: string; expiration?: number; metadata?: M }
export type KvCacheListResult<M = unknown> =
  | { keys: KvCacheListKey<M>[]; list_complete: false; cursor: string; cacheStatus: string | null }
  | { keys: KvCacheListKey<M>[]; list_complete: true; cacheStatus: string | null };
export interface KvCacheGetWithMetadataResult<V, M = unknown> { value: V | null; metadata: M | null; cacheStatus: string | null }

export interface KvCache {
  get(key: string, options?: 'text' | Partial<KvCacheGetOptions<'text'>>): Promise<string | null>;
  get<T = any>(key: string, options: 'json' | KvCacheGetOptions<'json'>): Promise<T | null>;
  get(key: string, options: 'arrayBuffer' | KvCacheGetOptions<'arrayBuffer'>): Promise<ArrayBuffer | null>;
  get(key: string, options: 'stream' | KvCacheGetOptions<'stream'>): Promise<ReadableStream | null>;
  get(keys: string[], options?: 'text' | Partial<KvCacheGetOptions<'text'>>): Promise<Map<string, string | null>>;
  get<T = any>(keys: string[], options: 'json' | KvCacheGetOptions<'json'>): Promise<Map<string, T | null>>;
  getWithMetadata<M = unknown>(key: string, options?: 'text' | Partial<KvCacheGetOptions<'text'>>): Promise<KvCacheGetWithMetadataResult<string, M>>;
  getWithMetadata<T = any, M = unknown>(key: string, options: 'json' | KvCacheGetOptions<'json'>): Promise<KvCacheGetWithMetadataResult<T, M>>;
  getWithMetadata<M = unknown>(key: string, options: 'arrayBuffer' | KvCacheGetOptions<'arrayBuffer'>): Promise<KvCacheGetWithMetadataResult<ArrayBuffer, M>>;
  getWithMetadata<M = unknown>(key: string, options: 'stream' | KvCacheGetOptions<'stream'>): Promise<KvCacheGetWithMetadataResult<ReadableStream, M>>;
  put(key: string, value: string | ArrayBuffer | ArrayBufferView | ReadableStream, options?: KvCachePutOptions): Promise<void>;
  delete(key: string): Promise<void>;
  list<M = unknown>(options?: { prefix?: string | null; limit?: number; cursor?: string | null }): Promise<KvCacheListResult<M>>;
}

export type QueueContentType = 'text' | 'bytes' | 'json' | 'v8';
export interface QueueSendOptions { contentType?: QueueContentType; delaySeconds?: number }
export interface Queue<Body = unknown> {
  send(body: Body, options?: QueueSendOptions): Promise<void>;
  sendBatch(messages: Iterable<{ body: Body } & QueueSendOptions>, options?: { delaySeconds?: number }): Promise<void>;
}

export interface SqlResult<T = Record<string, unknown>> {
  results: T[];
  success: boolean;
  meta: Record<string, any>;
}
export interface SqlPreparedStatement {
  bind(...values: unknown[]): SqlPreparedStatement;
  first<T = Record<string, any>>(column?: string): Promise<T | null>;
  all<T = Record<string, any>>(): Promise<SqlResult<T>>;
  run<T = Record<string, any>>(): Promise<SqlResult<T>>;
  raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[]>;
}
export interface SqlDatabase {
  prepare(query: string): SqlPreparedStatement;
  batch<T = Record<string, any>>(statements: SqlPreparedStatement[]): Promise<SqlResult<T>[]>;
  exec(query: string): Promise<{ count: number; duration: number }>;
}

export interface BucketHttpMetadata {
  contentType?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  cacheControl?: string;
  cacheExpiry?: Date;
}
export interface BucketObject {
  key: string;
  version: string;
  size: number;
  etag: string;
  httpEtag: string;
  uploaded: Date;
  httpMetadata?: BucketHttpMetadata;
  customMetadata?: Record<string, string>;
  range?: { offset?: number; length?: number; suffix?: number };
}
export interface BucketObjectBody extends BucketObject {
  readonly body: ReadableStream;
  readonly bodyUsed: boolean;
  arrayBuffer(): Promise<ArrayBuffer>;
  text(): Promise<string>;
  json<T = any>(): Promise<T>;
  blob(): Promise<Blob>;
}
export interface BucketPutOptions {
  httpMetadata?: BucketHttpMetadata | Headers;
  customMetadata?: Record<string, string>;
  md5?: ArrayBuffer | string;
}
export interface BucketListOptions {
  limit?: number;
  prefix?: string;
  cursor?: string;
  delimiter?: string;
  include?: ('httpMetadata' | 'customMetadata')[];
}
export interface BucketObjects {
  objects: BucketObject[];
  truncated: boolean;
  cursor?: string;
  delimitedPrefixes: string[];
}
export type BucketValue = ReadableStream | ArrayBuffer | ArrayBufferView | string | null | Blob;
export interface Bucket {
  head(key: string): Promise<BucketObject | null>;
  get(key: string, options?: { range?: { offset?: number; length?: number; suffix?: number } | Headers }): Promise<BucketObjectBody | null>;
  put(key: string, value: BucketValue, options?: BucketPutOptions): Promise<BucketObject>;
  delete(keys: string | string[]): Promise<void>;
  list(options?: BucketListOptions): Promise<BucketObjects>;
}

export interface SmartBucket extends Bucket {
  search(input: { input: string; requestId: string; [option: string]: unknown }): Promise<any>;
  chunkSearch(input: { input: string; requestId: string; [option: string]: unknown }): Promise<any>;
  documentChat(input: { objectId: string; input: string; requestId: string; [option: string]: unknown }): Promise<any>;
  getPaginatedResults(input: { requestId: string; page?: number; pageSize?: number }): Promise<any>;
}

export interface SmartSql {
  executeQuery(options: { textQuery?: string; sqlQuery?: string; format?: 'json' | 'csv' }): Promise<any>;
  getMetadata(tableName?: string): Promise<any>;
  updateMetadata(tables: unknown, mode?: string): Promise<any>;
  getPiiData(tableName: string, recordId?: string): Promise<any>;
}

export interface SmartMemory {
  startWorkingMemorySession(): Promise<{ sessionId: string; workingMemory: any }>;
  getWorkingMemorySession(sessionId: string): Promise<any>;
  rehydrateSession(sessionId: string, summaryOnly?: boolean): Promise<any>;
  getEpisodicMemory(options?: Record<string, unknown>): Promise<any>;
  searchEpisodicMemory(terms: string, options?: Record<string, unknown>): Promise<any>;
  putSemanticMemory(document: Record<string, unknown>): Promise<any>;
  getSemanticMemory(objectId: string): Promise<any>;
  searchSemanticMemory(needle: string): Promise<any>;
  deleteSemanticMemory(objectId: string): Promise<any>;
  getProceduralMemory(id?: string): Promise<any>;
  [method: string]: any;
}

export interface VectorIndex {
  upsert(vectors: { id: string; values: number[]; metadata?: Record<string, unknown> }[]): Promise<any>;
  query(vector: number[], options?: { topK?: number; returnMetadata?: boolean | string; returnValues?: boolean; filter?: Record<string, unknown> }): Promise<any>;
  getByIds(ids: string[]): Promise<any[]>;
  deleteByIds(ids: string[]): Promise<any>;
  describe(): Promise<any>;
}

// -- the built-ins every Env has ---------------------------------------------------------------
export interface Ai {
  run(model: string, inputs: Record<string, unknown>, options?: Record<string, unknown>): Promise<any>;
}

export declare enum LogLevel {
  DEBUG = 'DEBUG',
  INFO = 'INFO',
  WARN = 'WARN',
  ERROR = 'ERROR',
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  log(message: string, fields?: Record<string, unknown>): void;
  logAtLevel(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  with(fields: Record<string, unknown>): Logger;
  withError(error: unknown): Logger;
}

export interface Span {
  setAttribute(key: string, value: unknown): Span;
  setAttributes(attributes: Record<string, unknown>): Span;
  addEvent(name: string, attributes?: Record<string, unknown>): Span;
  setStatus(status: { code: number; message?: string }): Span;
  recordException(error: unknown): void;
  end(): void;
}
export interface Tracer {
  startSpan(name: string, options?: { attributes?: Record<string, unknown> }): Span;
  startActiveSpan<T>(name: string, fn: (span: Span) => T): T;
  startActiveSpan<T>(name: string, options: { attributes?: Record<string, unknown> }, fn: (span: Span) => T): T;
}

export interface MRNObject {
  type: string;
  applicationName: string;
  versionId: string;
  module?: string;
  item?: string;
  key?: string;
}
export interface Annotation<M = Partial<MRNObject>> {
  put(mrn: M & Record<string, unknown>, value: string): Promise<any>;
  get(mrn: M & Record<string, unknown>): Promise<any>;
  list(options?: Record<string, unknown>): Promise<any>;
}

export interface App {
  organizationId: string;
  applicationName: string;
  versionId: string;
  scriptName: string;
  visibility: string;
}

export interface ModelInfo { capabilities: string[]; [detail: string]: unknown }
export declare const MODEL_CATALOG: Record<string, ModelInfo>;
export declare function getModelInfo(model: string): ModelInfo | undefined;
export declare function getModelsByCapability(capability: string): string[];
