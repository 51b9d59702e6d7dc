// MCP services in TypeScript: the module's default export `(server, env, state) => {...}` runs
// against a server that records its tools, resources, resource templates and prompts; the
// runtime serves them with the official SDK and calls each one back here.

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

// Arguments checked against a tool's (or prompt's) zod schema before its callback runs, as the
// SDK does on the platform: defaults applied, unknown keys dropped. Null when there is no schema.
function parser(schema) {
  if (!schema || typeof schema !== 'object') return null;
  if (typeof schema.safeParse === 'function') return (args) => schema.safeParse(args ?? {});
  const fields = Object.entries(schema).filter(([, field]) => field && typeof field.safeParse === 'function');
  if (!fields.length) return null;
  return (args) => {
    const data = {};
    const issues = [];
    for (const [name, field] of fields) {
      const parsed = field.safeParse((args ?? {})[name]);
      if (!parsed.success) {
        for (const issue of parsed.error.issues || []) issues.push(`${[name, ...(issue.path || [])].join('.')}: ${issue.message}`);
      } else if (parsed.data !== undefined) data[name] = parsed.data;
    }
    return issues.length ? { success: false, error: { issues: issues.map((message) => ({ path: [], message })) } } : { success: true, data };
  };
}

function invalid(what, name, parsed) {
  const issues = (parsed.error?.issues || []).map((i) => (i.path?.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  return `Invalid arguments for ${what} ${name}: ${issues.join('; ')}`;
}

// A ResourceTemplate of the SDK (or anything with a `uriTemplate` that can `match(uri)`).
const isTemplate = (value) => value && typeof value === 'object' && value.uriTemplate !== undefined;

function templateText(template) {
  return String(template.uriTemplate);
}

// `match` of the SDK's UriTemplate; for a template without it, `{name}` placeholders by hand.
function matchTemplate(template, uri) {
  if (typeof template.uriTemplate.match === 'function') return template.uriTemplate.match(uri);
  const names = [];
  const pattern = templateText(template).replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, n) => { names.push(n); return '([^/]+)'; });
  const found = new RegExp(`^${pattern}$`).exec(uri);
  return found ? Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(found[i + 1])])) : null;
}

export function recordingServer(name) {
  const tools = new Map();
  const resources = new Map(); // uri -> { name, uri, metadata, callback }
  const templates = new Map(); // name -> { name, template, metadata, callback }
  const prompts = new Map(); // name -> { name, description, argsSchema, callback }
  const add = (tool, config, callback) => {
    const schema = config.inputSchema;
    const parameters = schema && schema._def ? jsonSchema(schema) : shape(schema);
    tools.set(tool, { name: tool, title: config.title, annotations: config.annotations, description: config.description || config.title || '', parameters, parse: parser(schema), callback });
  };
  const addResource = (resource, target, metadata, callback) => {
    if (isTemplate(target)) templates.set(resource, { name: resource, template: target, metadata: metadata || {}, callback });
    else resources.set(String(target), { name: resource, uri: String(target), metadata: metadata || {}, callback });
  };
  const addPrompt = (prompt, config, callback) => {
    prompts.set(prompt, { name: prompt, title: config.title, description: config.description, argsSchema: config.argsSchema, parse: parser(config.argsSchema), callback });
  };
  const server = {
    tools, resources, templates, prompts,
    registerTool: (tool, config, callback) => add(tool, config || {}, callback),
    tool: (tool, ...rest) => {
      const callback = rest.pop();
      const description = typeof rest[0] === 'string' ? rest.shift() : '';
      const schema = rest.length ? rest.shift() : undefined;
      add(tool, { description, inputSchema: schema }, callback);
    },
    registerResource: (resource, target, config, callback) => addResource(resource, target, config, callback),
    resource: (resource, target, ...rest) => {
      const callback = rest.pop();
      addResource(resource, target, rest[0], callback);
    },
    registerPrompt: (prompt, config, callback) => addPrompt(prompt, config || {}, callback),
    prompt: (prompt, ...rest) => {
      const callback = rest.pop();
      const description = typeof rest[0] === 'string' ? rest.shift() : undefined;
      addPrompt(prompt, { description, argsSchema: rest[0] }, callback);
    },
    connect: async () => {}, close: async () => {},
    isConnected: () => true,
    sendResourceListChanged() {}, sendToolListChanged() {}, sendPromptListChanged() {},
  };
  server.server = server;
  return server;
}

