import { z } from 'zod';

export const implementation = { name: 'catalog-mcp', version: '1.0.0' };

export default (server: any, env: any, state: any) => {
  server.registerTool(
    'add',
    { title: 'Add', description: 'Add two numbers', inputSchema: { a: z.number(), b: z.number().describe('the second') } },
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
};
