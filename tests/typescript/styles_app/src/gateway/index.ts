// A module-level router exported as the default (as apps export a Hono instance).
type Handler = (request: Request, env: any, params: Record<string, string>) => Promise<Response>;

const routes: Array<[string, RegExp, Handler]> = [];
const route = (method: string, pattern: string, handler: Handler) =>
  routes.push([method, new RegExp('^' + pattern.replace(/:(\w+)/g, '(?<$1>[^/]+)') + '$'), handler]);

route('POST', '/jobs', async (request, env) => {
  const job = (await request.json()) as { id: string; user: string };
  const tracker = env.JOB_TRACKER.get(env.JOB_TRACKER.idFromName(job.user));
  const answer = await tracker.fetch(new Request('http://internal/submit', { method: 'POST', body: JSON.stringify(job) }));
  return new Response(await answer.text(), { status: answer.status, headers: { 'content-type': 'application/json' } });
});

route('GET', '/jobs/:user/:id', async (_request, env, params) => {
  const tracker = env.JOB_TRACKER.get(env.JOB_TRACKER.idFromName(params.user));
  return Response.json(await tracker.status(params.id));
});

route('POST', '/remember', async (request, env) => {
  const { text } = (await request.json()) as { text: string };
  return Response.json({ stored: await env.MEMORY_CORE.remember(text), count: await env.MEMORY_CORE.count() });
});

route('GET', '/slow', async (request, env) => {
  request.signal.addEventListener('abort', () => {
    env.STATE.put('aborted', String(request.signal.aborted));
  });
  await new Promise((resolve) => setTimeout(resolve, 3000));
  return new Response('too late');
});

// Outgoing fetches that do not pass request.signal on: the runtime's timeout (1 s) aborts them.
route('GET', '/fetch-slow', async (request, env) => {
  const server = new URL(request.url).searchParams.get('server');
  await env.STATE.put('quick', await (await fetch(`${server}/quick`)).text()); // done before: unaffected
  try {
    await env.STATE.put('slow', await (await fetch(`${server}/slow`)).text());
  } catch (error) {
    await env.STATE.put('slow', `${(error as Error).name}: ${(error as Error).message}`);
  }
  return new Response('too late');
});

// A fetch chained at the module's top level, started by a request: it belongs to no invocation,
// so it runs to its end after that request timed out.
let startOutside: (url: string) => void = () => {};
const outside = new Promise<string>((resolve) => { startOutside = resolve; })
  .then((url) => fetch(url))
  .then((answer) => answer.text(), (error) => `failed: ${error}`);

route('GET', '/fetch-outside', async (request, env) => {
  startOutside(`${new URL(request.url).searchParams.get('server')}/outside`);
  const text = await outside;
  await env.STATE.put('outside', text);
  return new Response(text);
});

route('POST', '/memory', async (request, env) => {
  const { text } = (await request.json()) as { text: string };
  const { sessionId, workingMemory } = await env.AGENT_MEMORY.startWorkingMemorySession();
  const id = await workingMemory.putMemory({ content: text, timeline: 'notes', agent: 'ts' });
  const entries = await workingMemory.getMemory({ timeline: 'notes' });
  return Response.json({ sessionId, id, entries: entries.map((e: any) => ({ content: e.content, agent: e.agent, timeline: e.timeline })) });
});

route('POST', '/ai', async (request, env) => {
  const { prompt } = (await request.json()) as { prompt: string };
  return Response.json(await env.AI.run('llama-3.1-8b-instruct-fast', { messages: [{ role: 'user', content: prompt }] }));
});

route('POST', '/ai-chat', async (request, env) => {  // as calmy's coaching-engine reads its answer
  const { prompt } = (await request.json()) as { prompt: string };
  const response: any = await env.AI.run('llama-3.3-70b', {
    model: 'llama-3.3-70b', messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: prompt }], temperature: 0.3, max_tokens: 500,
  });
  return Response.json({ content: response.choices[0]?.message?.content, finish: response.choices[0]?.finish_reason, response: response.response });
});

route('GET', '/ai-methods', async (_request, env) => {  // as saas-processor picks the AI's method
  const ai = env.AI as any;
  return Response.json({
    generate: typeof ai.generate, run: typeof ai.run, hasRun: 'run' in ai, hasChat: 'chat' in ai,
    session: typeof (env.AGENT_MEMORY as any).startWorkingMemorySession, misspelt: typeof (env.AGENT_MEMORY as any).startWorkingMemorySesion,
  });
});

route('POST', '/gc', async () => {
  (globalThis as any).gc?.();
  await new Promise((resolve) => setTimeout(resolve, 10));
  return Response.json({ collected: typeof (globalThis as any).gc === 'function' });
});

export default {
  async fetch(request: Request, env: any): Promise<Response> {
    const url = new URL(request.url);
    for (const [method, pattern, handler] of routes) {
      const match = url.pathname.match(pattern);
      if (match && method === request.method) return handler(request, env, match.groups ?? {});
    }
    return Response.json({ error: 'not found' }, { status: 404 });
  },
};
