import { z } from 'zod';
import { ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';

export const implementation = { name: 'catalog-mcp', version: '1.0.0' };

export default (server: any, env: any, state: any) => {
  server.registerTool(
    'add',
    { title: 'Add', description: 'Add two numbers', inputSchema: { a: z.number(), b: z.number().describe('the second') }, annotations: { readOnlyHint: true } },
    async ({ a, b }: { a: number; b: number }, { sendNotification }: any) => {
      await sendNotification({ method: 'notifications/message', params: { level: 'info', data: 'adding' } });
      return { content: [{ type: 'text', text: String(a + b) }] };
    },
  );
  server.tool('price', 'Look a price up', { sku: z.string(), currency: z.string().optional() }, async ({ sku }: { sku: string }) => {
    const price = await env.PRICES.get(sku);
    return { content: [{ type: 'text', text: price ? `${sku} costs ${price}` : `no price for ${sku}` }] };
  });
  server.registerTool('count', { description: 'Count calls (durable)', inputSchema: {} }, async () => {
    const count = ((await state.storage.get('count')) ?? 0) + 1;
    await state.storage.put('count', count);
    return { content: [{ type: 'text', text: String(count) }] };
  });
  server.registerTool('broken', { description: 'Always fails', inputSchema: {} }, async () => {
    throw new Error('broken on purpose');
  });
  server.registerResource(
    'catalog',
    'catalog://all',
    { title: 'Catalog', description: 'Every sku', mimeType: 'application/json' },
    async (uri: URL) => {
      const listed = await env.PRICES.list();
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(listed.keys.map((k: any) => k.name)) }] };
    },
  );
  server.resource('readme', 'docs://readme', async (uri: URL) => ({ contents: [{ uri: uri.href, text: 'read me' }] }));
  server.registerResource(
    'price-of',
    new ResourceTemplate('price://{sku}', {
      list: async () => ({ resources: [{ uri: 'price://kettle', name: 'kettle price' }] }),
    }),
    { description: 'One price' },
    async (uri: URL, { sku }: { sku: string }) => ({
      contents: [{ uri: uri.href, text: `${sku}: ${(await env.PRICES.get(sku)) ?? 'unknown'}` }],
    }),
  );
  server.registerPrompt(
    'recommend',
    { title: 'Recommend', description: 'Suggest a product', argsSchema: { budget: z.string().describe('how much'), style: z.string().optional() } },
    ({ budget, style }: { budget: string; style?: string }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Suggest something under ${budget}${style ? ` in ${style}` : ''}` } }],
    }),
  );
  server.prompt('hello', 'Say hello', () => ({ messages: [{ role: 'assistant', content: { type: 'text', text: 'hello' } }] }));
};
