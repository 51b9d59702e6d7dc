import { Service } from '@liquidmetal-ai/raindrop-framework';

interface Env {
  [key: string]: any;
}

export default class extends Service<Env> {
  async fetch() {
    return new Response('Intelligence pipeline stub', { status: 200 });
  }
}