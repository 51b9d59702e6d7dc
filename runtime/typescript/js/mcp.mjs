// MCP services in TypeScript: the module's default export `(server, env, state) => {...}` runs
// against a server that records its tools; the runtime serves them with the official SDK and
// calls each tool back here.
const warned = new Set();

// Zod schemas (v3 `_def.typeName`, v4 `_def.type`) as JSON Schema, for the tool list.
export function jsonSchema(schema) {
  if (!schema || typeof schema !== 'object') return {};
  if (typeof schema.toJSONSchema === 'function') { try { return schema.toJSONSchema(); } catch { /* v3 */ } }
  const def = schema._def;
  if (!def) return shape(schema);
  const kind = String(def.typeName || def.type || '').replace(/^Zod/, '').toLowerCase();
  const described = (value) => (schema.description ? { ...value, description: schema.description } : value);
  switch (kind) {
    case 'string': return described({ type: 'string' });
    case 'number': return described({ type: 'number' });
    case 'bigint': return described({ type: 'integer' });
    case 'boolean': return described({ type: 'boolean' });
    case 'literal': return described({ const: def.value ?? (def.values && def.values[0]) });
    case 'enum': return described({ type: 'string', enum: def.values ?? Object.values(def.entries || {}) });
    case 'array': return described({ type: 'array', items: jsonSchema(def.type?._def ? def.type : def.element) });
    case 'object': return described(shape(typeof def.shape === 'function' ? def.shape() : def.shape));
    case 'optional': case 'nullable': case 'default': return described(jsonSchema(def.innerType));
    case 'record': return described({ type: 'object', additionalProperties: jsonSchema(def.valueType) });
    case 'union': return described({ anyOf: (def.options || []).map(jsonSchema) });
    default: return described({});
  }
}

function optional(schema) {
  const kind = String(schema?._def?.typeName || schema?._def?.type || '').replace(/^Zod/, '').toLowerCase();
  return kind === 'optional' || kind === 'default';
}

function shape(fields) {
  const properties = {};
  const required = [];
  for (const [name, field] of Object.entries(fields || {})) {
    properties[name] = jsonSchema(field);
    if (!optional(field)) required.push(name);
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

export function recordingServer(name) {
  const tools = new Map();
  const add = (tool, config, callback) => {
    const schema = config.inputSchema;
    const parameters = schema && schema._def ? jsonSchema(schema) : shape(schema);
    tools.set(tool, { name: tool, description: config.description || config.title || '', parameters, callback });
  };
  const unsupported = (what) => () => {
    if (!warned.has(what)) { warned.add(what); console.warn(`mcp_service "${name}": ${what} is not served locally yet`); }
  };
  const server = {
    tools,
    registerTool: (tool, config, callback) => add(tool, config || {}, callback),
    tool: (tool, ...rest) => {
      const callback = rest.pop();
      const description = typeof rest[0] === 'string' ? rest.shift() : '';
      const schema = rest.length ? rest.shift() : undefined;
      add(tool, { description, inputSchema: schema }, callback);
    },
    registerResource: unsupported('registerResource'), resource: unsupported('resource'),
    registerPrompt: unsupported('registerPrompt'), prompt: unsupported('prompt'),
    connect: async () => {}, close: async () => {},
  };
  server.server = server;
  return server;
}