// The SDK's `extra` for callbacks: notifications are accepted and dropped locally.
function extraOf(id, BindingError) {
  return {
    signal: new AbortController().signal, requestId: id, _meta: {},
    sendNotification: async () => {},
    sendRequest: async () => { throw new BindingError('requests from a tool to the client are not supported locally'); },
  };
}

const described = (metadata) => {
  const { title, description, mimeType, annotations, _meta } = metadata || {};
  return Object.fromEntries(Object.entries({ title, description, mimeType, annotations, _meta }).filter(([, v]) => v !== undefined));
};

// What the runtime's MCP host asks of a TypeScript MCP service: its setup, tool calls, and the
// resources/* and prompts/* requests, each answered from what the module registered.
export function mcpHandlers(context, BindingError) {
  const servers = new Map();
  const serverOf = (name) => {
    const server = servers.get(name);
    if (!server) throw new BindingError(`mcp_service "${name}" is not set up`);
    return server;
  };

  async function setup(message) {
    const { modules, env, state } = context();
    const server = recordingServer(message.r);
    await modules[message.r].default(server, env, state(message));
    servers.set(message.r, server);
    return [...server.tools.values()].map(({ name, title, annotations, description, parameters }) => ({ name, title, annotations, description, parameters }));
  }

  async function call(message) {
    const tool = servers.get(message.r)?.tools.get(message.name);
    if (!tool) throw new BindingError(`mcp_service "${message.r}" has no tool ${JSON.stringify(message.name)}`);
    let args = message.args ?? {};
    if (tool.parse) {
      const parsed = tool.parse(args);
      if (!parsed.success) return { content: [{ type: 'text', text: invalid('tool', message.name, parsed) }], isError: true };
      args = parsed.data;
    }
    return await tool.callback(args, extraOf(message.i, BindingError));
  }

  async function listResources(server, extra) {
    const listed = [...server.resources.values()].map((r) => ({ uri: r.uri, name: r.name, ...described(r.metadata) }));
    for (const t of server.templates.values()) {
      const list = t.template.listCallback;
      if (typeof list !== 'function') continue;
      const found = await list(extra);
      for (const r of found?.resources || []) listed.push({ ...described(t.metadata), ...r });
    }
    return { resources: listed };
  }

  async function readResource(server, uri, extra) {
    const fixed = server.resources.get(uri);
    if (fixed) return await fixed.callback(new URL(uri), extra);
    for (const t of server.templates.values()) {
      const variables = matchTemplate(t.template, uri);
      if (variables) return await t.callback(new URL(uri), variables, extra);
    }
    throw new BindingError(`Resource ${uri} not found`);
  }

  async function getPrompt(server, name, args, extra) {
    const prompt = server.prompts.get(name);
    if (!prompt) throw new BindingError(`Prompt ${name} not found`);
    if (!prompt.parse) return await prompt.callback(extra);
    const parsed = prompt.parse(args ?? {});
    if (!parsed.success) throw new BindingError(invalid('prompt', name, parsed));
    return await prompt.callback(parsed.data, extra);
  }

  function promptArguments(schema) {
    if (!schema || typeof schema !== 'object') return undefined;
    const fields = typeof schema.safeParse === 'function' ? (typeof schema._def?.shape === 'function' ? schema._def.shape() : schema._def?.shape || schema.shape || {}) : schema;
    return Object.entries(fields).map(([name, field]) => ({
      name,
      ...(field?.description ? { description: field.description } : {}),
      required: !optional(field),
    }));
  }

  async function request(message) {
    const server = serverOf(message.r);
    const extra = extraOf(message.i, BindingError);
    switch (message.op) {
      case 'resources/list': return await listResources(server, extra);
      case 'resources/templates/list':
        return { resourceTemplates: [...server.templates.values()].map((t) => ({ name: t.name, uriTemplate: templateText(t.template), ...described(t.metadata) })) };
      case 'resources/read': return await readResource(server, message.uri, extra);
      case 'prompts/list':
        return {
          prompts: [...server.prompts.values()].map((p) => Object.fromEntries(Object.entries({
            name: p.name, title: p.title, description: p.description, arguments: promptArguments(p.argsSchema),
          }).filter(([, v]) => v !== undefined))),
        };
      case 'prompts/get': return await getPrompt(server, message.name, message.args, extra);
      default: throw new BindingError(`mcp_service "${message.r}": no such request ${JSON.stringify(message.op)}`);
    }
  }

  return { setup, call, request };
}
